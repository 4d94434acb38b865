"""The permission matrix: every endpoint x every method x anonymous, reader, curator, admin.

Readers are signed-in users without a role: they read what anonymous users read.
"""

import pytest

from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]

ROLES = ["anonymous", "reader", "curator", "admin"]
DENIED = {"anonymous": 401, "reader": 403}


def _study(ctx):
    return factories.study(topics=[ctx["topic"]])


ENDPOINTS = {
    "studies": {
        "make": _study,
        "create": lambda ctx: {"title": "A new study of FACT teams", "year": 2020, "type": "article",
                               "authors": [{"name": "Ødegård, Kari"}], "topics": [ctx["topic"].slug]},
        "update": lambda ctx: {"title": "A renamed study", "year": 2021},
        "writers": {"curator", "admin"},
    },
    "researchers": {
        "make": lambda ctx: factories.researcher(),
        "create": lambda ctx: {"given_name": "Per", "family_name": "Bråten"},
        "update": lambda ctx: {"given_name": "Pål", "family_name": "Bråten"},
        "writers": {"curator", "admin"},
    },
    "institutions": {
        "make": lambda ctx: factories.institution(),
        "create": lambda ctx: {"name_nb": "Universitetet i Oslo", "name_en": "University of Oslo"},
        "update": lambda ctx: {"name_nb": "Universitetet i Bergen", "name_en": "University of Bergen"},
        "writers": {"curator", "admin"},
    },
    "summaries": {
        "make": lambda ctx: factories.summary(studies=[factories.study()]),
        "create": lambda ctx: {"studies": [factories.study().pk], "audience": "practitioners", "language": "nb",
                               "title": "Kort om studien", "body": "Dette er en kort oppsummering."},
        "update": lambda ctx: {"studies": [factories.study().pk], "audience": "researchers", "language": "en",
                               "title": "In short", "body": "A summary."},
        "writers": {"curator", "admin"},
    },
    "topics": {
        "make": lambda ctx: factories.topic(),
        "create": lambda ctx: {"slug": "new-topic", "label_nb": "Nytt tema", "label_en": "New topic"},
        "update": lambda ctx: {"slug": "renamed-topic", "label_nb": "Nytt navn", "label_en": "New name"},
        "writers": {"curator", "admin"},
        "lookup": "slug",
    },
    "users": {
        "make": lambda ctx: factories.user("reader"),
        "create": lambda ctx: {"username": "newcurator", "is_curator": True},
        "update": lambda ctx: {"username": "renamed-user"},
        "writers": {"admin"},
        "readers": {"admin"},
    },
}

CASES = [(e, m, r) for e in ENDPOINTS for m in ["list", "retrieve", "create", "update", "partial_update",
                                                "destroy"] for r in ROLES]


@pytest.fixture
def ctx(db):
    return {"topic": factories.topic()}


def expected_status(spec, method, role):
    readers = spec.get("readers", set(ROLES))
    if method in ("list", "retrieve"):
        return 200 if role in readers else DENIED.get(role, 403)
    if role not in spec["writers"]:
        return DENIED.get(role, 403)
    return {"create": 201, "update": 200, "partial_update": 200, "destroy": 204}[method]


@pytest.mark.parametrize("endpoint,method,role", CASES, ids=[f"{e}-{m}-{r}" for e, m, r in CASES])
def test_permission_matrix(clients, ctx, endpoint, method, role):
    spec = ENDPOINTS[endpoint]
    client = clients[role]
    obj = spec["make"](ctx)
    base = f"/api/v1/{endpoint}/"
    detail = f"{base}{getattr(obj, spec.get('lookup', 'pk'))}/"
    if method == "list":
        response = client.get(base)
    elif method == "retrieve":
        response = client.get(detail)
    elif method == "create":
        response = client.post(base, spec["create"](ctx), format="json")
    elif method == "update":
        response = client.put(detail, spec["update"](ctx), format="json")
    elif method == "partial_update":
        response = client.patch(detail, spec["update"](ctx), format="json")
    else:
        response = client.delete(detail)
    assert response.status_code == expected_status(spec, method, role), response.content[:500]
    if response.status_code >= 400:
        assert "detail" in response.json()


@pytest.mark.parametrize("role,visible", [("anonymous", False), ("reader", False), ("curator", True),
                                          ("admin", True)])
def test_drafts_are_invisible_to_readers(clients, role, visible):
    draft = factories.study(status="draft", title="Unfinished draft")
    published = factories.study(title="Finished and published")
    draft_summary = factories.summary(studies=[published], status="draft", title="Draft summary")
    client = clients[role]
    assert client.get(f"/api/v1/studies/{draft.pk}/").status_code == (200 if visible else 404)
    assert client.get(f"/api/v1/summaries/{draft_summary.pk}/").status_code == (200 if visible else 404)
    titles = {s["title"] for s in client.get("/api/v1/studies/").json()["results"]}
    assert ("Unfinished draft" in titles) is visible
    assert "Finished and published" in titles
    summary_titles = {s["title"] for s in client.get("/api/v1/summaries/").json()["results"]}
    assert ("Draft summary" in summary_titles) is visible
    # a draft summary is not announced on its published study either
    listed = client.get(f"/api/v1/studies/{published.pk}/").json()["summaries"]
    assert bool(listed) is visible


def test_published_summary_of_draft_study_stays_hidden(anon_client):
    draft = factories.study(status="draft")
    s = factories.summary(studies=[draft], status="published")
    assert anon_client.get(f"/api/v1/summaries/{s.pk}/").status_code == 404


def test_email_is_shown_to_curators_only(anon_client, curator_client):
    r = factories.researcher(email="secret@example.org")
    assert "email" not in anon_client.get(f"/api/v1/researchers/{r.pk}/").json()
    assert curator_client.get(f"/api/v1/researchers/{r.pk}/").json()["email"] == "secret@example.org"


def test_anonymous_requests_are_throttled(anon_client, monkeypatch):
    from rest_framework.throttling import AnonRateThrottle

    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "3/minute"})
    codes = [anon_client.get("/api/v1/topics/").status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200]
    assert codes[3:] == [429, 429]


def test_token_and_session_authentication(curator):
    from rest_framework.test import APIClient

    token_client = APIClient()
    response = token_client.post("/api/v1/auth/token/", {"username": curator.username,
                                                         "password": "a-Long-pass-phrase-9"})
    assert response.status_code == 200
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert token_client.get("/api/v1/me/").json()["is_curator"] is True
    session_client = APIClient()
    assert session_client.login(username=curator.username, password="a-Long-pass-phrase-9")
    assert session_client.get("/api/v1/me/").json()["is_curator"] is True
