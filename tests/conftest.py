import os
from contextlib import contextmanager

import pytest
from rest_framework.test import APIClient

from tests import factories


@pytest.fixture(autouse=True)
def _no_throttle(monkeypatch):
    """Throttling has its own test; elsewhere it would make results depend on test order."""
    from django.core.cache import cache
    from rest_framework.throttling import AnonRateThrottle

    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "100000/minute"})
    cache.clear()


def _client(user=None):
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
    return client


@pytest.fixture
def anon_client():
    return _client()


@pytest.fixture
def reader(db):
    return factories.user("reader")


@pytest.fixture
def curator(db):
    return factories.user("curator")


@pytest.fixture
def admin_user(db):
    return factories.user("admin")


@pytest.fixture
def reader_client(reader):
    return _client(reader)


@pytest.fixture
def curator_client(curator):
    return _client(curator)


@pytest.fixture
def admin_client_api(admin_user):
    return _client(admin_user)


@pytest.fixture
def clients(anon_client, reader_client, curator_client, admin_client_api):
    return {"anonymous": anon_client, "reader": reader_client, "curator": curator_client,
            "admin": admin_client_api}


@pytest.fixture(params=["database", "elasticsearch"])
def backend(request, settings, db):
    """The search backend under test: each test using it runs on the database backend and on a real
    Elasticsearch (KB_TEST_ELASTICSEARCH_URL; a missing one fails under CI, skips elsewhere)."""
    from tests.search.conftest import drop_indices, use_backend

    b = use_backend(settings, request.param)
    yield b
    drop_indices(b)


@pytest.fixture(scope="session", autouse=True)
def _drop_the_sessions_indices():
    """When the session ends, the Elasticsearch indices it created under its prefix go: each test's own
    (dropped by its fixture already, unless it failed midway) and those the default backend made for tests
    that search without choosing a backend. Older indices under the prefix are not this session's: kept."""
    import time

    started_ms = int(time.time() * 1000) - 1000
    yield
    from tests.search.conftest import ES_URL, TEST_PREFIX

    if not ES_URL:
        return
    from search.backends.es_client import make_client

    try:
        client = make_client({"URL": ES_URL})
        rows = client.cat.indices(index=f"{TEST_PREFIX}-*", h="index,creation.date", format="json")
        ours = [row["index"] for row in rows if int(row["creation.date"]) >= started_ms]
        for start in range(0, len(ours), 40):  # (a request line holds at most 4 KB)
            client.indices.delete(index=",".join(ours[start:start + 40]), ignore_unavailable=True)
    except Exception:  # noqa: BLE001 - a cluster gone by now leaves nothing to tidy
        pass


@pytest.fixture(autouse=True)
def _fresh_vocabulary():
    """The search vocabulary is held in memory per process; a test's rows are rolled back after it."""
    from search import vocabulary

    vocabulary.reset()
    yield
    vocabulary.reset()


def pytest_collection_modifyitems(config, items):
    """Tests marked ``sqlite`` (the embedded default's own engine) are collected only where the test
    database is SQLite: the test command's second stage."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        return
    kept = [item for item in items if "sqlite" not in item.keywords]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if "sqlite" in item.keywords])
        items[:] = kept


@contextmanager
def celery_worker_over_redis():
    """A real Celery worker (solo pool, in a thread) on the Redis of KB_TEST_REDIS_URL for the block: tasks
    sent inside travel through the broker. A missing Redis fails under CI, skips elsewhere."""
    from celery.contrib.testing.worker import start_worker

    from kb.celery import app

    url = os.environ.get("KB_TEST_REDIS_URL")
    if not url:
        from tests.search.conftest import REQUIRED

        if REQUIRED:
            pytest.fail("Redis is not configured (KB_TEST_REDIS_URL)")
        pytest.skip("Redis is not configured (KB_TEST_REDIS_URL); under CI this fails instead")
    app.conf.update(broker_url=url, task_always_eager=False, result_backend=None)
    app._pool = app.amqp._producer_pool = None  # connections are made from the new broker URL
    try:
        with start_worker(app, perform_ping_check=False, pool="solo", shutdown_timeout=10):
            yield app
    finally:
        app.conf.update(broker_url=None, task_always_eager=True)
        app._pool = app.amqp._producer_pool = None
