"""Large files are read and prepared by a second process (apps.imports.pipeline): the outcome of every
entry is the same as when the importer reads the file itself, and a reader that dies fails the job
clearly, after which running it again finishes it with every entry accounted for."""
import os

import pytest

from apps.imports import pipeline, services
from apps.imports.models import ImportOutcome, JobStatus
from apps.studies.models import Study
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)
SHARED = "/work/shared/bib"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    monkeypatch.setattr("search.sync.schedule_drain", lambda: None)  # indexing is not under test here


def report(job):
    return list(ImportOutcome.objects.filter(job=job).order_by("index")
                .values_list("index", "outcome", "line", "key", "message"))


def import_with(monkeypatch, text, child: bool, chunk_size=7):
    monkeypatch.setattr(pipeline, "SUBPROCESS_MIN_ENTRIES", 1 if child else 10**9)
    started = []
    real_iter = pipeline.ChildPreparer.__iter__

    def spy(self):
        started.append(self.path)
        return real_iter(self)

    monkeypatch.setattr(pipeline.ChildPreparer, "__iter__", spy)
    job = factories.import_file(text, run=False)
    job = services.run_job(job.pk, chunk_size=chunk_size)
    assert bool(started) == child
    return job


@pytest.mark.parametrize("name", ["xampl_mod.bib", "biblatex-examples.bib", "jabref-authors.bib"])
def test_the_child_process_gives_every_entry_the_same_outcome(monkeypatch, name):
    with open(os.path.join(SHARED, name), encoding="utf-8", errors="surrogateescape") as f:
        text = f.read()
    here = import_with(monkeypatch, text, child=False)
    expected = [(i, o, line, key, msg.replace(f"study {sid}", "study")) for (i, o, line, key, msg), sid
                in zip(report(here), ImportOutcome.objects.filter(job=here).order_by("index")
                       .values_list("study_id", flat=True))]
    Study.objects.all().delete()
    there = import_with(monkeypatch, text, child=True)
    got = [(i, o, line, key, msg.replace(f"study {sid}", "study")) for (i, o, line, key, msg), sid
           in zip(report(there), ImportOutcome.objects.filter(job=there).order_by("index")
                  .values_list("study_id", flat=True))]
    assert there.status == JobStatus.DONE
    assert [g[:4] for g in got] == [e[:4] for e in expected]
    assert there.counts == here.counts and there.total == here.total and there.encoding == here.encoding
    assert sorted(there.warnings) == sorted(here.warnings)


def bib(n):
    return "".join(f"@article{{k{i}, title={{Study number {i} of integrated care}}, author={{Author{i}, Kari}}, "
                   f"year={{{2000 + i % 20}}}, doi={{10.5555/{i}}}}}\n" for i in range(n))


DIES_AFTER_TWO_CHUNKS = """
import os, sys
import apps.imports.pipeline as pipeline
real, sent = pipeline.write_frame, []
def write_frame(out, kind, payload):
    if len(sent) == 2:
        out.flush()
        os._exit(9)
    sent.append(kind)
    real(out, kind, payload)
pipeline.write_frame = write_frame
from apps.imports import prepare_worker
sys.exit(prepare_worker.main(sys.argv[1:]))
"""


def test_a_reader_process_that_dies_fails_the_job_and_running_it_again_finishes_it(monkeypatch):
    monkeypatch.setattr(pipeline, "SUBPROCESS_MIN_ENTRIES", 1)
    job = factories.import_file(bib(40), run=False)
    real_command = pipeline.ChildPreparer.command
    monkeypatch.setattr(pipeline.ChildPreparer, "command",
                        lambda self: [real_command(self)[0], "-c", DIES_AFTER_TWO_CHUNKS, *real_command(self)[3:]])
    job = services.run_job(job.pk, chunk_size=5)
    # the two chunks it sent are written; then the job stops with a clear message
    assert job.status == JobStatus.FAILED
    assert "stopped early (exit code 9)" in job.error and "resume" in job.error
    assert job.done == 10 and Study.objects.count() == 10

    monkeypatch.setattr(pipeline.ChildPreparer, "command", real_command)
    job = services.run_job(job.pk, chunk_size=5)
    assert job.status == JobStatus.DONE and Study.objects.count() == 40 and job.counts["created"] == 40
    assert list(ImportOutcome.objects.filter(job=job).order_by("index").values_list("index", flat=True)) \
        == list(range(40))


def test_small_files_and_storages_without_a_local_path_are_read_in_process(monkeypatch):
    assert pipeline.local_path(type("Remote", (), {"path": property(lambda s: (_ for _ in ()).throw(
        NotImplementedError()))})()) is None
    job = import_with(monkeypatch, bib(3), child=False)
    assert job.status == JobStatus.DONE and job.counts["created"] == 3
