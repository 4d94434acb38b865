"""Undoing an import: the studies it created are deleted, the fields it changed restored."""
from __future__ import annotations

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from apps.audit import context as audit_context
from apps.studies.models import Study, Venue
from apps.studies.services import set_authors
from search.sync import batched

from .models import ImportJob, JobStatus, Outcome, ReviewItem, ReviewStatus
from .refusal import ImportRefused


def edited_since_import(job) -> list[dict]:
    """Studies this job wrote that someone changed afterwards (undo would lose their work)."""
    from apps.summaries.models import Summary

    out = []
    rows = (job.outcomes.filter(outcome__in=[Outcome.CREATED, Outcome.MERGED], study__isnull=False)
            .exclude(outcome=Outcome.MERGED, changed_fields=[])
            .values_list("study_id", "outcome", "study_updated_at"))
    latest = {}
    for study_id, kind, stamp in rows:
        if stamp is not None and (study_id not in latest or stamp > latest[study_id][1]):
            latest[study_id] = (kind, stamp)
    ids = list(latest)
    for i in range(0, len(ids), 500):
        batch = ids[i:i + 500]
        studies = (Study.objects.filter(pk__in=batch)
                   .annotate(has_topics=Exists(Study.topics.through.objects.filter(study_id=OuterRef("pk"))),
                             has_summaries=Exists(Summary.studies.through.objects.filter(study_id=OuterRef("pk"))))
                   .values_list("id", "title", "updated_at", "has_topics", "has_summaries"))
        for sid, title, updated_at, has_topics, has_summaries in studies:
            kind, stamp = latest[sid]
            reasons = []
            if updated_at != stamp:
                reasons.append("changed")
            if kind == Outcome.CREATED and has_topics:
                reasons.append("topics")
            if kind == Outcome.CREATED and has_summaries:
                reasons.append("summaries")
            if reasons:
                out.append({"id": sid, "title": title[:200], "updated_at": updated_at.isoformat(),
                            "reasons": reasons, "why": ", ".join(EDITED_REASONS[r] for r in reasons)})
    return out


#: Why undoing a job would lose later work: reason code -> text (clients translate the codes).
EDITED_REASONS = {"changed": "changed since the import", "topics": "has topics", "summaries": "has summaries"}


def undo_job(user, job) -> ImportJob:
    """Delete the studies the job created and restore the fields it changed.

    Refused (``ImportRefused`` with status 409 and ``edited_studies``) when any of those studies was
    changed after the import, so nobody's later work is lost.
    """
    via = f"bibtex undo: import {job.pk}"[:100]
    with transaction.atomic(), audit_context.acting_as(user, via=via), batched():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.dry_run:
            raise ImportRefused("A dry run wrote nothing; there is nothing to undo.")
        if job.status not in (JobStatus.DONE, JobStatus.FAILED):
            raise ImportRefused(f"The job is {job.status}; only a finished or failed job can be undone.")
        edited = edited_since_import(job)
        if edited:
            raise ImportRefused(f"{len(edited)} of the studies this import wrote were changed since; "
                               "undo would lose that work. Nothing was undone.", edited_studies=edited)
        outcomes = list(job.outcomes.filter(outcome__in=[Outcome.CREATED, Outcome.MERGED], study__isnull=False)
                        .exclude(outcome=Outcome.MERGED, changed_fields=[])
                        .order_by("-study_updated_at", "-index"))
        created = []
        for o in outcomes:
            if o.outcome == Outcome.CREATED:
                created.append(o.study_id)
                continue
            study = Study.objects.select_for_update().filter(pk=o.study_id).first()
            if study is None:
                continue
            previous = dict(o.previous)
            for k in ("year", "month", "day"):
                if k in previous and previous[k] is not None:
                    previous[k] = int(previous[k])
            _restore(study, previous, user if user is not None else job.uploaded_by)
        for i in range(0, len(created), 500):
            Study.objects.filter(pk__in=created[i:i + 500]).delete()
        # the venues the job created, unless a study (of this kb, not only of the job) still uses them
        Venue.objects.filter(pk__in=job.created_venues or [], studies__isnull=True).delete()
        ReviewItem.objects.filter(job=job, status=ReviewStatus.OPEN).delete()
        job.status = JobStatus.UNDONE
        job.undone_at = timezone.now()
        job.undone_by = user if getattr(user, "is_authenticated", False) else None
        job.save(update_fields=["status", "undone_at", "undone_by"])
    return job


def _restore(study, previous: dict, user):
    """Set the values an import replaced back on ``study`` and save it (signals log the change and mark
    it for indexing); its authors through ``set_authors`` (which logs them)."""
    values = dict(previous)
    authors = values.pop("authors", None)
    for name, value in values.items():
        if name == "venue":
            study.venue_id = value
        else:
            setattr(study, name, value)
    if getattr(user, "is_authenticated", False):
        study.updated_by = user
    study.save()
    if authors is not None:
        set_authors(study, authors, user)
