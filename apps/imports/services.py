"""BibTeX import: the service functions the API, the Celery task, the ``import_bibtex`` command, the
web pages and the admin call. The engine behind them, by job:

* :mod:`~apps.imports.importer`: running a job chunk by chunk (progress, resume, the file's failures);
* :mod:`~apps.imports.entries`: an entry's prepared values and its decision (no database);
* :mod:`~apps.imports.decide`: the outcome of each entry (duplicates, matches, reviews);
* :mod:`~apps.imports.merge`: the merge policy (what a merge changes);
* :mod:`~apps.imports.write`: writing a decided chunk (studies, authors, venues, outcomes, audit);
* :mod:`~apps.imports.pipeline`: a writer thread for large files; :mod:`~apps.imports.reader_process`:
  a reader process for them;
* :mod:`~apps.imports.corrections` (retry, review) and :mod:`~apps.imports.undo`;
* :mod:`~apps.imports.jobs`: who runs a job (the claim) and the recovery of stalled jobs.
"""
from __future__ import annotations

import hashlib
import logging

from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import transaction
from django.utils import timezone

from .corrections import resolve_review, retry_outcome
from .importer import CHUNK, Importer
from .jobs import claim, enqueue_job
from .models import ImportJob, JobStatus, Policy
from .refusal import ImportRefused
from .undo import EDITED_REASONS, edited_since_import, undo_job

__all__ = ["create_job", "resume_job", "run_job", "retry_outcome", "resolve_review", "undo_job",
           "edited_since_import", "EDITED_REASONS", "ImportRefused"]

log = logging.getLogger(__name__)


def create_job(user, fileobj, *, file_name=None, policy=Policy.FILL, dry_run=False, enqueue=True) -> ImportJob:
    """Store the uploaded file and a queued job; the worker starts after commit (``enqueue``)."""
    if policy not in Policy.values:
        raise ValidationError({"policy": f"One of {', '.join(Policy.values)}."})
    digest, size = hashlib.sha256(), 0
    if hasattr(fileobj, "seek"):
        fileobj.seek(0)
    for block in (fileobj.chunks() if hasattr(fileobj, "chunks") else iter(lambda: fileobj.read(1 << 20), b"")):
        digest.update(block)
        size += len(block)
    fileobj.seek(0)
    name = (file_name or getattr(fileobj, "name", "") or "upload.bib").replace("\\", "/").rsplit("/", 1)[-1]
    with transaction.atomic():
        job = ImportJob(file_name=name[:255], size=size, checksum=digest.hexdigest(), policy=policy,
                        dry_run=bool(dry_run), uploaded_by=user if getattr(user, "is_authenticated", False) else None)
        job.file.save(name, fileobj if isinstance(fileobj, File) else File(fileobj, name=name), save=False)
        job.save()
        if enqueue:
            enqueue_job(job.pk)
    return job


def resume_job(user, job) -> ImportJob:
    if job.status in (JobStatus.DONE, JobStatus.UNDONE):
        raise ImportRefused(f"The job is {job.status}; only a queued, running or failed job can be resumed.")
    enqueue_job(job.pk)
    return job


def run_job(job_id, *, chunk_size=CHUNK, progress=None) -> ImportJob:
    """Run (or resume) a job. Idempotent: a finished job is left alone, and so is a job another worker is
    running (apps.imports.jobs.claim); never raises for bad input."""
    with claim(job_id) as mine:
        if not mine:
            log.info("imports: job %s is being run by another worker; this request does nothing", job_id)
            return ImportJob.objects.get(pk=job_id)
        return _run_claimed(job_id, chunk_size=chunk_size, progress=progress)


def _run_claimed(job_id, *, chunk_size, progress) -> ImportJob:
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.status in (JobStatus.DONE, JobStatus.UNDONE):
            return job
        job.status = JobStatus.RUNNING
        job.attempts += 1
        job.started_at = job.started_at or timezone.now()
        job.error = ""
        job.save(update_fields=["status", "attempts", "started_at", "error"])
    try:
        Importer(job).run(chunk_size=chunk_size, progress=progress)
    except Exception as exc:
        log.exception("imports: job %s failed", job_id)
        ImportJob.objects.filter(pk=job_id).update(
            status=JobStatus.FAILED, finished_at=timezone.now(),
            error=f"The import stopped: {type(exc).__name__}: {exc}"[:2000]
            + " Entries recorded so far are kept; run the job again to resume after them.")
    job.refresh_from_db()
    return job
