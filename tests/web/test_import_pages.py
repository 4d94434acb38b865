"""The curators' import pages through Django's test client: undo a job (refused with the edited studies
listed when someone changed them since) and retry a failed entry with corrected text."""

import re

import pytest

from apps.imports.models import ImportOutcome, Outcome
from apps.studies import services as study_services
from apps.studies.models import Study
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("search_backend", "media_root")]

BIB = ("@article{a, title={Integrated treatment for dual diagnosis}, author={Ødegård, Kari}, year={2019}, "
       "doi={10.1000/abc}}\n"
       "@article{b, title={Housing first in Norway}, author={Hansen, Per}, year={2020}}\n"
       "@article{c, title={Broken entry, author={Smith, J}, year={2018}\n")


@pytest.fixture
def job(db):
    return factories.import_file(BIB)


def text(response):
    return response.content.decode()


def test_anonymous_is_sent_to_sign_in_and_readers_cannot_undo(client, job):
    for path in (f"/curator/imports/{job.pk}/undo/", f"/curator/imports/{job.pk}/entries/2/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == f"/login/?next={path}"
    assert client.post(f"/curator/imports/{job.pk}/undo/").status_code == 302
    client.force_login(factories.user("reader"))
    assert client.get(f"/curator/imports/{job.pk}/undo/").status_code == 403
    assert client.post(f"/curator/imports/{job.pk}/undo/").status_code == 403
    assert client.post(f"/curator/imports/{job.pk}/entries/2/", {"text": "@article{c, title={X}, year={2018}}"}
                       ).status_code == 403
    job.refresh_from_db()
    assert job.status == "done" and Study.objects.count() == 2


def test_curator_undoes_an_import_after_confirming(client, job):
    client.force_login(factories.user("curator"))
    page = text(client.get(f"/curator/imports/{job.pk}/"))
    assert f'href="/curator/imports/{job.pk}/undo/"' in page  # the job page offers undo
    confirm = client.get(f"/curator/imports/{job.pk}/undo/")
    body = text(confirm)
    assert confirm.status_code == 200 and "2 studier den opprettet blir slettet" in body
    assert Study.objects.count() == 2  # looking at the confirmation changes nothing
    response = client.post(f"/curator/imports/{job.pk}/undo/", follow=True)
    assert response.redirect_chain[-1][0] == f"/curator/imports/{job.pk}/"
    body = text(response)
    assert "Importen er angret" in body and "Angret" in body
    assert not Study.objects.exists()
    assert f'href="/curator/imports/{job.pk}/undo/"' not in body  # an undone job offers no second undo
    again = client.post(f"/curator/imports/{job.pk}/undo/", follow=True)
    assert "kan ikke angres" in text(again)


def test_undo_is_refused_and_lists_the_studies_edited_since(client, job):
    curator = factories.user("curator")
    client.force_login(curator)
    edited = ImportOutcome.objects.get(job=job, key="b").study
    study_services.update_study(curator, edited, {"title": "Housing first in Norway (edited)"})
    confirm = text(client.get(f"/curator/imports/{job.pk}/undo/"))
    assert "Housing first in Norway (edited)" in confirm and "Ja, angre importen" not in confirm
    response = client.post(f"/curator/imports/{job.pk}/undo/")
    assert response.status_code == 409
    body = text(response)
    listed = re.search(r'<ul class="edited-list">(.*?)</ul>', body, re.S).group(1)
    assert f'href="/studies/{edited.pk}/"' in listed and "endret etter importen" in listed
    assert "Ingenting ble angret" in body
    job.refresh_from_db()
    assert job.status == "done" and Study.objects.count() == 2  # nothing changed


def test_retry_a_failed_entry_with_corrected_text(client, job):
    client.force_login(factories.user("curator"))
    failed = ImportOutcome.objects.get(job=job, outcome=Outcome.FAILED)
    report = text(client.get(f"/curator/imports/{job.pk}/", {"outcome": "failed"}))
    url = f"/curator/imports/{job.pk}/entries/{failed.index}/"
    assert f'href="{url}"' in report
    page = text(client.get(url))
    assert "@article{c, title={Broken entry" in page  # the raw text to correct, in the form

    wrong = client.post(url, {"text": "not bibtex at all"})
    assert wrong.status_code == 400 and "nøyaktig én" in text(wrong)
    failed.refresh_from_db()
    assert failed.outcome == "failed" and Study.objects.count() == 2

    response = client.post(url, {"text": "@article{c, title={Broken entry fixed}, author={Smith, J}, year={2018}}"},
                           follow=True)
    body = text(response)
    study = Study.objects.get(title="Broken entry fixed")
    assert "Resultat: Opprettet" in body and f'href="/studies/{study.pk}/"' in body
    failed.refresh_from_db()
    assert failed.outcome == "created" and failed.retries == 1
    job.refresh_from_db()
    assert job.counts["failed"] == 0 and job.counts["created"] == 3
    assert "<textarea" not in body  # no longer failed: nothing to retry


def test_the_report_speaks_the_page_s_language(client, job):
    client.force_login(factories.user("curator"))
    created = ImportOutcome.objects.get(job=job, index=0).study_id
    norsk = text(client.get(f"/curator/imports/{job.pk}/"))
    assert f"Opprettet studie {created}." in norsk and f"Created study {created}." not in norsk
    assert "unbalanced braces" in norsk  # a failure keeps the reader's own explanation
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = text(client.get(f"/curator/imports/{job.pk}/"))
    assert f"Created study {created}." in english


def test_a_curator_uploads_several_files_as_one_import(client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.imports.models import ImportJob

    client.force_login(factories.user("curator"))
    page = text(client.get("/curator/imports/"))
    assert 'type="file" name="file" id="id_file" multiple' in page and 'name="format"' in page
    assert "BibTeX-, RIS- eller MEDLINE-filer" in page and "Velg flere filer" in page  # Norwegian by default
    files = [SimpleUploadedFile("strings.bib", b"@string{jn = {Nordic Journal of Care}}\n"),
             SimpleUploadedFile("refs.bib", b"@article{a, title={Care at home}, journal=jn, year=2020}\n"
                                            b"@article{b, title={Broken, year=2021}\n")]
    response = client.post("/curator/imports/", {"file": files, "policy": "fill", "format": ""}, follow=True)
    job = ImportJob.objects.get()
    assert response.status_code == 200 and list(job.files.values_list("file_name", flat=True)) == ["strings.bib",
                                                                                                    "refs.bib"]
    from apps.imports import services

    services.run_job(job.pk)  # the worker's part (enqueued after commit)
    assert Study.objects.get().venue.name == "Nordic Journal of Care"
    assert "refs.bib, 2" in text(client.get(f"/curator/imports/{job.pk}/"))


def test_the_upload_page_refuses_files_of_two_formats_naming_them(client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(factories.user("curator"))
    files = [SimpleUploadedFile("a.bib", b"@misc{a, title={A}}\n"),
             SimpleUploadedFile("b.ris", b"TY  - JOUR\nTI  - B\nER  - \n")]
    response = client.post("/curator/imports/", {"file": files, "policy": "fill"})
    assert response.status_code == 200 and "a.bib: BibTeX, b.ris: RIS" in text(response)


def test_a_failed_ris_record_is_corrected_as_ris_on_its_page(client):
    from apps.imports.models import ImportOutcome, Outcome

    client.force_login(factories.user("curator"))
    job = factories.import_file(b"TY  - JOUR\nTI  - Fine\nPY  - 2020\nER  - \nTI  - No type\nER  - \n", name="a.ris")
    failed = ImportOutcome.objects.get(job=job, outcome=Outcome.FAILED)
    url = f"/curator/imports/{job.pk}/entries/{failed.index}/"
    assert "Posten i RIS" in text(client.get(url))
    assert "Skriv nøyaktig én fullstendig post" in text(client.post(url, {"text": "no record here"}))
    client.post(url, {"text": "TY  - JOUR\nTI  - Now with a type\nPY  - 2021\nER  - \n"})
    assert ImportOutcome.objects.get(pk=failed.pk).outcome == Outcome.CREATED
    assert Study.objects.filter(title="Now with a type").exists()
