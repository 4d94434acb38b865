"""The study changelist's publish and unpublish actions: one bulk job, refusals shown, large selections in
the background with a link to the job's progress."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from apps.audit.models import AuditEntry
from apps.studies.models import PublicationJob, Study
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def curator_admin(client, curator):
    client.force_login(curator)
    return client


def act(client, action, studies):
    return client.post("/admin/studies/study/", {"action": action, ACTION_CHECKBOX_NAME: [s.pk for s in studies]},
                       follow=True)


def test_curator_publishes_the_selection_in_one_job(curator_admin, curator):
    studies = [factories.study(status="draft") for _ in range(3)]
    bad = factories.study(status="draft", year=None, month=4, title="Undated monthly")
    response = act(curator_admin, "publish", studies + [bad])
    assert response.status_code == 200
    text = response.content.decode()
    assert "Published 3 studies" in text
    assert "1 studies could not be published" in text and "A month needs a year." in text
    assert Study.objects.filter(status="published").count() == 3
    assert Study.objects.get(pk=bad.pk).status == "draft"
    job = PublicationJob.objects.get()
    assert job.via == "admin" and job.requested_by == curator
    assert AuditEntry.objects.filter(action="publish", via="admin", actor=curator).count() == 3
    assert curator_admin.get(f"/admin/studies/publicationjob/{job.pk}/change/").status_code == 200

    response = act(curator_admin, "unpublish", studies[:2])
    assert "Unpublished 2 studies" in response.content.decode()
    assert Study.objects.filter(status="published").count() == 1


def test_a_large_selection_runs_in_the_background(curator_admin, settings, django_capture_on_commit_callbacks):
    settings.KB_PUBLISH_IN_REQUEST = 2
    studies = [factories.study(status="draft") for _ in range(4)]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:  # as if a worker had not started yet
        response = act(curator_admin, "publish", studies)
    job = PublicationJob.objects.get()
    assert "in the background" in response.content.decode()
    assert f"/admin/studies/publicationjob/{job.pk}/change/" in response.content.decode()
    assert job.status == "queued" and Study.objects.filter(status="draft").count() == 4
    for callback in callbacks:  # the worker
        callback()
    job.refresh_from_db()
    assert job.status == "done" and job.changed == 4


def test_readers_cannot_publish_through_the_admin(client, reader):
    study = factories.study(status="draft")
    client.force_login(reader)
    act(client, "publish", [study])
    assert Study.objects.get(pk=study.pk).status == "draft"
