"""Admin pages for import jobs (outcomes inline, read-only; upload form) and the review queue."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.imports.models import ImportJob, ReviewItem
from apps.studies.models import Study
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_job_pages_show_outcomes_read_only(admin_client):
    job = factories.import_file("@article{a, title={One}, year={2020}}\n@article{b, title={Broken, year={2020}\n")
    assert admin_client.get("/admin/imports/importjob/").status_code == 200
    page = admin_client.get(f"/admin/imports/importjob/{job.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Created study" in html
    assert "brace" in html.lower()  # the failed entry's reason
    assert admin_client.get(f"/admin/imports/importoutcome/?job__id__exact={job.pk}").status_code == 200
    # read-only: a POST to the change page changes nothing
    admin_client.post(f"/admin/imports/importjob/{job.pk}/change/", {"policy": "skip"})
    job.refresh_from_db()
    assert job.policy == "fill"


def test_upload_through_the_admin_queues_a_job(admin_client, django_capture_on_commit_callbacks):
    f = SimpleUploadedFile("refs.bib", b"@article{a, title={From the admin}, year={2021}}\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/imports/importjob/add/", {"file": f, "policy": "fill"})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.file_name == "refs.bib" and job.status == "done"
    assert Study.objects.filter(title="From the admin").exists()


def test_review_queue_actions(admin_client):
    study = factories.study(title="Integrated treatment for patients with substance use and psychosis in Norway",
                            authors=("Hansen, Per",), year=2020)
    factories.import_file("@article{b, title={Integrated treatment of patients with substance use disorders and "
                          "psychosis}, author={Hansen, Per}, year={2020}}\n")
    item = ReviewItem.objects.get()
    assert admin_client.get("/admin/imports/reviewitem/").status_code == 200
    assert admin_client.get(f"/admin/imports/reviewitem/{item.pk}/change/").status_code == 200
    admin_client.post("/admin/imports/reviewitem/", {"action": "merge", "_selected_action": [item.pk]})
    item.refresh_from_db()
    assert item.status == "merged" and item.outcome.study_id == study.pk
