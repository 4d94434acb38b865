from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower

from apps.common.identifiers import (
    is_valid_doi, is_valid_pmid, clean_doi, normalize_isbn, normalize_issn, clean_pmid,
)
from apps.common.models import Timestamped, Tracked
from biblio.names import split_printed_name
from .fields import FamilyKeyField, TitleKeyField

LANGUAGE_CHOICES = [
    ("nb", "Norwegian Bokmål"), ("nn", "Norwegian Nynorsk"), ("no", "Norwegian"), ("en", "English"),
    ("sv", "Swedish"), ("da", "Danish"), ("fi", "Finnish"), ("is", "Icelandic"), ("de", "German"),
    ("fr", "French"), ("es", "Spanish"), ("it", "Italian"), ("nl", "Dutch"), ("pt", "Portuguese"),
    ("pl", "Polish"), ("ru", "Russian"), ("zh", "Chinese"), ("ja", "Japanese"), ("la", "Latin"),
    ("", "Unknown"),
]


class StudyType(models.TextChoices):
    ARTICLE = "article", "Journal article"
    BOOK = "book", "Book"
    BOOK_CHAPTER = "book_chapter", "Book chapter"
    THESIS = "thesis", "Thesis"
    REPORT = "report", "Report"
    CONFERENCE_PAPER = "conference_paper", "Conference paper"
    GUIDELINE = "guideline", "Guideline"
    DATASET = "dataset", "Dataset"
    WEB_PAGE = "web_page", "Web page"
    OTHER = "other", "Other"


class StudyDesign(models.TextChoices):
    SYSTEMATIC_REVIEW = "systematic_review", "Systematic review"
    META_ANALYSIS = "meta_analysis", "Meta-analysis"
    RCT = "rct", "Randomised controlled trial"
    COHORT = "cohort", "Cohort study"
    CASE_CONTROL = "case_control", "Case-control study"
    CROSS_SECTIONAL = "cross_sectional", "Cross-sectional study"
    QUALITATIVE = "qualitative", "Qualitative study"
    MIXED_METHODS = "mixed_methods", "Mixed methods"
    CASE_REPORT = "case_report", "Case report"
    GUIDELINE = "guideline", "Guideline"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


class Provenance(models.TextChoices):
    MANUAL = "manual", "Entered by hand"
    BIBTEX = "bibtex", "BibTeX import"
    RIS = "ris", "RIS import"
    MEDLINE = "medline", "MEDLINE import"
    API = "api", "API client"
    FIXTURE = "fixture", "Seed data"


class Venue(Timestamped):
    """Where a study appeared: a journal, a book series or a publisher's list."""

    class Kind(models.TextChoices):
        JOURNAL = "journal", "Journal"
        SERIES = "series", "Series"
        PROCEEDINGS = "proceedings", "Proceedings"
        PUBLISHER = "publisher", "Publisher"
        OTHER = "other", "Other"

    name = models.CharField(max_length=500)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.JOURNAL)
    issn = models.CharField("ISSN", max_length=9, blank=True, default="")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "issn", name="venue_unique_name_issn"),
        ]

    def __str__(self):
        return f"{self.name} ({self.issn})" if self.issn else self.name

    def save(self, *args, **kwargs):
        self.issn = normalize_issn(self.issn) or self.issn.strip()
        super().save(*args, **kwargs)


#: What a study must have before it is published, with the message naming the gap. An imported entry
#: without one of these (real references of old literature often have no title) becomes an *incomplete*
#: draft: ``Study.gaps`` lists what it lacks, ``StudyQuerySet.incomplete`` finds them, and ``Study.clean``
#: refuses to publish it (the single publish, the admin, the bulk publish all run ``full_clean``).
GAPS = {"title": "A study needs a title before it is published: this one has none (it was imported without one)."}


class StudyQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=Status.PUBLISHED)

    def incomplete(self, value=True):
        """Studies that lack something a published study needs (see ``GAPS``), or with ``value`` false
        those that lack nothing."""
        gap = Q(title="")
        return self.filter(gap) if value else self.exclude(gap)

    def visible_to(self, user):
        from apps.common.roles import is_curator

        return self.visible(curator=is_curator(user))

    def visible(self, curator: bool):
        """What a curator (everything) or anyone else (the published studies) may see."""
        return self if curator else self.published()

    # -- the search filters as SQL: the one meaning used by the API list, the database search backend,
    # the selections behind the evidence map, the expert finder and the feeds (search.selection)
    def with_topics(self, topic_ids):
        """Tagged with any of these topics (the caller expands a topic to its sub-topics)."""
        return self.filter(Exists(Study.topics.through.objects.filter(study_id=OuterRef("pk"),
                                                                      topic_id__in=list(topic_ids))))

    def by_researchers(self, researcher_ids):
        """With an author linked to any of these researchers."""
        return self.filter(Exists(Authorship.objects.filter(study_id=OuterRef("pk"),
                                                            researcher_id__in=list(researcher_ids))))

    def at_institutions(self, institution_ids):
        """With a linked author affiliated with any of these institutions (the caller adds sub-units)."""
        return self.filter(Exists(Authorship.objects.filter(
            study_id=OuterRef("pk"), researcher__affiliations__institution_id__in=list(institution_ids))))

    def with_summary(self, has_summary=True):
        """With (or without) a *published* plain-language summary, for every user: what the search index
        holds as ``has_summary``, so the filter means the same in the list, in search and in the feeds."""
        from django.apps import apps

        summary = apps.get_model("summaries", "Summary")
        summaries = summary.objects.published().filter(studies=OuterRef("pk"))
        return self.filter(Exists(summaries)) if has_summary else self.exclude(Exists(summaries))

    def matching(self, filters, skip=None):
        """The studies that ``search.backends.base.SearchFilters`` select (``skip``: a facet's own filter
        left out, for counting that facet's values)."""
        from apps.common.sql import id_list

        f, qs = filters, self
        if skip != "year" and f.year_from is not None:
            qs = qs.filter(year__gte=f.year_from)
        if skip != "year" and f.year_to is not None:
            qs = qs.filter(year__lte=f.year_to)
        if skip != "type" and f.types:
            qs = qs.filter(study_type__in=f.types)
        if skip != "design" and f.designs:
            qs = qs.filter(design__in=f.designs)
        if skip != "language" and f.languages:
            qs = qs.filter(language__in=f.languages)
        if skip != "topic" and f.topic_ids:
            qs = qs.with_topics(f.topic_ids)
        if skip != "researcher" and f.researcher_ids:
            qs = qs.by_researchers(f.researcher_ids)
        if skip != "institution" and f.institution_ids:
            qs = qs.at_institutions(f.institution_ids)
        if f.has_summary is not None:
            qs = qs.with_summary(f.has_summary)
        if f.ids is not None:
            qs = qs.filter(id__in=id_list(f.ids))
        return qs


class Study(Tracked):
    title = models.TextField(blank=True, help_text="Empty only on an incomplete draft (imported without a title); "
                                                   "a study is published only with a title.")
    subtitle = models.TextField(blank=True)
    abstract = models.TextField(blank=True)
    language = models.CharField(max_length=8, choices=LANGUAGE_CHOICES, blank=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True, db_index=True,
                                            validators=[MinValueValidator(1500), MaxValueValidator(2100)])
    month = models.PositiveSmallIntegerField(null=True, blank=True,
                                             validators=[MinValueValidator(1), MaxValueValidator(12)])
    day = models.PositiveSmallIntegerField(null=True, blank=True,
                                           validators=[MinValueValidator(1), MaxValueValidator(31)])
    study_type = models.CharField("type", max_length=20, choices=StudyType.choices, default=StudyType.ARTICLE)
    design = models.CharField("study design", max_length=20, choices=StudyDesign.choices,
                              default=StudyDesign.UNKNOWN)
    venue = models.ForeignKey(Venue, null=True, blank=True, on_delete=models.PROTECT, related_name="studies")
    volume = models.CharField(max_length=50, blank=True)
    issue = models.CharField(max_length=50, blank=True)
    pages = models.CharField(max_length=50, blank=True)
    publisher = models.CharField(max_length=300, blank=True)
    edition = models.CharField(max_length=50, blank=True)
    chapter = models.CharField(max_length=50, blank=True)
    doi = models.CharField("DOI", max_length=255, blank=True, default="",
                           help_text="Normalized: lower-case, without https://doi.org/.")
    pmid = models.CharField("PMID", max_length=12, blank=True, default="")
    pmcid = models.CharField("PMCID", max_length=16, blank=True, default="")
    isbn = models.CharField("ISBN-13", max_length=13, blank=True, default="")
    url = models.URLField(max_length=1000, blank=True)
    keywords = models.JSONField(default=list, blank=True)
    topics = models.ManyToManyField("topics.Topic", blank=True, related_name="studies")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True)
    retracted = models.BooleanField(default=False)
    provenance = models.CharField(max_length=10, choices=Provenance.choices, default=Provenance.MANUAL)
    source_entry = models.TextField("raw source entry", blank=True,
                                    help_text="The entry as it came in (e.g. the BibTeX text).")
    source_key = models.CharField("source citation key", max_length=255, blank=True)
    title_key = TitleKeyField(help_text="Folded words of title and subtitle, for duplicate detection (derived).")

    objects = StudyQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "studies"
        ordering = ["-year", "title"]
        constraints = [
            models.UniqueConstraint(fields=["doi"], condition=~Q(doi=""), name="study_unique_doi"),
            models.UniqueConstraint(fields=["pmid"], condition=~Q(pmid=""), name="study_unique_pmid"),
            models.CheckConstraint(condition=Q(doi=Lower("doi")), name="study_doi_lower_case"),
        ]
        indexes = [
            models.Index(fields=["isbn"], name="study_isbn", condition=~Q(isbn="")),
            models.Index(fields=["status", "-year"], name="study_status_year"),
            models.Index(fields=["-updated_at"], name="study_updated"),
            models.Index(fields=["title_key", "year"], name="study_title_key"),
            # Plain indexes for the choice columns (``db_index`` would add a second, ``LIKE`` index on
            # PostgreSQL that no query uses); ``status`` is served by ``study_status_year``. Each index
            # costs every insert: an import writes studies in bulk.
            models.Index(fields=["language"], name="study_language"),
            models.Index(fields=["study_type"], name="study_type"),
            models.Index(fields=["design"], name="study_design"),
            # the incomplete drafts (?incomplete=true): only they enter this index
            models.Index(fields=["id"], name="study_untitled", condition=Q(title="")),
        ]

    def __str__(self):
        if not self.title:
            return self.display_title[:140]
        year = f" ({self.year})" if self.year else ""
        return f"{self.title[:120]}{year}"

    @property
    def gaps(self) -> list[str]:
        """The fields this study must have filled before it can be published (empty: none)."""
        return [name for name in GAPS if not str(getattr(self, name) or "").strip()]

    def gap_errors(self) -> dict:
        """{field: message} of the gaps that keep this study from being published."""
        return {name: GAPS[name] for name in self.gaps}

    @property
    def incomplete(self) -> bool:
        return bool(self.gaps)

    @property
    def display_title(self) -> str:
        """The title, or for a study without one "[untitled] first author et al., venue volume:pages, year"
        from what it has (authors as prefetched or stored, venue, year), so lists and links name it. (The web
        pages pass their language's label: ``untitled_title``.)"""
        return self.title or self.untitled_title()

    def untitled_title(self, label: str = "[untitled]") -> str:
        parts = []
        authors = [a.family_name or a.name for a in self.authorships.all()][:2] if self.pk else []
        if authors:
            parts.append(authors[0] + (" et al." if len(authors) > 1 else ""))
        venue = self.venue.name if self.venue_id else ""
        where = " ".join(p for p in (venue, self.volume and f"{self.volume}" or "") if p)
        if self.pages:
            where = f"{where}:{self.pages}" if where else self.pages
        if where:
            parts.append(where)
        if self.year:
            parts.append(str(self.year))
        return f"{label} {', '.join(parts)}" if parts else f"{label} #{self.pk or ''}".rstrip(" #")

    def normalize(self):
        """Bring identifiers to their canonical form (also done on save)."""
        self.doi = clean_doi(self.doi)
        self.pmid = clean_pmid(self.pmid)
        if self.isbn:
            self.isbn = normalize_isbn(self.isbn) or self.isbn

    def clean(self):
        self.normalize()
        errors = {}
        if self.doi and not is_valid_doi(self.doi):
            errors["doi"] = "Not a DOI: expected 10.<registrant>/<suffix>."
        if self.pmid and not is_valid_pmid(self.pmid):
            errors["pmid"] = "A PMID is 1 to 9 digits."
        if self.isbn and not normalize_isbn(self.isbn):
            errors["isbn"] = "Not a valid ISBN-10 or ISBN-13 (check digit)."
        if self.day and not self.month:
            errors["day"] = "A day needs a month."
        if self.month and not self.year:
            errors["month"] = "A month needs a year."
        if self.status == Status.PUBLISHED:
            errors.update(self.gap_errors())
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        self.normalize()
        super().save(*args, **kwargs)


class Authorship(models.Model):
    """An author of a study, in order. ``researcher`` stays empty unless the match is certain."""

    # no index of its own: the unique (study, position) index serves lookups by study
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="authorships", db_index=False)
    position = models.PositiveSmallIntegerField()
    name = models.CharField("name as printed", max_length=300)
    family_name = models.CharField(max_length=200, blank=True)
    given_name = models.CharField(max_length=200, blank=True)
    researcher = models.ForeignKey("researchers.Researcher", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="authorships")
    corresponding = models.BooleanField("corresponding author", default=False)
    family_key = FamilyKeyField(help_text="Folded family name, for duplicate detection and author matching "
                                          "(derived).")

    class Meta:
        ordering = ["study", "position"]
        constraints = [
            models.UniqueConstraint(fields=["study", "position"], name="authorship_unique_position"),
        ]
        indexes = [
            # duplicate detection blocks on the first author's family name
            models.Index(fields=["family_key"], name="authorship_first_family", condition=Q(position=1)),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.family_name and self.name:
            self.family_name, self.given_name = split_printed_name(self.name)
        super().save(*args, **kwargs)


class PublicationJob(models.Model):
    """One bulk publish or unpublish of a selection of studies (apps/studies/publication.py).

    The studies are chosen when the job is asked for and kept in ``study_ids``; the job works through
    them in batches, recording its progress, and lists the studies it could not publish with the reasons
    (they are reported, never skipped silently).
    """

    class Action(models.TextChoices):
        PUBLISH = "publish", "Publish"
        UNPUBLISH = "unpublish", "Unpublish (back to draft)"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    action = models.CharField(max_length=10, choices=Action.choices)
    selection = models.JSONField(default=dict, blank=True,
                                 help_text='How the studies were chosen: {"ids": [...]}, {"import_job": N} or '
                                           '{"filters": {...}} (the study list\'s filters).')
    study_ids = models.JSONField(default=list, blank=True, editable=False,
                                 help_text="The studies selected, in the order they are worked through.")
    status = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED, db_index=True)
    total = models.PositiveIntegerField(default=0, help_text="Studies selected.")
    done = models.PositiveIntegerField(default=0, help_text="Studies worked through so far.")
    changed = models.PositiveIntegerField(default=0, help_text="Studies published (or unpublished).")
    unchanged = models.PositiveIntegerField(default=0, help_text="Studies that already had that status.")
    refused = models.JSONField(default=list, blank=True,
                               help_text="Studies that could not be published: id, title and the errors by field.")
    error = models.TextField(blank=True, help_text="Why the job failed.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    via = models.CharField(max_length=100, blank=True, help_text="Where it was asked for: api, admin, web.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_action_display()} {self.total} studies ({self.get_status_display()})"

    @property
    def percent(self):
        return round(100 * self.done / self.total) if self.total else 100
