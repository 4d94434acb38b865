import pytest

from tests import factories

pytestmark = pytest.mark.django_db


def test_researcher_with_affiliations_and_orcid(curator_client, anon_client):
    inst = factories.institution()
    topic = factories.topic(slug="x-youth")
    response = curator_client.post("/api/v1/researchers/", {
        "given_name": "Kari", "family_name": "Ødegård", "orcid": "https://orcid.org/0000-0002-1825-0097",
        "member_since": "2016-03-01", "interests": ["x-youth"],
        "affiliations": [{"institution": inst.pk, "role": "researcher", "start_date": "2015-01-01"}],
    }, format="json")
    assert response.status_code == 201, response.json()
    body = anon_client.get(f"/api/v1/researchers/{response.json()['id']}/").json()
    assert body["orcid"] == "0000-0002-1825-0097"
    assert body["orcid_url"] == "https://orcid.org/0000-0002-1825-0097"
    assert body["is_member"] and body["interests"] == ["x-youth"]
    assert body["affiliations"][0]["institution"] == inst.pk and body["affiliations"][0]["current"]


@pytest.mark.parametrize("payload,field,status", [
    ({"given_name": "A", "family_name": "B", "orcid": "0000-0002-1825-0098"}, "orcid", 422),  # check digit
    ({"given_name": "A", "family_name": "B", "orcid": "0000-0002-1825"}, "orcid", 400),  # not the schema's shape
    ({"given_name": "A", "family_name": "B", "orcid": " 0000-0002-1825-0097"}, "orcid", 400),
    ({"given_name": 12, "family_name": "B"}, "given_name", 400),  # a number is not text
    ({"given_name": "A", "family_name": " " * 150 + "B"}, "family_name", 400),  # maxLength counts what is sent
    ({"given_name": "A", "family_name": "B", "interests": {}}, "interests", 400),
    ({"given_name": "A"}, "family_name", 400),
    ({"given_name": "A", "family_name": "B", "email": "nope"}, "email", 400),
    ({"given_name": "A", "family_name": "B",
      "affiliations": [{"institution": 999999}]}, "affiliations", 404),  # an id that names nothing
])
def test_researcher_validation(curator_client, payload, field, status):
    response = curator_client.post("/api/v1/researchers/", payload, format="json")
    assert response.status_code == status and field in response.json()


def test_researcher_filters(anon_client):
    trust = factories.institution(health_region="south-east")
    division = factories.institution(parent=trust)
    member = factories.researcher(institution=division, member_since="2015-01-01", family_name="Sæther")
    factories.researcher()
    ids = lambda **p: {r["id"] for r in anon_client.get("/api/v1/researchers/", p).json()["results"]}  # noqa: E731
    assert ids(member="true") == {member.pk}
    assert ids(institution=trust.pk) == {member.pk}
    assert ids(health_region="south-east") == {member.pk}
    assert ids(name="sæth") == {member.pk}


def test_hierarchies_cannot_cycle(curator_client):
    """A parent that would make a cycle is well formed; the tree as it stands refuses it: a 409 naming parent."""
    a = factories.institution()
    b = factories.institution(parent=a)
    response = curator_client.patch(f"/api/v1/institutions/{a.pk}/", {"parent": b.pk}, format="json")
    assert response.status_code == 409 and "parent" in response.json()
    factories.topic(slug="x-top")
    response = curator_client.patch("/api/v1/topics/x-top/", {"parent": "x-top"}, format="json")
    assert response.status_code == 409 and "parent" in response.json()


def test_topic_tree_and_protected_delete(curator_client, anon_client):
    parent = factories.topic(slug="x-services")
    factories.topic(slug="x-act", parent=parent)
    children = anon_client.get("/api/v1/topics/", {"parent": "x-services"}).json()
    assert [t["slug"] for t in children] == ["x-act"]
    response = curator_client.delete("/api/v1/topics/x-services/")
    assert response.status_code == 409 and "parent" in response.json()


def test_a_parent_is_a_slug_or_null_as_the_schema_says(curator_client):
    """DRF reads "" for a related field as null; the schema admits a slug or null, so "" is a 400 naming it."""
    factories.topic(slug="x-services")
    topic = {"slug": "x-new", "label_nb": "Ny", "label_en": "New"}
    response = curator_client.post("/api/v1/topics/", {**topic, "parent": ""}, format="json")
    assert response.status_code == 400 and "parent" in response.json()
    response = curator_client.post("/api/v1/institutions/", {"name_nb": "X", "parent": ""}, format="json")
    assert response.status_code == 400 and "parent" in response.json()
    assert curator_client.post("/api/v1/topics/", {**topic, "parent": None}, format="json").status_code == 201
    response = curator_client.patch("/api/v1/topics/x-new/", {"parent": "x-services"}, format="json")
    assert response.status_code == 200 and response.json()["parent"] == "x-services"


def test_seeded_topic_vocabulary_is_bilingual(anon_client):
    topics = anon_client.get("/api/v1/topics/").json()
    assert len(topics) >= 20
    assert all(t["label_nb"] and t["label_en"] for t in topics)
    assert any(t["parent"] for t in topics)


def test_summary_publication_sets_published_at(curator_client, anon_client):
    study = factories.study()
    response = curator_client.post("/api/v1/summaries/", {
        "studies": [study.pk], "audience": "users_relatives", "language": "nb", "title": "Kort fortalt",
        "body": "Hva studien fant.", "status": "draft"}, format="json")
    assert response.status_code == 201
    sid = response.json()["id"]
    assert anon_client.get(f"/api/v1/summaries/{sid}/").status_code == 404
    # Publication is a workflow step now: a direct status edit is refused, another curator approves.
    response = curator_client.patch(f"/api/v1/summaries/{sid}/", {"status": "published"}, format="json")
    assert response.status_code == 409 and "status" in response.json()
    assert curator_client.post(f"/api/v1/summaries/{sid}/submit/").status_code == 200
    from tests.conftest import _client

    response = _client(factories.user("curator")).post(f"/api/v1/summaries/{sid}/approve/")
    assert response.status_code == 200 and response.json()["status"] == "published"
    assert response.json()["published_at"]
    assert anon_client.get(f"/api/v1/summaries/{sid}/").status_code == 200
    assert anon_client.get(f"/api/v1/studies/{study.pk}/").json()["has_summary"] is True


def test_summary_validation(curator_client):
    response = curator_client.post("/api/v1/summaries/", {"studies": [], "audience": "everyone",
                                                          "language": "de", "title": " ", "body": ""},
                                   format="json")
    assert response.status_code == 400
    assert {"studies", "audience", "language", "title", "body"} <= set(response.json())


def test_admin_manages_users_and_roles(admin_client_api):
    response = admin_client_api.post("/api/v1/users/", {"username": "newcurator", "is_curator": True,
                                                        "password": "a-Long-pass-phrase-9"}, format="json")
    assert response.status_code == 201 and response.json()["is_curator"] is True
    from rest_framework.test import APIClient

    client = APIClient()
    token = client.post("/api/v1/auth/token/", {"username": "newcurator",
                                                "password": "a-Long-pass-phrase-9"}).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.post("/api/v1/topics/", {"slug": "x", "label_nb": "x", "label_en": "x"}).status_code == 201
    response = admin_client_api.post("/api/v1/users/", {"username": "weak", "password": "123"}, format="json")
    assert response.status_code == 400 and "password" in response.json()
