from django.db import models
from django.db.models.functions import Lower


class PendingIndex(models.Model):
    """The outbox: index work recorded in the same transaction as the change it follows.

    A row means "the search index must be brought in line with the database for this object". It
    is removed only after the backend has taken the change, so an outage of the search engine
    delays indexing but never loses it. ``enqueued_at`` moves forward whenever the object changes
    again, so work read before a later change is not mistaken for it.
    """

    kind = models.CharField(max_length=20)
    object_id = models.BigIntegerField()
    enqueued_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"], name="pending_index_unique")]

    def __str__(self):
        return f"{self.kind}:{self.object_id}"


class SearchDocument(models.Model):
    """The database backend's index: analyzed text of one study, researcher or summary.

    On SQLite an FTS5 table (``search_fts``, rowid = this row's id) holds the same columns for
    matching; on PostgreSQL ``search_vector``-style tsvector columns are filled from them.
    """

    kind = models.CharField(max_length=20)
    object_id = models.BigIntegerField()
    title = models.TextField(blank=True)
    abstract = models.TextField(blank=True)
    author = models.TextField(blank=True)
    topic = models.TextField(blank=True)
    other = models.TextField(blank=True)
    exact = models.TextField(blank=True)
    digest = models.CharField(max_length=40, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"], name="search_document_unique")]

    def __str__(self):
        return f"{self.kind}:{self.object_id}"


class VocabularySource(models.TextChoices):
    TOPIC = "topic", "topic labels"
    GLOSSARY = "glossary", "ROP glossary"
    CURATED = "curated", "curated"


class VocabularyEntry(models.Model):
    """One equivalence of the bilingual search vocabulary: a Norwegian and an English term.

    A query that contains one side is expanded with the other (``search/vocabulary.py``), so
    ``ruslidelse`` also finds "substance use disorder". A term may take part in several rows
    ("ruslidelse" <-> "substance use disorder", "ruslidelse" <-> "addiction"). Seeding
    (``manage.py seed_vocabulary``) only adds missing pairs: it never changes, re-activates or
    re-adds a pair a curator has edited; to retire a seeded pair, untick ``active``.
    """

    term_nb = models.CharField("Norwegian term", max_length=200)
    term_en = models.CharField("English term", max_length=200)
    source = models.CharField(max_length=20, choices=VocabularySource.choices, default=VocabularySource.CURATED)
    active = models.BooleanField(default=True, help_text="Only active pairs expand searches.")
    note = models.TextField(blank=True)
    # the pair as seeding first wrote it ("nb\ten", lower-case), so an edited pair is not added again
    seeded_as = models.CharField(max_length=401, blank=True, editable=False, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "vocabulary entry"
        verbose_name_plural = "vocabulary"
        ordering = ["term_nb", "term_en"]
        constraints = [models.UniqueConstraint(
            Lower("term_nb"), Lower("term_en"), name="vocabulary_pair_unique",
            violation_error_message="This pair of terms is already in the vocabulary.")]

    def __str__(self):
        return f"{self.term_nb} = {self.term_en}"

    def clean(self):
        from django.core.exceptions import ValidationError

        from .analysis import words

        self.term_nb = " ".join((self.term_nb or "").split())
        self.term_en = " ".join((self.term_en or "").split())
        errors = {}
        for name in ("term_nb", "term_en"):
            if getattr(self, name) and not words(getattr(self, name)):
                errors[name] = "The term has no searchable word (only stop words or punctuation)."
        if not errors and self.term_nb.lower() == self.term_en.lower():
            errors["term_en"] = "The two terms are the same; such a pair would never expand a search."
        if errors:
            raise ValidationError(errors)


class StudyVector(models.Model):
    """A study's sentence embedding: derived data like the index, computed in the background.

    ``model`` is the embedder's identity and ``digest`` names the exact text it embedded
    (``Embedder.digest``), so a vector is re-computed only when the text, the cut or the model
    changes, and a study whose text equals another's (same model and digest) reuses that vector.
    ``vector`` holds float32 little-endian bytes, L2-normalised (``search/vectors.py``).
    """

    study = models.ForeignKey("studies.Study", on_delete=models.CASCADE, related_name="vectors")
    model = models.CharField(max_length=200)
    digest = models.CharField(max_length=40)
    vector = models.BinaryField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["study", "model"], name="study_vector_unique")]
        indexes = [models.Index(fields=["model", "digest"], name="study_vector_digest"),
                   models.Index(fields=["model", "updated_at"], name="study_vector_updated")]

    def __str__(self):
        return f"{self.study_id}:{self.model}"
