"""Brute-force protection: after KB_LOGIN_FAILURE_LIMIT wrong passwords for one user name from one address,
the API token endpoint and the web sign-in answer 429 with a clear message (even to the right password)
until the lock-out ends or an administrator lifts it."""

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from tests import factories

pytestmark = pytest.mark.django_db
PASSWORD = "a-Long-pass-phrase-9"


def _token(client, username, password, address="10.0.0.1"):
    return client.post("/api/v1/auth/token/", {"username": username, "password": password}, format="json",
                       REMOTE_ADDR=address)


def test_wrong_passwords_answer_401_then_the_pair_is_locked_out_with_a_429(settings):
    user = factories.user("curator")
    client = APIClient()
    codes = [_token(client, user.username, "wrong").status_code for _ in range(settings.KB_LOGIN_FAILURE_LIMIT)]
    assert codes[:-1] == [401] * (settings.KB_LOGIN_FAILURE_LIMIT - 1)
    assert codes[-1] == 429
    locked = _token(client, user.username, PASSWORD)  # the right password does not help now
    assert locked.status_code == 429 and locked.json()["code"] == "locked_out"
    assert "Too many failed sign-in attempts" in locked.json()["detail"] and locked["Retry-After"]
    # Another address, or another user name, is not locked out.
    assert _token(client, user.username, PASSWORD, address="10.0.0.2").status_code == 200
    other = factories.user("reader")
    assert _token(client, other.username, PASSWORD).status_code == 200


def test_a_successful_sign_in_resets_the_count(settings):
    user = factories.user("reader")
    client = APIClient()
    for _ in range(settings.KB_LOGIN_FAILURE_LIMIT - 1):
        assert _token(client, user.username, "wrong").status_code == 401
    assert _token(client, user.username, PASSWORD).status_code == 200
    assert _token(client, user.username, "wrong").status_code == 401  # counting starts again


def test_missing_fields_are_a_400_naming_them():
    response = APIClient().post("/api/v1/auth/token/", {"username": "x"}, format="json")
    assert response.status_code == 400 and "password" in response.json()


def test_an_administrator_unlocks_in_the_admin_or_with_a_command(settings, client):
    user = factories.user("curator")
    api = APIClient()
    for _ in range(settings.KB_LOGIN_FAILURE_LIMIT):
        _token(api, user.username, "wrong")
    assert _token(api, user.username, PASSWORD).status_code == 429
    admin = factories.user("admin")
    client.force_login(admin)
    page = client.get("/admin/axes/accessattempt/")
    assert page.status_code == 200 and user.username in page.content.decode()
    call_command("axes_reset_username", user.username)
    assert _token(api, user.username, PASSWORD).status_code == 200


def test_the_web_sign_in_page_locks_out_too(settings, client):
    user = factories.user("curator")
    for _ in range(settings.KB_LOGIN_FAILURE_LIMIT - 1):
        response = client.post("/login/", {"username": user.username, "password": "wrong"}, REMOTE_ADDR="10.0.0.9")
        assert response.status_code == 200  # the page again, with "wrong user name or password"
    response = client.post("/login/", {"username": user.username, "password": PASSWORD}, REMOTE_ADDR="10.0.0.9")
    assert response.status_code == 302  # signed in: the count was below the limit
    client.logout()
    for _ in range(settings.KB_LOGIN_FAILURE_LIMIT):
        response = client.post("/login/", {"username": user.username, "password": "wrong"}, REMOTE_ADDR="10.0.0.9")
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    response = client.post("/login/", {"username": user.username, "password": PASSWORD}, REMOTE_ADDR="10.0.0.9")
    assert response.status_code == 429 and "_auth_user_id" not in client.session
