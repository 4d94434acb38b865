"""Writes to summaries: content edits, the review workflow, versions and review flags.

The workflow is draft -> in review -> published -> archived (and back from review to draft). Only
``approve_summary`` publishes, and only for a curator who is not the author. Every published state
of the content becomes a ``SummaryVersion``: the first at approval, one more for each later edit.
"""

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import CONTENT_FIELDS, Summary, SummaryStatus, SummaryVersion

FIELDS = [*CONTENT_FIELDS, "last_checked"]
#: Statuses a new summary may start in; every other change goes through a workflow action.
INITIAL_STATUSES = {SummaryStatus.DRAFT, SummaryStatus.IN_REVIEW}


class WorkflowError(Exception):
    """A change the workflow does not allow. ``status`` is the HTTP status the API answers with."""

    status = 409
    code = "invalid_transition"

    def __init__(self, message, code=None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class ReviewerIsAuthor(WorkflowError):
    status = 403
    code = "reviewer_is_author"


def _user(user):
    return user if getattr(user, "is_authenticated", False) else None


def _locked_status(summary):
    """The status as stored, with the row locked for the rest of the transaction (PostgreSQL)."""
    return Summary.objects.select_for_update().filter(pk=summary.pk).values_list("status", flat=True).first()


@transaction.atomic
def save_summary(user, data, summary=None, change_note=""):
    """Create a summary or change its content. Editing a published summary makes a new version.

    ``data["status"]`` may only name the current status (or, for a new summary, draft or in review):
    publication, archiving and returning to draft are workflow actions, never a plain edit.
    """
    data = dict(data)
    studies = data.pop("studies", None)
    status = data.pop("status", None)
    acting = _user(user)
    if summary is None:
        summary = Summary()
    if summary.pk is None:
        status = status or SummaryStatus.DRAFT
        if status not in INITIAL_STATUSES:
            raise WorkflowError(
                f"A new summary starts as a draft (or in review), not {status!r}; a curator who did not "
                "write it publishes it with POST /api/v1/summaries/{id}/approve/.")
        summary.status = status
        summary.created_by = acting
        summary.author = data.pop("author", None) or summary.author or acting
    else:
        stored = _locked_status(summary)
        if status is not None and status != stored:
            raise WorkflowError(
                f"The status is {stored!r} and cannot be set to {status!r} by an edit. Use the workflow "
                "actions: POST .../submit/ (to review), .../approve/ (publish; by a curator who is not the "
                "author), .../reject/ (back to draft), .../archive/.")
    for field in FIELDS:
        if field in data:
            setattr(summary, field, data[field])
    summary.updated_by = acting
    summary.save()
    if studies is not None:
        summary.studies.set(studies)
    if summary.status == SummaryStatus.PUBLISHED:
        record_version(summary, acting, change_note=change_note)
    return summary


def record_version(summary, user, change_note="", reviewer=None):
    """Keep the current content as a new version unless the latest version already holds it."""
    latest = summary.versions.order_by("-number").first()
    if latest is not None and latest.content() == summary.content():
        return latest
    number = (latest.number if latest else 0) + 1
    version = SummaryVersion.objects.create(
        summary=summary, number=number, readability_lix=summary.readability_lix, change_note=change_note[:500],
        created_by=_user(user), reviewer=reviewer, **summary.content())
    Summary.objects.filter(pk=summary.pk).update(version=number)
    summary.version = number
    return version


def _transition(user, summary, allowed, target, message, **changes):
    stored = _locked_status(summary)
    if stored not in allowed:
        raise WorkflowError(message.format(status=stored))
    summary.status = target
    for field, value in changes.items():
        setattr(summary, field, value)
    summary.updated_by = _user(user)
    summary.save()
    return summary


@transaction.atomic
def submit_summary(user, summary):
    """Send a draft for review."""
    return _transition(user, summary, {SummaryStatus.DRAFT}, SummaryStatus.IN_REVIEW,
                       "Only a draft can be submitted for review; this summary is {status}.")


@transaction.atomic
def reject_summary(user, summary):
    """Send a summary in review back to its author as a draft."""
    return _transition(user, summary, {SummaryStatus.IN_REVIEW}, SummaryStatus.DRAFT,
                       "Only a summary in review can be sent back to draft; this summary is {status}.")


@transaction.atomic
def approve_summary(user, summary, change_note=""):
    """Publish a summary in review. The approving curator becomes its reviewer and may not be its author."""
    approver = _user(user)
    if approver is None:
        raise WorkflowError("Only a signed-in curator can approve a summary.", code="not_authenticated")
    author_id = Summary.objects.filter(pk=summary.pk).values_list("author_id", flat=True).first()
    if author_id is not None and author_id == approver.pk:
        raise ReviewerIsAuthor("You wrote this summary; another curator must review and approve it.")
    _transition(approver, summary, {SummaryStatus.IN_REVIEW}, SummaryStatus.PUBLISHED,
                "Only a summary in review can be approved; this summary is {status}. Submit it first.",
                reviewer=approver, published_at=summary.published_at or timezone.now())
    record_version(summary, approver, change_note=change_note or "Approved for publication", reviewer=approver)
    return summary


@transaction.atomic
def archive_summary(user, summary):
    """Withdraw a summary from readers (it keeps its versions and publication date)."""
    return _transition(user, summary, {SummaryStatus.DRAFT, SummaryStatus.IN_REVIEW, SummaryStatus.PUBLISHED},
                       SummaryStatus.ARCHIVED, "This summary is already {status}.")


@transaction.atomic
def mark_checked(user, summary, when=None):
    """A curator has checked the summary against its studies: record the date and clear the flag."""
    summary.last_checked = when or timezone.localdate()
    summary.needs_review = False
    summary.needs_review_reason = ""
    summary.needs_review_since = None
    summary.updated_by = _user(user)
    summary.save()
    return summary


@transaction.atomic
def delete_summary(user, summary):
    summary.delete()


def flag_summaries_for_study(study_id, reason):
    """Mark every summary of a study (except archived ones) as needing review. Returns how many."""
    return (Summary.objects.filter(studies=study_id).exclude(status=SummaryStatus.ARCHIVED)
            .update(needs_review=True, needs_review_reason=reason[:1000],
                    needs_review_since=Coalesce(F("needs_review_since"), timezone.now())))
