import pytest

from apps.summaries import services
from apps.summaries.readability import lix
from tests import factories
from tests.conftest import _client

pytestmark = pytest.mark.django_db


def _published(curator_client):
    author = factories.user("curator")
    study = factories.study()
    response = _client(author).post("/api/v1/summaries/", {
        "studies": [study.pk], "audience": "users_relatives", "language": "nb", "title": "Første versjon",
        "body": "Kort tekst. Lett å lese."}, format="json")
    sid = response.json()["id"]
    _client(author).post(f"/api/v1/summaries/{sid}/submit/")
    assert curator_client.post(f"/api/v1/summaries/{sid}/approve/").status_code == 200
    return sid, study


def test_editing_a_published_summary_makes_a_new_version_and_keeps_history(curator_client, anon_client):
    sid, study = _published(curator_client)
    response = curator_client.patch(f"/api/v1/summaries/{sid}/", {
        "title": "Andre versjon", "body": "Ny tekst med endringer.", "change_note": "Oppdatert etter ny studie"},
        format="json")
    assert response.status_code == 200
    assert response.json()["version"] == 2 and response.json()["status"] == "published"
    assert anon_client.get(f"/api/v1/summaries/{sid}/").json()["title"] == "Andre versjon"

    versions = anon_client.get(f"/api/v1/summaries/{sid}/versions/").json()
    assert [v["number"] for v in versions] == [2, 1]
    assert [v["current"] for v in versions] == [True, False]
    assert versions[1]["title"] == "Første versjon" and versions[1]["body"] == "Kort tekst. Lett å lese."
    assert versions[0]["change_note"] == "Oppdatert etter ny studie"
    assert versions[0]["created_by"] and versions[1]["reviewer"]


def test_an_edit_that_changes_no_content_makes_no_version(curator_client):
    sid, study = _published(curator_client)
    response = curator_client.patch(f"/api/v1/summaries/{sid}/", {"title": "Første versjon",
                                                                  "last_checked": "2025-01-02"}, format="json")
    assert response.status_code == 200 and response.json()["version"] == 1
    assert len(curator_client.get(f"/api/v1/summaries/{sid}/versions/").json()) == 1


def test_drafts_have_no_versions_and_hidden_versions_are_hidden(curator_client, anon_client):
    draft = factories.summary(studies=[factories.study()], status="draft")
    services.save_summary(None, {"title": "Endret utkast"}, draft)
    assert curator_client.get(f"/api/v1/summaries/{draft.pk}/versions/").json() == []
    assert anon_client.get(f"/api/v1/summaries/{draft.pk}/versions/").status_code == 404


@pytest.mark.parametrize("text,expected", [
    ("Dette er en kort tekst. Den er lett å lese.", 5.0),               # 10 words, 2 sentences, 0 long
    ("Samtidig ruslidelse og psykisk lidelse krever integrert behandling.", 8 + 100 * 6 / 8),
    ("Kartleggingsverktøy\nanbefales", 1 + 100),                       # line breaks end sentences
    ("", None),
])
def test_lix(text, expected):
    assert lix(text) == (round(expected, 1) if expected is not None else None)


def test_readability_is_stored_exposed_and_recomputed(curator_client):
    response = curator_client.post("/api/v1/summaries/", {
        "studies": [factories.study().pk], "audience": "users_relatives", "language": "nb", "title": "Lett",
        "body": "Dette er en kort tekst. Den er lett å lese."}, format="json")
    body = response.json()
    assert body["readability_lix"] == 5.0 and body["readability_level"] == "very_easy"
    response = curator_client.patch(f"/api/v1/summaries/{body['id']}/", {
        "body": "Samtidig ruslidelse og psykisk lidelse krever integrert behandling."}, format="json")
    assert response.json()["readability_lix"] == 83.0
    assert response.json()["readability_level"] == "very_difficult"
    easy = curator_client.get("/api/v1/summaries/", {"lix_max": 40}).json()["results"]
    assert body["id"] not in [s["id"] for s in easy]


def test_last_checked_is_editable_and_set_by_the_checked_action(curator_client):
    summary = factories.summary(studies=[factories.study()], needs_review=True, needs_review_reason="x")
    response = curator_client.patch(f"/api/v1/summaries/{summary.pk}/", {"last_checked": "2024-05-01"},
                                    format="json")
    assert response.json()["last_checked"] == "2024-05-01"
    response = curator_client.post(f"/api/v1/summaries/{summary.pk}/checked/")
    from django.utils import timezone

    assert response.json()["last_checked"] == timezone.localdate().isoformat()
    assert response.json()["needs_review"] is False and response.json()["needs_review_reason"] == ""
