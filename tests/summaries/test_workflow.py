"""The summary workflow: draft -> in review -> published (by a reviewer who is not the author) -> archived."""

import pytest

from apps.summaries.models import Summary
from tests import factories
from tests.conftest import _client

pytestmark = pytest.mark.django_db


def _create(client, study, **extra):
    payload = {"studies": [study.pk], "audience": "practitioners", "language": "nb", "title": "Kort fortalt",
               "body": "Dette er en kort tekst. Den er lett å lese.", **extra}
    response = client.post("/api/v1/summaries/", payload, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def reviewer_client(db):
    return _client(factories.user("curator"))


def test_full_workflow_needs_a_second_curator(curator_client, reviewer_client, anon_client, curator):
    study = factories.study()
    body = _create(curator_client, study)
    sid = body["id"]
    assert body["status"] == "draft" and body["author"] == curator.username and body["version"] == 0
    assert anon_client.get(f"/api/v1/summaries/{sid}/").status_code == 404

    response = curator_client.post(f"/api/v1/summaries/{sid}/submit/")
    assert response.status_code == 200 and response.json()["status"] == "in_review"
    assert anon_client.get(f"/api/v1/summaries/{sid}/").status_code == 404

    refused = curator_client.post(f"/api/v1/summaries/{sid}/approve/")
    assert refused.status_code == 403
    assert refused.json()["code"] == "reviewer_is_author"
    assert "another curator" in refused.json()["detail"]
    assert Summary.objects.get(pk=sid).status == "in_review"

    approved = reviewer_client.post(f"/api/v1/summaries/{sid}/approve/")
    assert approved.status_code == 200
    data = approved.json()
    assert data["status"] == "published" and data["published_at"] and data["version"] == 1
    assert data["reviewer"] and data["reviewer"] != data["author"]
    assert anon_client.get(f"/api/v1/summaries/{sid}/").status_code == 200
    assert anon_client.get(f"/api/v1/studies/{study.pk}/").json()["has_summary"] is True

    archived = curator_client.post(f"/api/v1/summaries/{sid}/archive/")
    assert archived.status_code == 200 and archived.json()["status"] == "archived"
    assert anon_client.get(f"/api/v1/summaries/{sid}/").status_code == 404
    assert anon_client.get(f"/api/v1/studies/{study.pk}/").json()["has_summary"] is False
    assert curator_client.get(f"/api/v1/summaries/{sid}/").json()["published_at"]  # history kept


@pytest.mark.parametrize("method", ["patch", "put"])
def test_an_edit_cannot_publish(curator_client, method):
    study = factories.study()
    body = _create(curator_client, study)
    payload = {"studies": [study.pk], "audience": "practitioners", "language": "nb", "title": "T", "body": "B",
               "status": "published"}
    response = getattr(curator_client, method)(f"/api/v1/summaries/{body['id']}/", payload, format="json")
    assert response.status_code == 409  # well formed, but the workflow's state does not allow it
    assert "approve" in response.json()["status"][0]
    assert Summary.objects.get(pk=body["id"]).status == "draft"


def test_a_new_summary_cannot_start_published(curator_client):
    response = curator_client.post("/api/v1/summaries/", {
        "studies": [factories.study().pk], "audience": "researchers", "language": "en", "title": "Short",
        "body": "Text.", "status": "published"}, format="json")
    assert response.status_code == 409 and "status" in response.json()
    assert not Summary.objects.exists()


def test_same_status_in_an_edit_is_accepted(curator_client):
    body = _create(curator_client, factories.study())
    response = curator_client.patch(f"/api/v1/summaries/{body['id']}/", {"status": "draft", "title": "Ny tittel"},
                                    format="json")
    assert response.status_code == 200 and response.json()["title"] == "Ny tittel"


@pytest.mark.parametrize("action,status", [("approve", "draft"), ("reject", "draft"), ("submit", "in_review"),
                                           ("approve", "published"), ("archive", "archived")])
def test_transitions_out_of_order_are_refused_with_a_message(reviewer_client, action, status):
    summary = factories.summary(studies=[factories.study()], status=status, author=factories.user("curator"))
    response = reviewer_client.post(f"/api/v1/summaries/{summary.pk}/{action}/")
    assert response.status_code == 409
    assert status.replace("_", " ") in response.json()["detail"] or status in response.json()["detail"]
    summary.refresh_from_db()
    assert summary.status == status


def test_reject_sends_back_to_draft(curator_client, reviewer_client):
    body = _create(curator_client, factories.study())
    curator_client.post(f"/api/v1/summaries/{body['id']}/submit/")
    response = reviewer_client.post(f"/api/v1/summaries/{body['id']}/reject/")
    assert response.status_code == 200 and response.json()["status"] == "draft"


def test_readers_cannot_use_the_workflow(reader_client, anon_client):
    summary = factories.summary(studies=[factories.study()], status="in_review")
    assert anon_client.post(f"/api/v1/summaries/{summary.pk}/approve/").status_code == 401
    assert reader_client.post(f"/api/v1/summaries/{summary.pk}/approve/").status_code == 403
    summary.refresh_from_db()
    assert summary.status == "in_review"


def test_the_admin_cannot_bypass_the_rule(client, curator):
    from django.contrib.auth.models import Permission

    curator.user_permissions.add(*Permission.objects.filter(content_type__app_label="summaries"))
    client.force_login(curator)
    own = factories.summary(studies=[factories.study()], status="in_review", author=curator)
    others = factories.summary(studies=[factories.study()], status="in_review", author=factories.user("curator"))
    response = client.post("/admin/summaries/summary/", {"action": "approve", "_selected_action": [own.pk, others.pk]},
                           follow=True)
    assert response.status_code == 200
    own.refresh_from_db()
    others.refresh_from_db()
    assert own.status == "in_review"
    assert others.status == "published" and others.reviewer == curator and others.version == 1
    assert "another curator" in response.content.decode()


def test_a_draft_summary_does_not_make_has_summary_true_even_for_a_curator(curator_client):
    """``has_summary`` in a study means what the ``?has_summary=true`` filter selects: a published summary."""
    drafted = factories.study(title="Drafted only")
    factories.summary(studies=[drafted], status="draft")
    body = curator_client.get(f"/api/v1/studies/{drafted.pk}/").json()
    assert body["summaries"]  # the curator sees the draft
    assert body["has_summary"] is False
    listed = curator_client.get("/api/v1/studies/", {"has_summary": "true"}).json()["results"]
    assert drafted.pk not in [s["id"] for s in listed]
