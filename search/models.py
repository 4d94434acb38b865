from django.db import models


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
