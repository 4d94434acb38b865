"""Jobs no worker is going to run are sent again by the beat task (apps/imports/jobs.py): a queued job
whose task could not be sent (the broker was down at the upload), or was sent long ago; a running job
whose worker died. A job never runs twice at once: a second delivery while a worker holds it does nothing."""
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.utils import timezone
from kombu.exceptions import OperationalError

from apps.imports import jobs, services
from apps.imports.models import ImportJob, ImportOutcome, JobStatus
from apps.studies.models import Study
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit runs at once, as in a worker


@pytest.fixture(autouse=True)
def _media(settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    monkeypatch.setattr("search.sync.schedule_drain", lambda: None)  # indexing is not under test here


@pytest.fixture
def broker(monkeypatch):
    """The broker as the web process and the beat task see it: ``sent`` lists the job ids whose task was
    sent; ``down = True`` makes sending fail as kombu does when Redis is stopped."""
    from apps.imports.tasks import run_import

    class Broker:
        down = False
        sent: list = []

        def delay(self, job_id):
            if self.down:
                raise OperationalError("Error 111 connecting to 127.0.0.1:6390. Connection refused.")
            self.sent.append(job_id)

    b = Broker()
    b.sent = []
    monkeypatch.setattr(run_import, "delay", b.delay)
    return b


def bib(n):
    return "".join(f"@article{{k{i}, title={{Study number {i} of integrated care}}, author={{Author{i}, Kari}}, "
                   f"year={{{2000 + i % 20}}}, doi={{10.5555/{i}}}}}\n" for i in range(n))


@contextmanager
def worker_holding(job_id):
    """Another connection holds the job's claim, as a live worker running it does; the block's end
    closes that connection, as a worker's death does."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [jobs.LOCK_SPACE, job_id])
        yield
    finally:
        other.close()
    deadline = time.monotonic() + 10  # PostgreSQL releases the lock once it has seen the connection go
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s "
                           "AND objid = %s", [jobs.LOCK_SPACE, job_id])
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.05)
    raise AssertionError("the lock outlived its connection")


def test_an_upload_whose_task_could_not_be_sent_is_sent_by_the_recovery(curator_client, broker):
    broker.down = True
    f = SimpleUploadedFile("refs.bib", bib(3).encode(), content_type="application/x-bibtex")
    response = curator_client.post("/api/v1/imports/", {"file": f}, format="multipart")
    assert response.status_code == 202
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert job.status == JobStatus.QUEUED and "Connection refused" in job.enqueue_error and broker.sent == []

    assert jobs.requeue_stalled()["queued"] == [job.pk]  # tried every tick while the broker is down ...
    job.refresh_from_db()
    assert "Connection refused" in job.enqueue_error and broker.sent == []  # ... and the trace stays

    broker.down = False
    assert jobs.requeue_stalled()["queued"] == [job.pk] and broker.sent == [job.pk]
    job.refresh_from_db()
    assert job.enqueue_error == "" and job.enqueued_at is not None
    assert jobs.requeue_stalled() == {"queued": [], "orphaned": [], "failed": []}  # sent once, not every tick
    assert broker.sent == [job.pk]
    assert services.run_job(job.pk).status == JobStatus.DONE and Study.objects.count() == 3


def test_a_fresh_queued_job_is_not_sent_twice_and_a_stale_one_is(broker):
    job = services.create_job(None, SimpleUploadedFile("refs.bib", bib(2).encode()))
    assert broker.sent == [job.pk]
    job.refresh_from_db()
    assert job.enqueue_error == "" and job.enqueued_at is not None
    assert jobs.requeue_stalled(now=timezone.now() + jobs.REQUEUE_AFTER - timedelta(seconds=5))["queued"] == []
    assert broker.sent == [job.pk]
    # still queued long after it was sent: the message may be lost (a broker that lost its data)
    assert jobs.requeue_stalled(now=timezone.now() + jobs.REQUEUE_AFTER)["queued"] == [job.pk]
    assert broker.sent == [job.pk, job.pk]


def test_finished_jobs_are_untouched(broker):
    long_ago = timezone.now() - timedelta(days=1)
    done = factories.import_file(bib(2))
    failed = factories.import_file("not bibtex at all")
    undone = factories.import_file(bib(1) .replace("k0", "u0").replace("10.5555/0", "10.5555/u"))
    services.undo_job(None, undone)
    ImportJob.objects.update(created_at=long_ago, enqueued_at=long_ago, enqueue_error="ConnectionError: down")
    before = {j.pk: (j.status, j.attempts, j.finished_at) for j in ImportJob.objects.all()}
    assert {s for s, _, _ in before.values()} == {JobStatus.DONE, JobStatus.FAILED, JobStatus.UNDONE}

    assert jobs.requeue_stalled() == {"queued": [], "orphaned": [], "failed": []}
    assert broker.sent == []
    assert {j.pk: (j.status, j.attempts, j.finished_at) for j in ImportJob.objects.all()} == before
    assert {done.pk, failed.pk, undone.pk} == set(before)


def test_a_running_job_whose_worker_died_is_queued_again_and_resumes(broker, monkeypatch):
    job = factories.import_file(bib(23), run=False)
    real = services.Importer.process_chunk
    calls = {"n": 0}

    def killed_in_third_chunk(self, items, counts):
        calls["n"] += 1
        if calls["n"] == 3:
            raise SystemExit("SIGKILL")  # not caught by run_job, as nothing is when a process is killed
        return real(self, items, counts)

    monkeypatch.setattr(services.Importer, "process_chunk", killed_in_third_chunk)
    with pytest.raises(SystemExit):
        services.run_job(job.pk, chunk_size=5)
    monkeypatch.setattr(services.Importer, "process_chunk", real)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.done == 10 and job.attempts == 1

    assert jobs.requeue_stalled() == {"queued": [], "orphaned": [job.pk], "failed": []}
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and broker.sent == [job.pk]
    assert jobs.requeue_stalled()["orphaned"] == [] and broker.sent == [job.pk]  # sent once

    job = services.run_job(job.pk, chunk_size=5)  # the task, delivered to a live worker
    assert job.status == JobStatus.DONE and job.attempts == 2
    assert factories.outcome_indexes(job) == list(range(23)) and Study.objects.count() == 23


def test_a_job_a_live_worker_runs_is_neither_requeued_nor_run_a_second_time(broker):
    job = factories.import_file(bib(3), run=False)
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, attempts=1)
    with worker_holding(job.pk):
        assert jobs.requeue_stalled() == {"queued": [], "orphaned": [], "failed": []}
        # a duplicate delivery, a curator's resume/ or kombu's redelivery meanwhile does nothing
        again = services.run_job(job.pk)
        assert again.status == JobStatus.RUNNING and again.attempts == 1
        assert not ImportOutcome.objects.filter(job=job).exists() and broker.sent == []
    # that worker died (its connection closed): the next tick queues the job again
    assert jobs.requeue_stalled()["orphaned"] == [job.pk] and broker.sent == [job.pk]
    assert services.run_job(job.pk).status == JobStatus.DONE and Study.objects.count() == 3


def test_a_job_whose_worker_keeps_dying_fails_instead(broker):
    job = factories.import_file(bib(3), run=False)
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, attempts=jobs.MAX_ATTEMPTS, done=2)
    assert jobs.requeue_stalled() == {"queued": [], "orphaned": [], "failed": [job.pk]}
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and broker.sent == []
    assert f"each of its {jobs.MAX_ATTEMPTS} runs" in job.error and "entry 2" in job.error
    assert services.run_job(job.pk).status == JobStatus.DONE  # a curator's resume/ still finishes it


def test_the_beat_schedule_runs_the_recovery(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["imports-requeue-stalled"]
    assert entry == {"task": "apps.imports.tasks.requeue_stalled", "schedule": settings.KB_IMPORT_RECOVERY_SECONDS}
    from kb.celery import app

    assert "apps.imports.tasks.requeue_stalled" in app.tasks
