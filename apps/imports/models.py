"""BibTeX import jobs, the outcome of every raw entry, the review queue and kept source records.

Every raw entry of an uploaded file ends in exactly one :class:`ImportOutcome` (created, merged,
skipped, duplicate, review or failed), so ``raw entries in the file == sum of the outcomes``.
"""

import os

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse


class Policy(models.TextChoices):
    SKIP = "skip", "Skip: leave existing studies unchanged"
    FILL = "fill", "Fill: fill only empty fields of existing studies"
    OVERWRITE = "overwrite", "Overwrite: replace fields of existing studies with the file's values"


class Format(models.TextChoices):
    BIBTEX = "bibtex", "BibTeX"
    RIS = "ris", "RIS"
    MEDLINE = "medline", "MEDLINE (PubMed .nbib)"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    UNDONE = "undone", "Undone"


class Outcome(models.TextChoices):
    CREATED = "created", "Created a new study"
    MERGED = "merged", "Merged into an existing study"
    SKIPPED = "skipped", "Matched an existing study, left unchanged (policy skip)"
    DUPLICATE = "duplicate", "Duplicate of an earlier entry in the same file"
    REVIEW = "review", "Uncertain match: waiting for a curator"
    FAILED = "failed", "Failed"


class Rule(models.TextChoices):
    DOI = "doi", "Same DOI"
    PMID = "pmid", "Same PMID"
    ISBN = "isbn", "Same ISBN-13"
    EXACT = "exact", "Same title, year and authors"
    FUZZY = "fuzzy", "Similar title, same first author, year within one"
    CURATOR = "curator", "Decided by a curator"


def upload_path(job, filename):
    base = os.path.basename(filename or "upload.bib")[:100] or "upload.bib"
    return f"imports/{job.checksum[:2] or 'xx'}/{job.checksum[:16] or 'file'}-{base}"


class ImportJob(models.Model):
    file = models.FileField(upload_to=upload_path, max_length=300,
                            help_text="The uploaded file as it came in (the worker reads it from here).")
    file_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField("size in bytes", default=0)
    checksum = models.CharField("SHA-256", max_length=64, db_index=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    format = models.CharField(max_length=10, choices=Format.choices, default=Format.BIBTEX,
                              help_text="How the files are read (given, or found from their content and names).")
    policy = models.CharField(max_length=10, choices=Policy.choices, default=Policy.FILL)
    dry_run = models.BooleanField(default=False, help_text="Produce the full report but write no studies.")
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True)
    total = models.PositiveIntegerField(null=True, blank=True,
                                        help_text="Raw entries in the file (an estimate until the job is done).")
    done = models.PositiveIntegerField("entries done", default=0)
    counts = models.JSONField(default=dict, blank=True, help_text="Outcome -> number of entries.")
    encoding = models.CharField(max_length=40, blank=True)
    encoding_guessed = models.BooleanField(
        default=False, help_text="The file declared no encoding (no byte-order mark, no '% Encoding:' or Emacs/Vim "
                                 "coding line) and is not UTF-8: the encoding is a guess; the entries' warnings "
                                 "name the characters other encodings read differently.")
    warnings = models.JSONField(default=list, blank=True, help_text="File-level warnings of the reader.")
    created_venues = models.JSONField(default=list, blank=True, editable=False,
                                      help_text="Ids of the venues this job created; undo removes those "
                                                "no study uses any more.")
    error = models.TextField(blank=True, help_text="Why the job failed.")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Runs of this job (a resumed run counts).")
    enqueued_at = models.DateTimeField(null=True, blank=True,
                                       help_text="When a worker was last asked to run the job.")
    enqueue_error = models.CharField(max_length=500, blank=True,
                                     help_text="Why that request could not be sent (the broker was down); "
                                               "the recovery task sends it again (docs/operations.md).")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "import job"

    def __str__(self):
        return f"Import {self.pk}: {self.file_name} ({self.get_status_display()})"

    def get_absolute_url(self):
        return reverse("v1:import-job-detail", args=[self.pk])

    def incomplete_outcomes(self):
        """The outcomes of entries whose study (created, or merged into) is still an incomplete draft (no
        title: it cannot be published until a curator fills the gap)."""
        return self.outcomes.filter(outcome__in=[Outcome.CREATED, Outcome.MERGED], study__title="")

    @classmethod
    def incomplete_count(cls):
        """A subquery: the number of ``incomplete_outcomes`` of the outer job (for ``annotate``)."""
        from django.db.models import Count, OuterRef, Subquery
        from django.db.models.functions import Coalesce

        rows = (ImportOutcome.objects.filter(job=OuterRef("pk"), outcome__in=[Outcome.CREATED, Outcome.MERGED],
                                             study__title="")
                .order_by().values("job").annotate(n=Count("pk")).values("n"))
        return Coalesce(Subquery(rows), 0)


class ImportFile(models.Model):
    """One of a job's files, in the order they are read (``@string`` definitions apply to the files after)."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="files")
    position = models.PositiveSmallIntegerField(help_text="Order among the job's files, from 0.")
    file = models.FileField(upload_to=upload_path, max_length=300)
    file_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField("size in bytes", default=0)
    checksum = models.CharField("SHA-256", max_length=64)

    class Meta:
        ordering = ["job", "position"]
        constraints = [models.UniqueConstraint(fields=["job", "position"], name="import_file_unique_position")]
        verbose_name = "import file"

    def __str__(self):
        return f"{self.file_name} (file {self.position + 1} of import {self.job_id})"


class ImportOutcome(models.Model):
    """What became of one raw entry of the file."""

    # no index of its own: the unique (job, index) index serves lookups by job
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="outcomes", db_index=False)
    index = models.PositiveIntegerField(help_text="Position among the file's raw entries, from 0.")
    key = models.CharField("citation key", max_length=255, blank=True)
    line = models.PositiveIntegerField(null=True, blank=True,
                                       help_text="Line of the entry's '@' (a RIS record's TY, a MEDLINE record's first tag).")
    file_position = models.PositiveSmallIntegerField(default=0, help_text="The entry's file among the job's files.")
    entry_type = models.CharField(max_length=40, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    study = models.ForeignKey("studies.Study", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="import_outcomes",
                              help_text="The study created, merged into, matched, or proposed for review.")
    rule = models.CharField(max_length=10, choices=Rule.choices, blank=True,
                            help_text="The duplicate rule that matched.")
    score = models.FloatField(null=True, blank=True, help_text="Title similarity 0-100 of a fuzzy match.")
    duplicate_of = models.PositiveIntegerField(null=True, blank=True,
                                               help_text="Index of the earlier entry of the same file.")
    changed_fields = models.JSONField(default=list, blank=True)
    previous = models.JSONField(default=dict, blank=True,
                                help_text="Field values before this import changed them (for undo).")
    study_updated_at = models.DateTimeField(null=True, blank=True,
                                            help_text="The study's updated_at right after the import wrote it.")
    message = models.TextField(blank=True)
    warnings = models.JSONField(default=list, blank=True)
    ambiguous_authors = models.JSONField(default=list, blank=True,
                                         help_text="Printed names that match several researchers (left unlinked).")
    raw = models.TextField("raw entry", blank=True)
    retries = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="import_outcome_unique_index")]
        indexes = [models.Index(fields=["job", "outcome"], name="import_outcome_kind")]

    def __str__(self):
        return f"#{self.index} {self.key or '(no key)'}: {self.outcome}"


class ReviewStatus(models.TextChoices):
    OPEN = "open", "Waiting for a curator"
    MERGED = "merged", "Same work: merged"
    CREATED = "created", "Different works: created"


class ReviewItem(models.Model):
    """An uncertain fuzzy match, held back for a curator instead of being merged silently."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="reviews")
    outcome = models.OneToOneField(ImportOutcome, on_delete=models.CASCADE, related_name="review")
    candidate = models.ForeignKey("studies.Study", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", help_text="The existing study the entry may duplicate.")
    score = models.FloatField(help_text="Title similarity 0-100.")
    reasons = models.JSONField(default=list, blank=True, help_text="What agreed and what was uncertain.")
    data = models.JSONField(help_text="The entry, prepared for writing (applied when resolved).")
    status = models.CharField(max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "import review"
        indexes = [models.Index(fields=["status", "-created_at"], name="import_review_open",
                                condition=Q(status="open"))]

    def __str__(self):
        return f"Review {self.pk}: entry #{self.outcome.index} of import {self.job_id}"


class SourceRecord(models.Model):
    """What a study's BibTeX entry held beyond the study's own fields (editors, note, extra fields...),
    as read with the file's @strings and crossrefs resolved. Used by the export."""

    study = models.OneToOneField("studies.Study", on_delete=models.CASCADE, primary_key=True,
                                 related_name="source_record")
    job = models.ForeignKey(ImportJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    entry_type = models.CharField(max_length=40, blank=True)
    data = models.JSONField(default=dict, blank=True)

    def __str__(self):
        return f"Source of study {self.study_id}"
