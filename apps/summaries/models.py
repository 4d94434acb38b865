from django.conf import settings
from django.db import models

from apps.common.models import Tracked

from .readability import level, lix


class Audience(models.TextChoices):
    PRACTITIONERS = "practitioners", "Practitioners"
    USERS_RELATIVES = "users_relatives", "Users and relatives"
    RESEARCHERS = "researchers", "Researchers"


class SummaryStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


SUMMARY_LANGUAGES = [("nb", "Norsk bokmål"), ("en", "English")]

#: What a reader reads: the fields a version keeps and the readability score is computed from.
CONTENT_FIELDS = ["audience", "language", "title", "body", "key_findings", "implications"]
READABLE_FIELDS = ["body", "key_findings", "implications"]


class SummaryQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=SummaryStatus.PUBLISHED)

    def visible_to(self, user):
        from apps.common.roles import is_curator

        return self.visible(curator=is_curator(user))

    def visible(self, curator: bool):
        """What a curator (everything) or anyone else may see: the published summaries, but not one of a
        study nobody may see yet."""
        if curator:
            return self
        return self.published().exclude(studies__status="draft")


class Summary(Tracked):
    """A plain-language summary of one or more studies, written for one audience in one language.

    Workflow: draft -> in review -> published -> archived. A curator who is not the author approves
    publication (``services.approve_summary``). Every published state of the content is kept as a
    ``SummaryVersion``; ``version`` is the number of the current one (0 before first publication).
    """

    studies = models.ManyToManyField("studies.Study", related_name="summaries")
    audience = models.CharField(max_length=20, choices=Audience.choices, db_index=True)
    language = models.CharField(max_length=2, choices=SUMMARY_LANGUAGES, db_index=True)
    title = models.CharField(max_length=500)
    body = models.TextField()
    key_findings = models.TextField(blank=True)
    implications = models.TextField("implications for practice", blank=True)
    status = models.CharField(max_length=10, choices=SummaryStatus.choices, default=SummaryStatus.DRAFT,
                              db_index=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="summaries_written")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="summaries_reviewed")
    published_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=0, editable=False,
                                          help_text="Number of the current published version (0: never published).")
    readability_lix = models.FloatField("readability (LIX)", null=True, blank=True, editable=False,
                                        help_text="Computed from body, key findings and implications on save.")
    last_checked = models.DateField(null=True, blank=True,
                                    help_text="When a curator last checked the summary against its studies.")
    needs_review = models.BooleanField(default=False, db_index=True,
                                       help_text="A study it summarises changed materially since.")
    needs_review_reason = models.CharField(max_length=1000, blank=True)
    needs_review_since = models.DateTimeField(null=True, blank=True)

    objects = SummaryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "summaries"
        ordering = ["-published_at", "-created_at"]

    def __str__(self):
        return f"{self.title} [{self.get_audience_display()}, {self.language}]"

    def compute_readability(self):
        self.readability_lix = lix("\n".join(getattr(self, f) or "" for f in READABLE_FIELDS))
        return self.readability_lix

    @property
    def readability_level(self):
        return level(self.readability_lix)

    def content(self):
        return {f: getattr(self, f) for f in CONTENT_FIELDS}

    def save(self, *args, **kwargs):
        self.compute_readability()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and set(update_fields) & set(READABLE_FIELDS):
            kwargs["update_fields"] = {*update_fields, "readability_lix"}
        super().save(*args, **kwargs)


class SummaryVersion(models.Model):
    """The content of a summary as it was published: version 1 at approval, one more per later edit."""

    summary = models.ForeignKey(Summary, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    audience = models.CharField(max_length=20, choices=Audience.choices)
    language = models.CharField(max_length=2, choices=SUMMARY_LANGUAGES)
    title = models.CharField(max_length=500)
    body = models.TextField()
    key_findings = models.TextField(blank=True)
    implications = models.TextField("implications for practice", blank=True)
    readability_lix = models.FloatField("readability (LIX)", null=True, blank=True)
    change_note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["summary", "-number"]
        constraints = [models.UniqueConstraint(fields=["summary", "number"], name="summary_version_unique_number")]

    def __str__(self):
        return f"{self.summary_id} v{self.number}"

    def content(self):
        return {f: getattr(self, f) for f in CONTENT_FIELDS}
