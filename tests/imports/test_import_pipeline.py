"""Large files are read and prepared by a second process (apps.imports.reader_process): the outcome of every
entry is the same as when the importer reads the file itself, and a reader that dies fails the job
clearly, after which running it again finishes it with every entry accounted for."""
import os

import pytest

from apps.imports import pipeline, reader_process, services
from apps.imports.importer import Importer, recount
from apps.imports.models import ImportOutcome, JobStatus, Outcome
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
    monkeypatch.setattr(reader_process, "SUBPROCESS_MIN_ENTRIES", 1 if child else 10**9)
    started = []
    real_iter = reader_process.ChildPreparer.__iter__

    def spy(self):
        started.append(self.paths)
        return real_iter(self)

    monkeypatch.setattr(reader_process.ChildPreparer, "__iter__", spy)
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
import apps.imports.reader_process as reader_process
real, sent = reader_process.write_frame, []
def write_frame(out, kind, payload):
    if len(sent) == 2:
        out.flush()
        os._exit(9)
    sent.append(kind)
    real(out, kind, payload)
reader_process.write_frame = write_frame
from apps.imports import prepare_worker
sys.exit(prepare_worker.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("pipelined_writes", [False, True], ids=["written-in-turn", "pipelined"])
def test_a_reader_process_that_dies_fails_the_job_and_running_it_again_finishes_it(monkeypatch, pipelined_writes):
    monkeypatch.setattr(reader_process, "SUBPROCESS_MIN_ENTRIES", 1)
    monkeypatch.setattr(pipeline, "PIPELINE_MIN_ENTRIES", 1 if pipelined_writes else 10**9)
    job = factories.import_file(bib(40), run=False)
    real_command = reader_process.ChildPreparer.command
    monkeypatch.setattr(reader_process.ChildPreparer, "command",
                        lambda self: [real_command(self)[0], "-c", DIES_AFTER_TWO_CHUNKS, *real_command(self)[3:]])
    job = services.run_job(job.pk, chunk_size=5)
    # the two chunks it sent are written; then the job stops with a clear message
    assert job.status == JobStatus.FAILED
    assert "stopped early (exit code 9)" in job.error and "resume" in job.error
    assert job.done == 10 and Study.objects.count() == 10

    monkeypatch.setattr(reader_process.ChildPreparer, "command", real_command)
    job = services.run_job(job.pk, chunk_size=5)
    assert job.status == JobStatus.DONE and Study.objects.count() == 40 and job.counts["created"] == 40
    assert factories.outcome_indexes(job) == list(range(40))


def test_small_files_and_storages_without_a_local_path_are_read_in_process(monkeypatch):
    assert reader_process.local_path(type("Remote", (), {"path": property(lambda s: (_ for _ in ()).throw(
        NotImplementedError()))})()) is None
    job = import_with(monkeypatch, bib(3), child=False)
    assert job.status == JobStatus.DONE and job.counts["created"] == 3


# --------------------------------------------------------------------------- pipelined writing
# A large file's chunk k is written by a second thread (its own connection) while chunk k+1 is decided
# against an in-memory view of chunk k. Chunks of 4 here, so that duplicates cross chunk boundaries.

def pipelined(monkeypatch, on: bool):
    monkeypatch.setattr(pipeline, "PIPELINE_MIN_ENTRIES", 1 if on else 10**9)
    submitted = []
    real_submit = pipeline.ChunkWriter.submit

    def spy(self, decisions, *known_venues):
        submitted.append(len(decisions))
        return real_submit(self, decisions, *known_venues)

    monkeypatch.setattr(pipeline.ChunkWriter, "submit", spy)
    return submitted


def art(key, title, year=2012, author="Lien, Kari and Berg, Ola", **fields):
    extra = "".join(f", {k}={{{v}}}" for k, v in fields.items())
    return f"@article{{{key}, title={{{title}}}, author={{{author}}}, year={{{year}}}{extra}}}\n"


CROSSING = "".join([
    art("a", "Housing first for people with psychosis and substance use", doi="10.5555/a"),
    art("e1", "Existing study on assertive community treatment", doi="10.1016/E1", abstract="A new abstract."),
    art("b", "Peer support in municipal substance use services for young adults"),
    art("c", "Mortality after release from prison among people with opioid dependence in Norway"),
    # chunk 2: each repeats something chunk 1 wrote
    art("a2", "Housing first for people with psychosis and substance use", doi="10.5555/A"),
    art("e1b", "Existing study on assertive community treatment", doi="10.1016/e1"),
    art("b2", "Peer support in municipal substance use services for young adult"),  # a typo: fuzzy, certain
    art("c2", "Mortality after prison release among people with opioid dependence in Norway"),  # uncertain
    # chunk 3 fills an existing study's empty PMID, by which chunk 4 finds it
    art("e2", "Second existing study of integrated care", doi="10.1016/E2", pmid="31234567"),
    art("d", "Integrated treatment in outpatient clinics", year=2019),
    art("f", "Stigma among clinicians", year=2003),
    # found by PMID; its DOI differs from the study's: fill keeps the study's, overwrite takes this one
    art("j", "Third existing study, on housing", doi="10.1016/NEW", pmid="31234568"),
    art("e2b", "Second existing study of integrated care, a preprint", pmid="31234567"),
    art("d2", "Integrated treatment in outpatient clinics", year=2019),
    art("k", "A different study altogether", doi="10.1016/new"),  # has j's DOI
])


def existing_studies():
    factories.study(title="Existing study on assertive community treatment", doi="10.1016/e1", year=2012,
                    authors=("Lien, Kari", "Berg, Ola"), abstract="")
    factories.study(title="Second existing study of integrated care", doi="10.1016/e2", year=2012,
                    authors=("Lien, Kari", "Berg, Ola"))
    factories.study(title="Third existing study, on housing", doi="10.1016/e3", pmid="31234568", year=2012,
                    authors=("Lien, Kari", "Berg, Ola"))


def outcome_table(job):
    titles = dict(Study.objects.values_list("id", "title"))
    return [(o.index, o.key, o.outcome, o.rule, o.duplicate_of, titles.get(o.study_id), sorted(o.changed_fields))
            for o in ImportOutcome.objects.filter(job=job).order_by("index")]


@pytest.mark.parametrize("policy", ["fill", "overwrite", "skip"])
def test_pipelined_writing_gives_every_entry_the_same_outcome(monkeypatch, policy):
    existing_studies()
    pipelined(monkeypatch, on=False)
    here = services.run_job(factories.import_file(CROSSING, run=False, policy=policy).pk, chunk_size=4)
    expected, expected_reviews = outcome_table(here), sorted(
        (r.outcome.key, titles) for r, titles in ((r, r.candidate.title) for r in here.reviews.all()))
    Study.objects.all().delete()

    existing_studies()
    submitted = pipelined(monkeypatch, on=True)
    there = services.run_job(factories.import_file(CROSSING, run=False, policy=policy).pk, chunk_size=4)
    assert submitted == [4, 4, 4, 3]  # every chunk went through the writer thread
    assert there.status == JobStatus.DONE
    assert outcome_table(there) == expected
    assert sorted((r.outcome.key, r.candidate.title) for r in there.reviews.all()) == expected_reviews
    assert there.counts == here.counts and Study.objects.count() == 3 + here.counts["created"]
    # the outcomes are the ones the rules give (not merely the same twice)
    by_key = {row[1]: row for row in expected}
    matched = "skipped" if policy == "skip" else "merged"
    assert by_key["j"][2:4] == (matched, "pmid")
    # the study keeps its own DOI unless overwritten: then j's DOI is the study's, and k repeats it
    assert by_key["k"][2] == ("duplicate" if policy == "overwrite" else "created")
    if policy != "fill":
        return
    assert by_key["a2"][2:5] == ("duplicate", "doi", 0) and by_key["e1b"][2:5] == ("duplicate", "doi", 1)
    assert by_key["e1"][2:4] == ("merged", "doi") and "abstract" in by_key["e1"][6]
    assert by_key["b2"][2:5] == ("duplicate", "fuzzy", 2) and by_key["c2"][2] == "review"
    assert expected_reviews == [("c2", by_key["c"][5])]
    assert by_key["e2"][2] == "merged" and "pmid" in by_key["e2"][6]
    assert by_key["e2b"][2:5] == ("duplicate", "pmid", 8) and by_key["d2"][2:5] == ("duplicate", "exact", 9)


@pytest.mark.parametrize("name", ["xampl_mod.bib", "biblatex-examples.bib"])
def test_pipelined_writing_of_shared_files_gives_the_same_outcomes(monkeypatch, name):
    with open(os.path.join(SHARED, name), encoding="utf-8", errors="surrogateescape") as f:
        text = f.read()
    pipelined(monkeypatch, on=False)
    here = services.run_job(factories.import_file(text, run=False).pk, chunk_size=7)
    expected = outcome_table(here)
    Study.objects.all().delete()
    submitted = pipelined(monkeypatch, on=True)
    there = services.run_job(factories.import_file(text, run=False).pk, chunk_size=7)
    assert len(submitted) > 3 and there.status == JobStatus.DONE
    assert outcome_table(there) == expected and there.counts == here.counts


def test_a_chunk_written_entry_by_entry_gets_the_next_chunk_decided_again(monkeypatch):
    """Chunk 1 holds an entry that cannot be saved; chunk 2, decided meanwhile, repeats it. Once chunk 1
    turns out to have failed that entry, chunk 2 is decided again: its copy is created, not skipped as a
    duplicate of an entry that failed."""
    submitted = pipelined(monkeypatch, on=True)
    factories.refuse_to_store(monkeypatch, "k3")
    text = "".join(art(f"k{i}", f"Study number {i} of integrated care", doi=f"10.5555/{i}") for i in range(4)) \
        + art("again", "Study number 3 of integrated care", doi="10.5555/3") \
        + "".join(art(f"k{i}", f"Study number {i} of integrated care", doi=f"10.5555/{i}") for i in range(5, 8)) \
        + art("typo", "Study numbr 5 of integrated care")  # chunk 3: found only by its first author's block
    job = services.run_job(factories.import_file(text, run=False).pk, chunk_size=4)
    assert job.status == JobStatus.DONE and submitted[0] == 4
    outcomes = {o.key: o for o in ImportOutcome.objects.filter(job=job)}
    assert outcomes["k3"].outcome == Outcome.FAILED and "cannot store k3" in outcomes["k3"].message
    assert outcomes["again"].outcome == Outcome.CREATED
    assert Study.objects.filter(source_key="again", doi="10.5555/3").exists()
    # the studies chunk 2 wrote, decided again, are in the author blocks when chunk 3 is decided
    assert (outcomes["typo"].outcome, outcomes["typo"].duplicate_of) == (Outcome.DUPLICATE, outcomes["k5"].index)
    assert job.counts == {**job.counts, "created": 7, "failed": 1, "duplicate": 1}


def test_a_failing_write_in_the_writer_thread_fails_the_job_and_running_it_again_finishes_it(monkeypatch):
    pipelined(monkeypatch, on=True)
    real = Importer.write_chunk
    calls = []

    def crash_on_second(self, decisions, counts, *known_venues):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return real(self, decisions, counts, *known_venues)

    monkeypatch.setattr(Importer, "write_chunk", crash_on_second)
    job = services.run_job(factories.import_file(bib(13), run=False).pk, chunk_size=4)
    assert job.status == JobStatus.FAILED and "database went away" in job.error
    assert job.done == 4 and Study.objects.count() == 4 and ImportOutcome.objects.filter(job=job).count() == 4

    monkeypatch.setattr(Importer, "write_chunk", real)
    job = services.run_job(job.pk, chunk_size=4)
    assert job.status == JobStatus.DONE and Study.objects.count() == 13 and job.counts["created"] == 13
    assert factories.outcome_indexes(job) == list(range(13))


def test_when_another_worker_got_further_the_pipelined_importer_goes_on_after_it(monkeypatch):
    """A second worker (another thread, its own connection) writes chunk 2 while the first one has
    decided it; the first one notices at its write, drops its decisions and carries on after it."""
    import threading
    from collections import Counter

    from django.db import connection as conn

    from biblio import iter_bibtex
    from apps.imports.models import ImportJob

    pipelined(monkeypatch, on=True)
    text = bib(14) + bib(3)  # three in-file duplicates at the end
    job = factories.import_file(text, run=False)
    real = Importer.write_chunk
    calls = []

    def other_worker_writes_chunk_2():
        try:
            chunk2 = list(iter_bibtex(text.encode(), chunk_entries=4))[1]
            other = Importer(ImportJob.objects.get(pk=job.pk))
            items = other.prepare_entries(chunk2)
            other.process_chunk(items, Counter(recount(other.job)))
        finally:
            conn.close()

    def write_chunk(self, decisions, counts, *known_venues):
        calls.append(decisions[0].index)
        if len(calls) == 2:
            t = threading.Thread(target=other_worker_writes_chunk_2)
            t.start()
            t.join()
        return real(self, decisions, counts, *known_venues)

    monkeypatch.setattr(Importer, "write_chunk", write_chunk)
    job = services.run_job(job.pk, chunk_size=4)
    assert job.status == JobStatus.DONE
    assert factories.outcome_indexes(job) == list(range(17))
    assert Study.objects.count() == 14 and job.counts["created"] == 14 and job.counts["duplicate"] == 3
    assert Study.objects.values("doi").distinct().count() == 14
