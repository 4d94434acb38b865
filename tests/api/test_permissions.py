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
    from django.http import HttpRequest

    # django-axes (sign-in lock-out) needs the request that signs in
    assert session_client.login(request=HttpRequest(), username=curator.username, password="a-Long-pass-phrase-9")
    assert session_client.get("/api/v1/me/").json()["is_curator"] is True


# --- BibTeX import and export (apps/imports): curators only, except the export (published for everyone) ---

IMPORT_TEXT = b"@article{a, title={Integrated treatment}, author={Hansen, Per}, year={2020}}\n"


def _import_job():
    return factories.import_file(IMPORT_TEXT)


def _review_item():
    from apps.imports.models import ReviewItem

    factories.study(title="Integrated treatment for patients with substance use and psychosis in Norway",
                    authors=("Hansen, Per",), year=2020)
    factories.import_file(b"@article{b, title={Integrated treatment of patients with substance use disorders and "
                          b"psychosis}, author={Hansen, Per}, year={2020}}\n")
    return ReviewItem.objects.get()


def _upload(client, ctx):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/api/v1/imports/", {"file": SimpleUploadedFile("refs.bib", IMPORT_TEXT)}, format="multipart")


IMPORT_CASES = {
    # name: (request, status for anonymous, reader, curator, admin)
    "imports-list": (lambda c, ctx: c.get("/api/v1/imports/"), 200),
    "imports-create": (_upload, 202),
    "imports-retrieve": (lambda c, ctx: c.get(f"/api/v1/imports/{_import_job().pk}/"), 200),
    "imports-outcomes": (lambda c, ctx: c.get(f"/api/v1/imports/{_import_job().pk}/outcomes/"), 200),
    "imports-retry": (lambda c, ctx: c.post(f"/api/v1/imports/{_import_job().pk}/outcomes/0/retry/",
                                            {"text": "@misc{x, title={X}}"}, format="json"), 409),
    "imports-undo": (lambda c, ctx: c.post(f"/api/v1/imports/{_import_job().pk}/undo/"), 200),
    "imports-resume": (lambda c, ctx: c.post(f"/api/v1/imports/{_import_job().pk}/resume/"), 409),
    "imports-update": (lambda c, ctx: c.put(f"/api/v1/imports/{_import_job().pk}/", {}, format="json"), 405),
    "imports-destroy": (lambda c, ctx: c.delete(f"/api/v1/imports/{_import_job().pk}/"), 405),
    "import-reviews-list": (lambda c, ctx: c.get("/api/v1/import-reviews/"), 200),
    "import-reviews-retrieve": (lambda c, ctx: c.get(f"/api/v1/import-reviews/{_review_item().pk}/"), 200),
    "import-reviews-resolve": (lambda c, ctx: c.post(f"/api/v1/import-reviews/{_review_item().pk}/resolve/",
                                                     {"decision": "create"}, format="json"), 200),
}
IMPORT_MATRIX = [(name, role) for name in IMPORT_CASES for role in ROLES]


@pytest.fixture
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.mark.parametrize("name,role", IMPORT_MATRIX, ids=[f"{n}-{r}" for n, r in IMPORT_MATRIX])
def test_import_permission_matrix(clients, ctx, _media_root, name, role):
    request, allowed = IMPORT_CASES[name]
    response = request(clients[role], ctx)
    expected = allowed if role in ("curator", "admin") else DENIED[role]
    assert response.status_code == expected, response.content[:300]
    if response.status_code >= 400:
        assert "detail" in response.json()


EXPORT_MATRIX = [(detail, draft, role) for detail in (False, True) for draft in (False, True) for role in ROLES]


@pytest.mark.parametrize("detail,draft,role", EXPORT_MATRIX,
                         ids=[f"{'one' if d else 'list'}-{'draft' if s else 'published'}-{r}" for d, s, r in EXPORT_MATRIX])
def test_export_permission_matrix(clients, detail, draft, role):
    study = factories.study(status="draft" if draft else "published", title="Exported study")
    url = f"/api/v1/studies/{study.pk}/export/" if detail else "/api/v1/studies/export/"
    response = clients[role].get(url + "?format=bibtex")
    sees = not draft or role in ("curator", "admin")
    if detail and not sees:
        assert response.status_code == 404
        return
    assert response.status_code == 200
    assert ("Exported study" in b"".join(response.streaming_content).decode()) is sees
    assert clients[role].post(url, {}, format="json").status_code == (405 if role in ("curator", "admin")
                                                                      else DENIED[role])
