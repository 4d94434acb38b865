"""The import API: upload (202 + the job's URL, run after commit), progress and report, retry of a
failed entry, undo (409 when studies were edited since), the review queue, the audit log."""
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.audit.models import AuditEntry
from apps.imports.models import ImportJob, ImportOutcome, Outcome, ReviewItem
from apps.studies.models import Study
from search.models import PendingIndex
from tests import factories

pytestmark = pytest.mark.django_db

GOOD = ("@article{a, title={Integrated treatment for dual diagnosis}, author={Ødegård, Kari}, year={2019}, "
        "doi={10.1000/abc}}\n"
        "@article{b, title={Housing first in Norway}, author={Hansen, Per}, year={2020}}\n"
        "@article{c, title={Broken entry, author={Smith, J}, year={2018}\n")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def upload(client, text=GOOD, name="refs.bib", **data):
    f = SimpleUploadedFile(name, text.encode("utf-8") if isinstance(text, str) else text,
                           content_type="application/x-bibtex")
    return client.post("/api/v1/imports/", {"file": f, **data}, format="multipart")


def test_upload_answers_202_and_the_worker_runs_after_commit(curator_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = upload(curator_client)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["url"].endswith(f"/api/v1/imports/{body['id']}/")
    assert response["Location"] == body["url"]
    assert len(callbacks) >= 1  # enqueued after commit, never inside the request's transaction
    job = curator_client.get(body["url"]).json()
    assert job["status"] == "done"
    assert job["progress"] == {"done": 3, "total": 3, "percent": 100.0}
    assert job["counts"]["created"] == 2 and job["counts"]["failed"] == 1 and job["counts"]["total"] == 3
    assert job["checksum"] and job["file_name"] == "refs.bib" and job["uploaded_by"]
    report = curator_client.get(job["outcomes_url"]).json()
    assert report["count"] == 3 and [o["index"] for o in report["results"]] == [0, 1, 2]
    failed = curator_client.get(job["outcomes_url"] + "?outcome=failed").json()["results"]
    assert len(failed) == 1 and failed[0]["line"] == 3 and failed[0]["raw"].startswith("@article{c")
    assert "brace" in failed[0]["message"]


def test_the_job_waits_for_commit(curator_client):
    response = upload(curator_client)  # no commit inside the test transaction: nothing ran
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert job.status == "queued" and not Study.objects.exists()
    assert job.file.read().decode() == GOOD


def test_dry_run_and_policy_options(curator_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(curator_client, dry_run="true", policy="overwrite")
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert job.dry_run and job.policy == "overwrite" and job.status == "done"
    assert job.counts["created"] == 2 and not Study.objects.exists()


@pytest.mark.parametrize("data,field", [({"policy": "merge-all"}, "policy"), ({"dry_run": "maybe"}, "dry_run"),
                                        ({"dry_run": "0"}, "dry_run"), ({"dry_run": "yes"}, "dry_run")])
def test_bad_options_name_the_field(curator_client, data, field):
    response = upload(curator_client, **data)
    assert response.status_code == 400 and field in response.json()


def test_missing_or_empty_file_names_the_field(curator_client):
    assert "file" in curator_client.post("/api/v1/imports/", {}, format="multipart").json()
    response = upload(curator_client, text=b"")
    assert response.status_code == 400 and "file" in response.json()


def multipart(*parts, boundary="kb-test-boundary"):
    """A multipart body of (name, filename or None, content or None) parts, each as sent: None for the content is
    a part that ends after its header lines, the way werkzeug's encoder (the in-suite schemathesis run's
    transport, Flask's test client) writes an empty file or value."""
    body = b""
    for name, filename, content in parts:
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'.encode()
        body += f'; filename="{filename}"\r\nContent-Type: application/octet-stream'.encode() if filename else b""
        body += b"\r\n" + (b"" if content is None else b"\r\n" + content) + b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def post_raw(client, body_and_type):
    body, content_type = body_and_type
    return client.generic("POST", "/api/v1/imports/", body, content_type=content_type)


ENTRY = b"@misc{m, title={Peer support in outpatient care}, year={2021}}\r\n"


@pytest.mark.parametrize("sent_as", ["empty bodies (DRF's client)", "header lines only (werkzeug)"])
def test_empty_file_parts_among_several_are_refused_by_their_number(curator_client, sent_as):
    # 21 parts (one more than the limit), every other one empty: the in-suite schemathesis run's request. Django's
    # parser used to drop a part without a body, so 11 good files were imported.
    if sent_as.startswith("empty"):
        files = [SimpleUploadedFile(f"f{i}.bib", b"" if i % 2 else ENTRY) for i in range(21)]
        response = curator_client.post("/api/v1/imports/", {"file": files}, format="multipart")
    else:
        response = post_raw(curator_client, multipart(*[("file", "file", None if i % 2 else ENTRY) for i in range(21)]))
    assert response.status_code == 400, response.content
    errors = response.json()["file"]
    assert sorted(errors, key=int) == [str(i) for i in range(1, 21, 2)]  # the numbers of the empty parts, from 0
    assert "empty" in errors["1"][0]
    assert not ImportJob.objects.exists()


def test_one_empty_part_between_two_files_is_named(curator_client):
    response = post_raw(curator_client, multipart(("file", "a.bib", ENTRY), ("file", "file", None),
                                                  ("file", "b.bib", ENTRY)))
    assert response.status_code == 400 and list(response.json()["file"]) == ["1"]
    assert not ImportJob.objects.exists()


def test_more_files_than_the_limit_are_refused(curator_client):
    response = post_raw(curator_client, multipart(*[("file", f"f{i}.bib", ENTRY) for i in range(21)]))
    assert response.status_code == 400 and "20" in response.json()["file"][0]
    assert not ImportJob.objects.exists()


def test_a_value_sent_as_header_lines_only_is_the_empty_value(curator_client):
    # an empty option is "not given" (format: found from the content), as in any form; an empty `file` value is no file
    accepted = post_raw(curator_client, multipart(("file", "a.bib", ENTRY), ("file", "b.bib", ENTRY),
                                                  ("format", None, None)))
    assert accepted.status_code == 202, accepted.content
    job = ImportJob.objects.get(pk=accepted.json()["id"])
    assert [f.file_name for f in job.files.order_by("position")] == ["a.bib", "b.bib"]
    refused = post_raw(curator_client, multipart(("file", "a.bib", ENTRY), ("file", None, None)))
    assert refused.status_code == 400 and "not a file" in str(refused.json()["file"])
    assert ImportJob.objects.count() == 1


@pytest.mark.parametrize("read_size", [1, 2, 3, 7, 64, 65536])
def test_a_body_is_read_the_same_however_it_arrives_in_pieces(read_size):
    from apps.common.parsers import BodilessPartsFilled

    body, _ = multipart(("file", "a.bib", ENTRY * 50), ("file", "file", None), ("format", None, None),
                        ("file", "b.bib", ENTRY + b"\r\n"), ("dry_run", None, b"true"))
    stream = BodilessPartsFilled(io.BytesIO(body), b"kb-test-boundary", chunk_size=read_size)
    pieces = iter(lambda: stream.read(read_size), b"")
    expected, _ = multipart(("file", "a.bib", ENTRY * 50), ("file", "file", b""), ("format", None, b""),
                            ("file", "b.bib", ENTRY + b"\r\n"), ("dry_run", None, b"true"))
    assert b"".join(pieces) == expected


def test_upload_size_limit(curator_client, settings):
    settings.KB_MAX_UPLOAD_BYTES = 100
    response = upload(curator_client, text="@misc{a, title={" + "x" * 200 + "}}")
    assert response.status_code == 413
    assert "file" in response.json() and "limit" in response.json()["detail"]
    assert not ImportJob.objects.exists()


def test_a_huge_upload_is_refused_before_the_body_is_read(curator_client, settings):
    settings.KB_MAX_UPLOAD_BYTES = 1000
    response = curator_client.generic("POST", "/api/v1/imports/", b"x" * 10,
                                      content_type="multipart/form-data; boundary=xyz",
                                      CONTENT_LENGTH=str(100 * 1024 * 1024))
    assert response.status_code == 413 and "file" in response.json()


def test_retry_a_failed_entry_with_corrected_text(curator_client):
    job = factories.import_file(GOOD, user=None)
    failed = ImportOutcome.objects.get(job=job, outcome=Outcome.FAILED)
    url = f"/api/v1/imports/{job.pk}/outcomes/{failed.index}/retry/"
    assert curator_client.post(url, {"text": "not bibtex"}, format="json").status_code == 400
    response = curator_client.post(url, {"text": "@article{c, title={Broken entry fixed}, author={Smith, J}, "
                                                 "year={2018}}"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["outcome"] == "created" and body["retries"] == 1 and body["study"]
    assert Study.objects.get(pk=body["study"]).title == "Broken entry fixed"
    job.refresh_from_db()
    assert job.counts["failed"] == 0 and job.counts["created"] == 3
    # only failed entries can be retried
    again = curator_client.post(url, {"text": "@article{c, title={X}, year={2018}}"}, format="json")
    assert again.status_code == 409


def test_undo_removes_created_and_restores_changed(curator_client):
    kept = factories.study(doi="10.1000/abc", title="Integrated treatment for dual diagnosis", abstract="",
                           volume="")
    job = factories.import_file(GOOD.replace("doi={10.1000/abc}", "doi={10.1000/abc}, volume={9}"))
    kept.refresh_from_db()
    assert kept.volume == "9" and Study.objects.count() == 2
    response = curator_client.post(f"/api/v1/imports/{job.pk}/undo/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "undone"
    kept.refresh_from_db()
    assert kept.volume == "" and list(Study.objects.all()) == [kept]
    assert curator_client.post(f"/api/v1/imports/{job.pk}/undo/").status_code == 409


def test_undo_removes_the_venues_the_job_created_unless_a_study_uses_them(curator_client):
    from apps.studies.models import Venue

    before = factories.venue(name="Nordic Journal of Psychiatry")
    text = ("@article{a, title={First study}, author={Ødegård, Kari}, year={2019}, journal={Nordic Journal of Psychiatry}}\n"
            "@article{b, title={Second study}, author={Hansen, Per}, year={2020}, journal={Journal Only In This File}}\n"
            "@article{c, title={Third study}, author={Lie, Ola}, year={2021}, journal={Journal Used Elsewhere Too}}\n")
    job = factories.import_file(text)
    assert job.counts["created"] == 3 and Venue.objects.count() == 3
    used_elsewhere = Venue.objects.get(name="Journal Used Elsewhere Too")
    other = factories.study(title="A study a curator entered meanwhile", venue=used_elsewhere)
    assert curator_client.post(f"/api/v1/imports/{job.pk}/undo/").status_code == 200
    # the venue kb had before stays; the one only the file's studies used is gone; the one a study
    # entered meanwhile uses stays
    assert set(Venue.objects.values_list("name", flat=True)) == {before.name, used_elsewhere.name}
    assert list(Study.objects.all()) == [other]


def test_a_venue_someone_else_creates_meanwhile_is_used_and_not_counted_as_the_jobs(curator_client, monkeypatch):
    from apps.imports import services
    from apps.studies.models import Venue

    from apps.imports.write import VenueCache

    real = VenueCache._create_venues

    def someone_else_first(new):
        Venue.objects.create(name="journal written meanwhile")  # same name but for the case
        return real(new)

    monkeypatch.setattr(VenueCache, "_create_venues", staticmethod(someone_else_first))
    text = ("@article{a, title={First study}, author={Lie, Ola}, year={2019}, journal={Journal Written Meanwhile}}\n"
            "@article{b, title={Second study}, author={Berg, Ida}, year={2020}, journal={Journal Of This Job}}\n")
    job = factories.import_file(text)
    meanwhile, ours = Venue.objects.get(name="journal written meanwhile"), Venue.objects.get(name="Journal Of This Job")
    assert Study.objects.get(source_key="a").venue == meanwhile and Study.objects.get(source_key="b").venue == ours
    job.refresh_from_db()
    assert job.created_venues == [ours.pk]
    assert curator_client.post(f"/api/v1/imports/{job.pk}/undo/").status_code == 200
    assert list(Venue.objects.values_list("name", flat=True)) == [meanwhile.name]


def test_every_study_keeps_its_venue_when_the_venue_cache_is_emptied(monkeypatch):
    from apps.imports import services

    from apps.imports.write import VenueCache

    monkeypatch.setattr(VenueCache, "MAX", 1)
    titles = ["Housing first", "Peer support in prisons", "Stigma among nurses", "Opioid overdose deaths"]
    text = "".join(f"@article{{s{i}, title={{{t}}}, author={{Lie, Ola}}, year={{2019}}, journal={{{j}}}}}\n"
                   for i, (t, j) in enumerate(zip(titles, ["Journal A", "Journal B", "Journal A", "Journal C"])))
    job = factories.import_file(text, run=False)
    job = services.run_job(job.pk, chunk_size=2)  # the second chunk finds the cache over its size
    assert job.counts["created"] == 4
    assert dict(Study.objects.values_list("source_key", "venue__name")) == {
        "s0": "Journal A", "s1": "Journal B", "s2": "Journal A", "s3": "Journal C"}


def test_undo_is_refused_when_a_study_was_edited_since(curator_client):
    job = factories.import_file(GOOD)
    created = ImportOutcome.objects.filter(job=job, outcome=Outcome.CREATED).first().study
    curator_client.patch(f"/api/v1/studies/{created.pk}/", {"title": "Edited by a curator"}, format="json")
    response = curator_client.post(f"/api/v1/imports/{job.pk}/undo/")
    assert response.status_code == 409
    body = response.json()
    assert [s["id"] for s in body["edited_studies"]] == [created.pk] and "detail" in body
    assert body["edited_studies"][0]["reasons"] == ["changed"]
    assert body["edited_studies"][0]["why"] == "changed since the import"
    assert Study.objects.count() == 2  # nothing undone


def test_review_queue_resolve_merge_and_create(curator_client):
    study = factories.study(title="Integrated treatment for patients with substance use and psychosis in Norway",
                            authors=("Ødegård, Kari",), year=2015, abstract="")
    text = ("@article{a, title={Integrated treatment of patients with substance use disorders and psychosis}, "
            "author={Ødegård, Kari}, year={2015}, abstract={An abstract.}}\n"
            "@article{b, title={Integrated treatment for patients with substance abuse and psychosis}, "
            "author={Ødegård, Kari}, year={2015}, pages={1--2}}\n")
    job = factories.import_file(text)
    assert job.counts["review"] == 2
    listing = curator_client.get("/api/v1/import-reviews/?status=open").json()
    assert listing["count"] == 2
    first, second = sorted(listing["results"], key=lambda r: r["entry"]["index"])
    assert first["candidate"]["id"] == study.pk and first["entry"]["title"].startswith("Integrated")
    merged = curator_client.post(f"/api/v1/import-reviews/{first['id']}/resolve/", {"decision": "merge"},
                                 format="json")
    assert merged.status_code == 200 and merged.json()["status"] == "merged"
    study.refresh_from_db()
    assert study.abstract == "An abstract."
    created = curator_client.post(f"/api/v1/import-reviews/{second['id']}/resolve/", {"decision": "create"},
                                  format="json")
    assert created.json()["status"] == "created" and Study.objects.count() == 2
    assert curator_client.post(f"/api/v1/import-reviews/{second['id']}/resolve/", {"decision": "create"},
                               format="json").status_code == 409
    job.refresh_from_db()
    assert job.counts["review"] == 0 and job.counts["merged"] == 1 and job.counts["created"] == 1
    assert not ReviewItem.objects.filter(status="open").exists()
    bad = curator_client.post(f"/api/v1/import-reviews/{first['id']}/resolve/", {"decision": "maybe"}, format="json")
    assert bad.status_code == 400 and "decision" in bad.json()


def test_imports_write_audit_entries_and_outbox_rows_in_bulk(curator):
    job = factories.import_file(GOOD, user=curator)
    created = list(ImportOutcome.objects.filter(job=job, outcome=Outcome.CREATED).values_list("study_id", flat=True))
    entries = AuditEntry.objects.filter(object_type="study", object_id__in=created)
    assert entries.count() == 2 and {e.action for e in entries} == {"import"}
    assert all(e.actor == curator and e.via == "bibtex:refs.bib" for e in entries)
    assert set(PendingIndex.objects.filter(kind="studies").values_list("object_id", flat=True)) >= set(created)


def test_resume_endpoint_runs_an_interrupted_job(curator_client, django_capture_on_commit_callbacks):
    job = factories.import_file(GOOD, run=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = curator_client.post(f"/api/v1/imports/{job.pk}/resume/")
    assert response.status_code == 202
    job.refresh_from_db()
    assert job.status == "done"
    assert curator_client.post(f"/api/v1/imports/{job.pk}/resume/").status_code == 409


def test_list_jobs(curator_client):
    factories.import_file(GOOD)
    factories.import_file(io.BytesIO(b"").getvalue() or "junk that is not bibtex", name="junk.txt")
    body = curator_client.get("/api/v1/imports/").json()
    assert body["count"] == 2
    statuses = {j["file_name"]: j["status"] for j in body["results"]}
    assert statuses == {"refs.bib": "done", "junk.txt": "failed"}
    assert curator_client.get("/api/v1/imports/?status=failed").json()["count"] == 1
