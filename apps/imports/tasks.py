"""Celery tasks of the importer. They take a job's primary key and re-read it; running one twice is
harmless (a finished job is left alone, a job another worker runs too, an interrupted one resumes after
its last recorded entry)."""

from celery import shared_task


@shared_task(ignore_result=True, acks_late=True)
def run_import(job_id):
    from .services import run_job

    job = run_job(job_id)
    return {"job": job.pk, "status": job.status, "done": job.done}


@shared_task(ignore_result=True)
def requeue_stalled():
    """Periodic (beat): send again the jobs no worker is going to run (apps/imports/jobs.py)."""
    from .jobs import requeue_stalled

    return requeue_stalled()
