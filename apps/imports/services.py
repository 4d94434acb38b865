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

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import transaction
from django.utils import timezone

from .corrections import resolve_review, retry_outcome
from .importer import CHUNK, Importer
from .jobs import claim, enqueue_job
from biblio.formats import LABELS, detect_format

from .models import Format, ImportFile, ImportJob, JobStatus, Policy
from .refusal import ImportRefused
from .undo import EDITED_REASONS, edited_since_import, undo_job

__all__ = ["create_job", "resume_job", "run_job", "retry_outcome", "resolve_review", "undo_job",
           "edited_since_import", "EDITED_REASONS", "ImportRefused"]

log = logging.getLogger(__name__)


def create_job(user, fileobj, *, file_name=None, policy=Policy.FILL, dry_run=False, enqueue=True,
               format=None) -> ImportJob:
    """Store the uploaded file(s) and a queued job; the worker starts after commit (``enqueue``).

    ``fileobj`` is one file or a list of files read as one import, in that order (``file_name`` then
    one name or a list of names). ``format`` (bibtex, ris, medline) is found from the files' content
    and names when not given; files of different formats are refused (``ValidationError`` on ``format``)."""
    if policy not in Policy.values:
        raise ValidationError({"policy": f"One of {', '.join(Policy.values)}."})
    if format not in (None, "", *Format.values):
        raise ValidationError({"format": f"One of {', '.join(Format.values)}."})
    fileobjs = list(fileobj) if isinstance(fileobj, (list, tuple)) else [fileobj]
    if not fileobjs:
        raise ValidationError({"file": "No file was submitted."})
    names = file_name if isinstance(file_name, (list, tuple)) else [file_name] * len(fileobjs)
    whole = hashlib.sha256()
    files = []
    for f, given in zip(fileobjs, names):
        digest, size, head = hashlib.sha256(), 0, b""
        if hasattr(f, "seek"):
            f.seek(0)
        for block in (f.chunks() if hasattr(f, "chunks") else iter(lambda: f.read(1 << 20), b"")):
            digest.update(block)
            whole.update(block)
            size += len(block)
            if len(head) < 65536:
                head += block[:65536 - len(head)]
        f.seek(0)
        name = (given or getattr(f, "name", "") or "upload.bib").replace("\\", "/").rsplit("/", 1)[-1]
        files.append({"obj": f, "name": name, "size": size, "checksum": digest.hexdigest(),
                      "format": detect_format(head, name)})
    fmt = format or _one_format(files)
    total = sum(f["size"] for f in files)
    limit = settings.KB_MAX_UPLOAD_BYTES
    if total > limit:
        raise ValidationError({"file": f"The files are {total:,} bytes together; the limit is {limit:,} bytes."})
    with transaction.atomic():
        first = files[0]
        job = ImportJob(file_name=" + ".join(f["name"] for f in files)[:255], size=total,
                        checksum=first["checksum"] if len(files) == 1 else whole.hexdigest(), policy=policy,
                        format=fmt, dry_run=bool(dry_run),
                        uploaded_by=user if getattr(user, "is_authenticated", False) else None)
        job.file.save(first["name"], _as_file(first), save=False)
        job.save()
        for position, f in enumerate(files):
            row = ImportFile(job=job, position=position, file_name=f["name"][:255], size=f["size"],
                             checksum=f["checksum"])
            if position == 0:
                row.file.name = job.file.name  # stored once
            else:
                row.file.save(f["name"], _as_file(f), save=False)
            row.save()
        if enqueue:
            enqueue_job(job.pk)
    return job


def _as_file(f: dict) -> File:
    return f["obj"] if isinstance(f["obj"], File) else File(f["obj"], name=f["name"])


def _one_format(files: list[dict]) -> str:
    """The files' common format (BibTeX when none tells); several formats: refused, naming them."""
    found = {f["format"] for f in files if f["format"]}
    if len(found) > 1:
        named = ", ".join(f"{f['name']}: {LABELS[f['format']]}" for f in files if f["format"])
        raise ValidationError({"format": f"The files are in different formats ({named}); import them "
                                         f"separately, or name one format."})
    return found.pop() if found else Format.BIBTEX


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
