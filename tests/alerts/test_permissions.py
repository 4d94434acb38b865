"""Permission matrix of saved searches (signed-in users, own only) and feeds."""

import pytest

from apps.alerts.models import SavedSearch
from tests import factories

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "reader", "curator", "admin"]
USERS = {"reader": "reader", "curator": "curator", "admin": "admin_user"}


@pytest.fixture
def own(request):
    def make(role):
        if role == "anonymous":
            return SavedSearch.objects.create(user=factories.user("reader"), name="someone's", params={})
        return SavedSearch.objects.create(user=request.getfixturevalue(USERS[role]), name="mine", params={})
    return make


@pytest.mark.parametrize("method", ["list", "retrieve", "create", "update", "partial_update", "destroy", "seen"])
@pytest.mark.parametrize("role", ROLES)
def test_saved_search_matrix(clients, own, role, method):
    client = clients[role]
    saved = own(role)
    base, detail = "/api/v1/saved-searches/", f"/api/v1/saved-searches/{saved.pk}/"
    payload = {"name": "Bolig", "params": {"q": "bolig"}}
    response = {
        "list": lambda: client.get(base),
        "retrieve": lambda: client.get(detail),
        "create": lambda: client.post(base, payload, format="json"),
        "update": lambda: client.put(detail, payload, format="json"),
        "partial_update": lambda: client.patch(detail, {"name": "x"}, format="json"),
        "destroy": lambda: client.delete(detail),
        "seen": lambda: client.post(f"{detail}seen/"),
    }[method]()
    expected = 401 if role == "anonymous" else {"create": 201, "destroy": 204}.get(method, 200)
    assert response.status_code == expected, response.content[:300]


@pytest.mark.parametrize("method", ["retrieve", "update", "partial_update", "destroy", "seen"])
@pytest.mark.parametrize("role", ["reader", "curator", "admin"])
def test_nobody_reaches_anothers_saved_search(clients, role, method):
    other = SavedSearch.objects.create(user=factories.user("reader"), name="not yours", params={"q": "x"})
    client = clients[role]
    detail = f"/api/v1/saved-searches/{other.pk}/"
    response = {
        "retrieve": lambda: client.get(detail),
        "update": lambda: client.put(detail, {"name": "mine now", "params": {}}, format="json"),
        "partial_update": lambda: client.patch(detail, {"name": "mine now"}, format="json"),
        "destroy": lambda: client.delete(detail),
        "seen": lambda: client.post(f"{detail}seen/"),
    }[method]()
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.name == "not yours"


@pytest.mark.parametrize("role", ROLES)
def test_feeds(clients, own, role):
    client = clients[role]
    assert client.get("/api/v1/search/feed.atom").status_code == 200
    saved = own(role)
    path = f"/api/v1/saved-searches/{saved.pk}/feed.atom"
    assert client.get(path).status_code == (401 if role == "anonymous" else 200)
    assert client.get(path, {"key": saved.feed_key}).status_code == 200
    for method in ("post", "put", "delete"):
        assert getattr(client, method)("/api/v1/search/feed.atom").status_code == 405
