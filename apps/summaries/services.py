"""Writes to summaries."""

from django.db import transaction
from django.utils import timezone

from .models import Summary, SummaryStatus

FIELDS = ["audience", "language", "title", "body", "key_findings", "implications", "status", "reviewer"]


@transaction.atomic
def save_summary(user, data, summary=None):
    data = dict(data)
    studies = data.pop("studies", None)
    acting = user if getattr(user, "is_authenticated", False) else None
    if summary is None:
        summary = Summary(created_by=acting, author=data.pop("author", None) or acting)
    for field in FIELDS:
        if field in data:
            setattr(summary, field, data[field])
    if summary.status == SummaryStatus.PUBLISHED and summary.published_at is None:
        summary.published_at = timezone.now()
    elif summary.status != SummaryStatus.PUBLISHED:
        summary.published_at = None
    summary.updated_by = acting
    summary.save()
    if studies is not None:
        summary.studies.set(studies)
    return summary


@transaction.atomic
def delete_summary(user, summary):
    summary.delete()
