"""Who runs an import job, and the recovery of jobs no worker is going to run.

The job row is the durable record of the work, as an outbox row is for indexing (search/sync.py); a
message in the broker is only a request to do it, and can be lost (the broker was down when it was to
be sent) or stranded (the worker that took it died: kombu hands it out again only after its
visibility timeout, an hour). Two things keep the row and the messages in step:

* **The claim.** A worker runs a job only while it holds the job's PostgreSQL advisory lock, on its
  own connection (:func:`claim`). Any other delivery of the job's task meanwhile (a duplicate, a
  curator's resume/, kombu's late redelivery, the recovery below) finds the lock taken and does
  nothing, so a job never runs twice at once. The lock lives as long as the worker's connection:
  when the worker dies, PostgreSQL releases it as soon as it sees that connection close.
* **Recovery.** Beat runs :func:`requeue_stalled` every ``KB_IMPORT_RECOVERY_SECONDS``. It sends
  again a queued job whose task could not be sent (``enqueue_error``) or was sent ``REQUEUE_AFTER``
  ago and has not started; and it queues again a running job that no worker holds (its worker died),
  which then resumes after its last recorded entry, unless it has run ``MAX_ATTEMPTS`` times already:
  then it fails, and a curator decides.

On SQLite (the embedded mode: tasks run in-process, no beat) there is no advisory lock; a claim is
always granted and running jobs are left alone.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import ImportJob, JobStatus

log = logging.getLogger(__name__)

#: First key of the jobs' advisory locks ("kbim"); the second is the job's id.
LOCK_SPACE = 0x6B62696D
#: A queued job whose task was sent this long ago and has not started is sent again (the message may
#: have been lost with a broker's data; if it is merely waiting behind other jobs, the copy is harmless).
REQUEUE_AFTER = timedelta(minutes=10)
#: A job whose worker died while running it this many times is failed instead of queued again.
MAX_ATTEMPTS = 5


def can_claim() -> bool:
    return connection.vendor == "postgresql"


@contextmanager
def claim(job_id):
    """Hold the job's lock for the block; yields whether this connection got it (never waits)."""
    if not can_claim():
        yield True
        return
    key = [LOCK_SPACE, int(job_id) % (1 << 31)]  # pg_try_advisory_lock(int, int): two signed 32-bit keys
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
            except Exception as exc:  # a broken connection took the lock with it
                log.warning("imports: could not release the lock of job %s (%s)", job_id, exc)


def enqueue_job(job_id):
    """Ask a worker to run the job once the current transaction has committed. The job records when it
    was asked, and why the request could not be sent, for :func:`requeue_stalled`."""
    from celery import current_app

    run_import = current_app.tasks["apps.imports.tasks.run_import"]  # by name: the task module imports this one
    ImportJob.objects.filter(pk=job_id).update(enqueued_at=timezone.now(), enqueue_error="")

    def send():
        try:
            run_import.delay(job_id)
        except Exception as exc:  # the job stays queued; the recovery task sends it again
            log.warning("imports: could not enqueue job %s (%s); it is sent again when the broker answers",
                        job_id, exc)
            try:
                ImportJob.objects.filter(pk=job_id).update(enqueue_error=f"{type(exc).__name__}: {exc}"[:500])
            except Exception:  # never fail the request that already committed the job
                log.exception("imports: could not record the failed enqueue of job %s", job_id)

    transaction.on_commit(send)


def requeue_stalled(now=None) -> dict:
    """Send again the jobs no worker is going to run (see the module's doc). Idempotent."""
    now = now or timezone.now()
    queued = list(ImportJob.objects.filter(status=JobStatus.QUEUED).annotate(
        asked=Coalesce("enqueued_at", "created_at")).filter(
        ~Q(enqueue_error="") | Q(asked__lte=now - REQUEUE_AFTER)).values_list("pk", flat=True))
    orphaned, failed = [], []
    if can_claim():
        for job_id in ImportJob.objects.filter(status=JobStatus.RUNNING).values_list("pk", flat=True):
            with claim(job_id) as free:
                status = _release(job_id, now) if free else None  # running, yet no worker holds it: it died
            if status == JobStatus.QUEUED:
                orphaned.append(job_id)
            elif status == JobStatus.FAILED:
                failed.append(job_id)
    # sent only now, with no lock held: a worker that takes a message at once must be able to claim it
    for job_id in queued + orphaned:
        enqueue_job(job_id)
    result = {"queued": queued, "orphaned": orphaned, "failed": failed}
    if queued or orphaned or failed:
        log.warning("imports: asked a worker again to run the queued jobs %s and the jobs %s whose worker died "
                    "(a send that fails is recorded on the job); failed %s", queued, orphaned, failed)
    return result


def _release(job_id, now):
    """A running job whose worker died: queued again, or failed after ``MAX_ATTEMPTS`` runs."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.status != JobStatus.RUNNING:
            return None
        if job.attempts >= MAX_ATTEMPTS:
            job.status, job.finished_at = JobStatus.FAILED, now
            job.error = (f"The worker running this job stopped during each of its {job.attempts} runs, the last "
                         f"at entry {job.done}. Entries recorded so far are kept; run the job again to resume "
                         "after them.")
            job.save(update_fields=["status", "finished_at", "error"])
            return JobStatus.FAILED
        job.status = JobStatus.QUEUED
        job.save(update_fields=["status"])
        return JobStatus.QUEUED
