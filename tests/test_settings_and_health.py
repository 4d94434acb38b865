"""Configuration from the environment, production safety, and the health endpoint."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROD = {"KB_ENV": "production", "SECRET_KEY": "k7#Qz!v2Lr9@pW4mXc8^Ns1%Bt6&Hy3*Jd5(Fg0)Ae+Ru-Io=Pa_Sl~Zx", "ALLOWED_HOSTS": "kb.example.org",
        "DATABASE_URL": "postgres://kb:kb@127.0.0.1:5432/kb"}


def _manage(*args, **env):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("KB_", "DATABASE_URL", "SECRET_KEY",
                                                                         "ALLOWED_HOSTS", "ELASTICSEARCH",
                                                                         "DJANGO_"))}
    full_env.update(env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=full_env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"])
def test_production_without_a_required_value_fails_at_start(missing):
    env = {k: v for k, v in PROD.items() if k != missing}
    result = _manage("check", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and missing in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PROD)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
@pytest.mark.smoke
def test_health_reports_database_broker_and_search(client):
    response = client.get("/health/")
    body = response.json()
    assert set(body["checks"]) == {"database", "broker", "search"}
    assert body["checks"]["database"]["status"] == "ok"
    assert response.status_code == (200 if body["status"] == "ok" else 503)


@pytest.mark.django_db
def test_health_reports_a_broken_broker_as_degraded(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["status"] == "error"


@pytest.mark.parametrize("variable,entry", [("KB_OUTBOX_DRAIN_SECONDS", "search-drain-outbox"),
                                            ("KB_IMPORT_RECOVERY_SECONDS", "imports-requeue-stalled")])
@pytest.mark.parametrize("value,expected", [(None, "60.0"), ("7", "7.0"), ("0", "ImproperlyConfigured"),
                                            ("soon", "ImproperlyConfigured")])
def test_beat_intervals_come_from_the_environment(variable, entry, value, expected):
    env = {} if value is None else {variable: value}
    result = _manage("shell", "-c", "from django.conf import settings; "
                     f"print(settings.CELERY_BEAT_SCHEDULE[{entry!r}]['schedule'])",
                     **{"DATABASE_URL": "sqlite:///:memory:", **env})
    assert expected in result.stdout + result.stderr
    if expected == "ImproperlyConfigured":
        assert result.returncode != 0 and variable in result.stderr
