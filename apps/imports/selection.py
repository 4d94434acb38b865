"""Which studies an import job wrote: for acting on "the studies of import N" (bulk publishing)."""

from django.db.models import Q

from .models import ImportJob, JobStatus, Outcome


class NotSelectable(Exception):
    """The job's studies cannot be chosen (a trial run, undone, or still running); the message says why."""


def written_study_ids(job: ImportJob) -> list[int]:
    """The studies the job created, or changed by merging into them, in file order."""
    return list(dict.fromkeys(written_outcomes(job).values_list("study_id", flat=True)))


def written_outcomes(job: ImportJob):
    """The job's outcomes that wrote a study (created it, or merged changes into it), in file order."""
    if job.dry_run:
        raise NotSelectable(f"Import {job.pk} was a trial run: it wrote no studies.")
    if job.status == JobStatus.UNDONE:
        raise NotSelectable(f"Import {job.pk} was undone: its studies are gone or restored.")
    if job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
        raise NotSelectable(f"Import {job.pk} is still running; wait until it is done.")
    return (job.outcomes.filter(study__isnull=False)
            .filter(Q(outcome=Outcome.CREATED) | Q(outcome=Outcome.MERGED) & ~Q(changed_fields=[]))
            .order_by("index"))
