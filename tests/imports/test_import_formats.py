"""RIS and MEDLINE imports through the same pipeline as BibTeX (one outcome per record, dedupe, undo, dry run,
retry), the format chosen by content, name or option, and several files imported as one job."""
import io
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from apps.imports import services
from apps.imports.models import ImportFile, ImportJob, ImportOutcome, JobStatus, Outcome
from apps.studies.models import Study
from tests import factories

pytestmark = pytest.mark.django_db

FORMATS_DIR = "/work/shared/formats"
RECORDS = {  # records per shared file (RIS: ER lines; MEDLINE: blank-line separated records)
    "asreview__baseline.ris": 100, "asreview_embase.ris": 6, "asreview_ovid_psycinfo.ris": 6,
    "asreview_pubmed_endnote.txt": 6, "asreview_scopus.ris": 6, "asreview_web_of_science.txt": 10,
    "jabref_RisImporterTest1.ris": 1, "litstudy_example.ris": 25, "rispy_example_multiline.ris": 3,
    "rispy_example_utf_chars.ris": 1, "biopython_pubmed_result2.txt": 4,
    "jabref_MedlinePlainImporterTestMultipleEntries.txt": 7, "nbib_pubmed-balloongui-set.nbib": 75,
    "pybtexnbib_marcelis-20301770.nbib": 1,
}
MEDLINE = {"biopython_pubmed_result2.txt", "jabref_MedlinePlainImporterTestMultipleEntries.txt",
           "nbib_pubmed-balloongui-set.nbib", "pybtexnbib_marcelis-20301770.nbib"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def data(name):
    with open(os.path.join(FORMATS_DIR, name), "rb") as f:
        return f.read()


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_every_record_of_every_shared_export_gets_exactly_one_outcome(name):
    job = factories.import_file(data(name), name=name)
    assert job.status == JobStatus.DONE, job.error
    assert job.format == ("medline" if name in MEDLINE else "ris")
    assert job.total == RECORDS[name] == sum(job.counts.values())
    assert factories.outcome_indexes(job) == list(range(RECORDS[name]))
    for o in ImportOutcome.objects.filter(job=job, outcome=Outcome.FAILED):
        assert o.message.startswith(f"Line {o.line}:") and o.raw
    # importing the same file again creates nothing
    again = factories.import_file(data(name), name=name)
    assert again.counts.get("created", 0) == 0 and sum(again.counts.values()) == RECORDS[name]


def test_imported_ris_and_medline_studies_carry_their_fields():
    factories.import_file(data("rispy_example_utf_chars.ris"), name="utf.ris")
    study = Study.objects.get(title__startswith="Состояние")
    assert [a.name for a in study.authorships.order_by("position")][:2] == ["Dobrokhotova, Yu E.", "Yusupova, R. O."]
    assert study.year == 2009 and study.volume == "8" and study.provenance == "ris" and study.status == "draft"

    job = factories.import_file(data("nbib_pubmed-balloongui-set.nbib"), name="pubmed.nbib")
    first = ImportOutcome.objects.get(job=job, index=0)
    assert first.key == "30776994" and first.line == 1 and first.outcome == Outcome.CREATED
    s = first.study
    assert s.pmid == "30776994" and s.doi == "10.1161/strokeaha.118.021126" and s.venue.name == "Stroke"
    assert s.authorships.count() >= 60 and "Brain Ischemia" in s.keywords and s.language == "en"
    assert s.source_key == "30776994" and s.source_entry.startswith("PMID- 30776994")
    assert s.provenance == "medline"


def test_a_medline_export_named_txt_and_an_explicit_format():
    job = factories.import_file(data("biopython_pubmed_result2.txt"), name="pubmed_result.txt")
    assert job.format == "medline" and job.counts["created"] == 4
    # told it is RIS, the MEDLINE text holds no RIS record: the job says so and writes nothing
    wrong = factories.import_file(data("biopython_pubmed_result2.txt"), name="x.txt", format="ris")
    assert wrong.status == JobStatus.FAILED and "no RIS records found" in wrong.error


def test_the_same_article_from_medline_and_ris_is_merged_not_created_twice():
    medline = ("PMID- 21553931\nTI  - Boswellia serrata: an overall assessment of in vitro, preclinical,\n"
               "      pharmacokinetic and clinical data.\nDP  - 2011 Jun\nPG  - 349-69\nVI  - 50\n"
               "FAU - Abdel-Tawab, Mona\nAU  - Abdel-Tawab M\nTA  - Clin Pharmacokinet\n")
    first = factories.import_file(medline, name="one.nbib")
    assert first.counts == {**first.counts, "created": 1}
    job = factories.import_file(data("asreview_pubmed_endnote.txt"), name="endnote.txt")
    merged = ImportOutcome.objects.get(job=job, index=0)
    assert merged.outcome == Outcome.MERGED and merged.rule == "pmid"
    assert Study.objects.filter(pmid="21553931").count() == 1
    assert Study.objects.get(pmid="21553931").doi == "10.2165/11586800-000000000-00000"  # filled in


def test_dry_run_retry_and_undo_of_a_ris_import(curator):
    text = ("TY  - JOUR\nTI  - Housing first in Tromsø\nAU  - Hansen, Per\nPY  - 2020\nDO  - 10.5555/hf\nER  - \n"
            "TI  - A record without its type\nAU  - Berg, Ola\nER  - \n")
    trial = factories.import_file(text, name="a.ris", dry_run=True)
    assert trial.counts["created"] == 1 and trial.counts["failed"] == 1 and not Study.objects.exists()
    job = factories.import_file(text, name="a.ris", user=curator)
    failed = ImportOutcome.objects.get(job=job, outcome=Outcome.FAILED)
    assert failed.index == 1 and failed.line == 7 and "no 'TY  - ' line" in failed.message
    fixed = services.retry_outcome(curator, failed, "TY  - RPRT\nTI  - A record with its type\nAU  - Berg, Ola\n"
                                                    "PY  - 2021\nER  - \n")
    assert fixed.outcome == Outcome.CREATED and fixed.study.study_type == "report" and fixed.line == 7
    services.undo_job(curator, ImportJob.objects.get(pk=job.pk))
    assert not Study.objects.exists()


def test_several_bibtex_files_are_one_job_with_strings_across_them(curator_client):
    strings = SimpleUploadedFile("strings.bib", b"@string{jn = {Nordic Journal of Care}}\n")
    entries = SimpleUploadedFile("entries.bib", b"@article{a, title={Care at home}, journal=jn, year=2020}\n"
                                                b"@article{b, title={Broken, year=2021}\n"
                                                b"@article{c, title={Care at sea}, journal=jn, year=2021}\n")
    response = curator_client.post("/api/v1/imports/", {"file": [strings, entries]}, format="multipart")
    assert response.status_code == 202, response.content
    job = services.run_job(response.json()["id"])
    assert job.status == JobStatus.DONE and job.counts["created"] == 2 and job.counts["failed"] == 1
    assert list(ImportFile.objects.filter(job=job).values_list("position", "file_name")) == [
        (0, "strings.bib"), (1, "entries.bib")]
    assert Study.objects.get(title="Care at sea").venue.name == "Nordic Journal of Care"
    body = curator_client.get(f"/api/v1/imports/{job.pk}/").json()
    assert body["format"] == "bibtex" and [f["file_name"] for f in body["files"]] == ["strings.bib", "entries.bib"]
    report = curator_client.get(f"/api/v1/imports/{job.pk}/outcomes/").json()["results"]
    assert [(r["index"], r["file"], r["line"], r["outcome"]) for r in report] == [
        (0, "entries.bib", 1, "created"), (1, "entries.bib", 2, "failed"), (2, "entries.bib", 3, "created")]
    assert "Line 2:" in report[1]["message"]


def test_the_size_limit_applies_to_the_files_together(curator_client, settings):
    settings.KB_MAX_UPLOAD_BYTES = 120
    files = [SimpleUploadedFile(f"{i}.bib", b"@misc{a%d, title={%s}}\n" % (i, b"x" * 50)) for i in range(3)]
    response = curator_client.post("/api/v1/imports/", {"file": files}, format="multipart")
    assert response.status_code == 413 and "file" in response.json()
    assert not ImportJob.objects.exists()


def test_files_of_different_formats_are_refused_naming_the_field(curator_client):
    files = [SimpleUploadedFile("a.bib", b"@misc{a, title={A}}\n"), SimpleUploadedFile("b.ris", data("asreview_embase.ris"))]
    response = curator_client.post("/api/v1/imports/", {"file": files}, format="multipart")
    assert response.status_code == 400 and "format" in response.json()
    assert "a.bib: BibTeX" in response.json()["format"][0] and not ImportJob.objects.exists()
    bad = curator_client.post("/api/v1/imports/", {"file": files[:1], "format": "endnote"}, format="multipart")
    assert bad.status_code == 400 and "format" in bad.json()


def test_the_format_option_of_the_api(curator_client):
    f = SimpleUploadedFile("export.dat", data("pybtexnbib_marcelis-20301770.nbib"))
    response = curator_client.post("/api/v1/imports/", {"file": f, "format": "medline"}, format="multipart")
    job = services.run_job(response.json()["id"])
    assert job.format == "medline" and job.counts["created"] == 1
    assert Study.objects.get().study_type == "book_chapter"


@pytest.mark.django_db(transaction=True)
def test_several_files_resume_after_a_crash_without_duplicates(monkeypatch):
    monkeypatch.setattr("search.sync.schedule_drain", lambda: None)
    parts = [data("asreview_embase.ris"), data("asreview_web_of_science.txt"), data("asreview_scopus.ris")]
    job = services.create_job(None, [io.BytesIO(p) for p in parts], file_name=["e.ris", "w.txt", "s.ris"],
                              enqueue=False)
    real, calls = services.Importer.process_chunk, {"n": 0}

    def crash_on_third_chunk(self, entries, counts):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker killed")
        return real(self, entries, counts)

    monkeypatch.setattr(services.Importer, "process_chunk", crash_on_third_chunk)
    job = services.run_job(job.pk, chunk_size=5)
    assert job.status == JobStatus.FAILED and job.done == 6  # chunks end with each file: 5 + 1 of the first
    monkeypatch.setattr(services.Importer, "process_chunk", real)
    job = services.run_job(job.pk, chunk_size=5)
    assert job.status == JobStatus.DONE and factories.outcome_indexes(job) == list(range(22))
    positions = list(ImportOutcome.objects.filter(job=job).order_by("index").values_list("file_position", "line"))
    assert positions[0] == (0, 1) and positions[6] == (1, 1) and positions[16] == (2, 1)
    assert Study.objects.count() == job.counts["created"] == 22


def test_the_command_imports_several_files_and_names_them(tmp_path, capsys):
    a, b = tmp_path / "strings.bib", tmp_path / "refs.txt"
    a.write_bytes(b"@string{jn = {Journal}}\n")
    b.write_bytes(b"@article{x, title={With a macro}, journal=jn, year=2020}\n@article{y, title={Broken}\n")
    call_command("import_references", str(a), str(b))
    out = capsys.readouterr().out
    assert "BibTeX" in out and "failed #1 (refs.txt, line 2" in out
    assert Study.objects.get().venue.name == "Journal"
    call_command("import_bibtex", os.path.join(FORMATS_DIR, "asreview_embase.ris"), "--dry-run")
    assert "RIS" in capsys.readouterr().out and Study.objects.count() == 1


def test_the_reader_process_reads_several_ris_and_medline_files_the_same(monkeypatch):
    from apps.imports import pipeline, reader_process

    monkeypatch.setattr(pipeline, "PIPELINE_MIN_ENTRIES", 10**9)
    reports = []
    for child in (False, True):
        monkeypatch.setattr(reader_process, "SUBPROCESS_MIN_ENTRIES", 1 if child else 10**9)
        job = services.create_job(None, [io.BytesIO(data("asreview_embase.ris")), io.BytesIO(data("litstudy_example.ris"))],
                                  file_name=["e.ris", "l.ris"], enqueue=False, dry_run=True)
        job = services.run_job(job.pk, chunk_size=4)
        assert job.status == JobStatus.DONE and job.total == 31
        reports.append(list(ImportOutcome.objects.filter(job=job).order_by("index")
                            .values_list("index", "file_position", "line", "key", "outcome")))
    assert reports[0] == reports[1] and reports[0][6][1:3] == (1, 1)
