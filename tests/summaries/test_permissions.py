"""Permission matrix of the summary workflow actions and the version history."""

import pytest

from tests import factories

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "reader", "curator", "admin"]
DENIED = {"anonymous": 401, "reader": 403}
ACTIONS = {"submit": "draft", "approve": "in_review", "reject": "in_review", "archive": "published",
           "checked": "published"}


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("role", ROLES)
def test_workflow_actions(clients, action, role):
    summary = factories.summary(studies=[factories.study()], status=ACTIONS[action],
                                author=factories.user("curator"))
    response = clients[role].post(f"/api/v1/summaries/{summary.pk}/{action}/")
    assert response.status_code == DENIED.get(role, 200), response.content[:300]
    if role in DENIED:
        assert "detail" in response.json()
        summary.refresh_from_db()
        assert summary.status == ACTIONS[action]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("status,public", [("published", True), ("draft", False), ("archived", False)])
def test_versions(clients, role, status, public):
    summary = factories.summary(studies=[factories.study()], status=status)
    response = clients[role].get(f"/api/v1/summaries/{summary.pk}/versions/")
    assert response.status_code == (200 if public or role in ("curator", "admin") else 404)
    for method in ("post", "put", "delete"):
        denied = getattr(clients[role], method)(f"/api/v1/summaries/{summary.pk}/versions/")
        assert denied.status_code == {"anonymous": 401, "reader": 403}.get(role, 405)
