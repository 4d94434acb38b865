from django.conf import settings
from django.db import models

from apps.common.models import Tracked


class Audience(models.TextChoices):
    PRACTITIONERS = "practitioners", "Practitioners"
    USERS_RELATIVES = "users_relatives", "Users and relatives"
    RESEARCHERS = "researchers", "Researchers"


class SummaryStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"


SUMMARY_LANGUAGES = [("nb", "Norsk bokmål"), ("en", "English")]


class SummaryQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=SummaryStatus.PUBLISHED)

    def visible_to(self, user):
        from apps.common.roles import is_curator

        if is_curator(user):
            return self
        # A published summary of a study nobody may see yet stays hidden too.
        return self.published().exclude(studies__status="draft")


class Summary(Tracked):
    """A plain-language summary of one or more studies, written for one audience in one language."""

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

    objects = SummaryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "summaries"
        ordering = ["-published_at", "-created_at"]

    def __str__(self):
        return f"{self.title} [{self.get_audience_display()}, {self.language}]"
