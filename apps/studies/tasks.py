"""Celery tasks of the studies app. They take a primary key and re-read the row; a second delivery of a
job that has started or finished does nothing (apps/studies/publication.py)."""

from celery import shared_task


@shared_task(ignore_result=True, acks_late=True)
def run_publication_job(job_id):
    from .publication import run_job

    job = run_job(job_id)
    return {"job": job.pk, "status": job.status, "done": job.done}
