"""Permission matrix of the read-only knowledge endpoints: everyone reads, nobody writes."""

import pytest

from tests import factories

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "reader", "curator", "admin"]
ENDPOINTS = {
    "/api/v1/network/": {},
    "/api/v1/experts/": {"q": "treatment"},
    "/api/v1/evidence-map/": {"rows": "design", "cols": "year"},
}
WRITE_DENIED = {"anonymous": 401, "reader": 403, "curator": 405, "admin": 405}


@pytest.fixture
def data(db):
    person = factories.researcher()
    factories.study(authors=[person, factories.researcher()])


@pytest.mark.parametrize("path", list(ENDPOINTS))
@pytest.mark.parametrize("role", ROLES)
def test_read_only_for_everyone(clients, data, path, role):
    client = clients[role]
    assert client.get(path, ENDPOINTS[path]).status_code == 200
    for method in ("post", "put", "patch", "delete"):
        response = getattr(client, method)(path, {}, format="json")
        assert response.status_code == WRITE_DENIED[role], (method, response.content[:200])
        assert "detail" in response.json()


@pytest.mark.parametrize("role", ROLES)
def test_researcher_profile_is_public(clients, data, role):
    person = factories.researcher()
    body = clients[role].get(f"/api/v1/researchers/{person.pk}/").json()
    assert {"studies", "topics", "coauthors", "network"} <= set(body)
