"""A job interrupted mid-way resumes after its last recorded entry with no duplicates; a failure in one
entry never takes the others down; a failed bulk write falls back to one savepoint per entry."""
import pytest

from apps.imports import services
from apps.imports.models import ImportOutcome, JobStatus, Outcome
from apps.studies.models import Authorship, Study
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    monkeypatch.setattr("search.sync.schedule_drain", lambda: None)  # indexing is not under test here


def bib(n, start=0):
    return "".join(f"@article{{k{i}, title={{Study number {i} of integrated care}}, author={{Author{i}, Kari and "
                   f"Hansen, Per}}, year={{{2000 + i % 20}}}, doi={{10.5555/{i}}}}}\n" for i in range(start, n))


def test_a_job_killed_mid_run_resumes_without_duplicates(monkeypatch):
    job = factories.import_file(bib(23) + bib(5), run=False)  # 5 in-file duplicates at the end
    calls = {"n": 0}
    real = services.Importer.process_chunk

    def crash_on_third_chunk(self, entries, counts):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker killed")
        return real(self, entries, counts)

    monkeypatch.setattr(services.Importer, "process_chunk", crash_on_third_chunk)
    job = services.run_job(job.pk, chunk_size=5)
    assert job.status == JobStatus.FAILED and "worker killed" in job.error and "resume" in job.error
    assert job.done == 10 and ImportOutcome.objects.filter(job=job).count() == 10
    assert Study.objects.count() == 10  # two whole chunks, nothing of the third

    job = services.run_job(job.pk, chunk_size=5)
    assert job.status == JobStatus.DONE and job.attempts == 2
    assert Study.objects.count() == 23 and Authorship.objects.count() == 46
    assert factories.outcome_indexes(job) == list(range(28))
    assert job.counts["created"] == 23 and job.counts["duplicate"] == 5 and sum(job.counts.values()) == 28
    # a finished job is left alone when the task is delivered again
    assert services.run_job(job.pk).attempts == 2


def test_a_crash_inside_a_chunk_writes_nothing_of_that_chunk(monkeypatch):
    from apps.imports.bulk import RowWriter

    job = factories.import_file(bib(8), run=False)
    real = RowWriter.insert

    def boom(self, rows, with_ids=False):
        if self.model is ImportOutcome and rows[0]["index"] >= 4:
            raise RuntimeError("database went away")  # after the chunk's studies were written
        return real(self, rows, with_ids)

    monkeypatch.setattr(RowWriter, "insert", boom)
    job = services.run_job(job.pk, chunk_size=4)
    assert job.status == JobStatus.FAILED and job.done == 4
    assert Study.objects.count() == 4 and ImportOutcome.objects.count() == 4  # chunk 2 rolled back whole
    monkeypatch.setattr(RowWriter, "insert", real)
    job = services.run_job(job.pk, chunk_size=4)
    assert job.status == JobStatus.DONE and Study.objects.count() == 8


def test_a_failing_entry_does_not_take_the_others_down(monkeypatch):
    job = factories.import_file(bib(6), run=False)
    factories.refuse_to_store(monkeypatch, "k3")
    job = services.run_job(job.pk)
    assert job.status == JobStatus.DONE
    assert job.counts["created"] == 5 and job.counts["failed"] == 1
    failed = ImportOutcome.objects.get(job=job, outcome=Outcome.FAILED)
    assert failed.key == "k3" and "could not be saved" in failed.message and failed.raw.startswith("@article")
    assert Study.objects.count() == 5
    assert sorted(Study.objects.values_list("source_key", flat=True)) == ["k0", "k1", "k2", "k4", "k5"]
