"""Publishing and unpublishing many studies at once: the API, the admin action and the curators' import
page all go through :func:`start`.

Each batch of ``BATCH`` studies is one transaction with three bulk writes: one ``UPDATE`` of the
studies' status, one audit entry per study (one ``INSERT``), and one search outbox write
(``search.sync.mark_dirty``); the index follows after commit as for any change. A selection of at most
``settings.KB_PUBLISH_IN_REQUEST`` studies is done in the request; a larger one becomes a background
job (Celery task ``apps.studies.tasks.run_publication_job``; on the embedded default, without a broker,
tasks run in-process as imports do) whose progress the job row records.

A study that fails the checks a single publish makes (``Study.full_clean``) is not published: the job
lists it with the errors by field (an incomplete draft, without a title: ``title``). Studies that already
have the status are counted as unchanged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.audit import services as audit
from apps.audit.models import Action as AuditAction
from search.sync import mark_dirty

from .models import PublicationJob, Status, Study

log = logging.getLogger(__name__)

BATCH = 500
#: Fields ``full_clean`` leaves to their own checks when a study is published (as services._apply does).
CLEAN_EXCLUDE = ["venue", "created_by", "updated_by"]
TARGET = {PublicationJob.Action.PUBLISH: Status.PUBLISHED, PublicationJob.Action.UNPUBLISH: Status.DRAFT}


def publish_errors(study: Study) -> dict:
    """Why ``study`` cannot be published ({field: [messages]}), or {} when it can. Uniqueness is left to
    the database's constraints, which the stored row already meets."""
    errors = {name: [message] for name, message in study.gap_errors().items()}  # as Study.clean once published
    try:
        study.full_clean(exclude=CLEAN_EXCLUDE, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(m for m in messages if m not in errors.get(name, ()))
    return errors


@dataclass
class BatchResult:
    changed: list[int] = field(default_factory=list)
    unchanged: int = 0
    refused: list[dict] = field(default_factory=list)


def _refusal(study_id, title, errors):
    return {"id": study_id, "title": title[:300], "errors": errors}


def examine(action: str, ids) -> tuple[list[Study], BatchResult]:
    """The studies of ``ids`` to change, and what becomes of the others (nothing is written)."""
    target = TARGET[action]
    found = {s.pk: s for s in Study.objects.filter(pk__in=list(ids))}
    result, todo = BatchResult(), []
    for study_id in ids:
        study = found.get(study_id)
        if study is None:
            result.refused.append(_refusal(study_id, "", {"id": ["No such study (deleted since it was chosen)."]}))
        elif study.status == target:
            result.unchanged += 1
        elif target == Status.PUBLISHED and (errors := publish_errors(study)):
            result.refused.append(_refusal(study_id, study.display_title, errors))
        else:
            todo.append(study)
    return todo, result


def apply_batch(user, action: str, ids, via: str) -> BatchResult:
    """Publish (or unpublish) one batch in the caller's transaction: one status update, one audit write,
    one outbox write."""
    target = TARGET[action]
    todo, result = examine(action, ids)
    if not todo:
        return result
    now = timezone.now()
    published_at = now if target == Status.PUBLISHED else None
    changed_ids = [s.pk for s in todo]
    Study.objects.filter(pk__in=changed_ids).update(status=target, published_at=published_at, updated_at=now,
                                                    updated_by=user if getattr(user, "is_authenticated", False)
                                                    else None)
    stamp = audit.to_json(published_at)
    audit.record_many(user, [
        (study, {"status": {"from": study.status, "to": target},
                 "published_at": {"from": audit.to_json(study.published_at), "to": stamp}})
        for study in todo], AuditAction.PUBLISH if target == Status.PUBLISHED else AuditAction.UPDATE, via=via)
    mark_dirty("studies", changed_ids)
    result.changed = changed_ids
    return result


def preview(action: str, ids) -> dict:
    """The dry run: what :func:`start` would do with ``ids`` (counts and the studies it would refuse)."""
    would, unchanged, refused = 0, 0, []
    for start_at in range(0, len(ids), BATCH):
        todo, result = examine(action, ids[start_at:start_at + BATCH])
        would += len(todo)
        unchanged += result.unchanged
        refused += result.refused
    return {"action": action, "dry_run": True, "selected": len(ids), "would_change": would,
            "unchanged": unchanged, "refused_count": len(refused), "refused": refused,
            "background": in_background(len(ids))}


def in_background(count: int) -> bool:
    return count > settings.KB_PUBLISH_IN_REQUEST


def start(user, action: str, ids, selection: dict, via: str = "") -> PublicationJob:
    """Record a job for ``ids`` and do it now (small selections) or ask a worker for it after commit."""
    ids = list(dict.fromkeys(int(i) for i in ids))
    job = PublicationJob.objects.create(
        action=action, selection=selection, study_ids=ids, total=len(ids), via=via[:100],
        requested_by=user if getattr(user, "is_authenticated", False) else None)
    if in_background(len(ids)):
        _enqueue(job.pk)
        return job
    return run_job(job.pk)


def _enqueue(job_id):
    from celery import current_app

    task = current_app.tasks["apps.studies.tasks.run_publication_job"]  # by name: the task module imports this

    def send():
        try:
            task.delay(job_id)
        except Exception as exc:  # the broker is down: say so on the job; the curator asks again later
            log.warning("studies: could not enqueue publication job %s (%s)", job_id, exc)
            PublicationJob.objects.filter(pk=job_id, status=PublicationJob.State.QUEUED).update(
                status=PublicationJob.State.FAILED, finished_at=timezone.now(),
                error=f"The job could not be sent to a worker ({type(exc).__name__}: {exc}); nothing was "
                      "changed. Ask again when the broker answers."[:1000])

    transaction.on_commit(send)


def run_job(job_id, progress=None) -> PublicationJob:
    """Work through a queued job batch by batch (each batch commits with the job's progress). A job that
    is not queued (done, or taken by another delivery of the task) is left alone."""
    now = timezone.now()
    claimed = PublicationJob.objects.filter(pk=job_id, status=PublicationJob.State.QUEUED).update(
        status=PublicationJob.State.RUNNING, started_at=now)
    job = PublicationJob.objects.select_related("requested_by").get(pk=job_id)
    if not claimed:
        return job
    try:
        for start_at in range(0, job.total, BATCH):
            batch = job.study_ids[start_at:start_at + BATCH]
            with transaction.atomic():
                result = apply_batch(job.requested_by, job.action, batch, job.via)
                job.done += len(batch)
                job.changed += len(result.changed)
                job.unchanged += result.unchanged
                job.refused += result.refused
                job.save(update_fields=["done", "changed", "unchanged", "refused"])
            if progress:
                progress(job.done, job.total)
    except Exception as exc:
        log.exception("studies: publication job %s failed", job_id)
        job.status, job.error = PublicationJob.State.FAILED, f"{type(exc).__name__}: {exc}"[:1000]
    else:
        job.status = PublicationJob.State.DONE
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "finished_at"])
    return job
