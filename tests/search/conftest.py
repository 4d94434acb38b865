"""Search backends for tests: the database backend always, and a real Elasticsearch.

Elasticsearch comes from KB_TEST_ELASTICSEARCH_URL (the test command starts it). Under CI=true or
KB_REQUIRE_SERVICES=1 a missing Elasticsearch fails the run; it never skips silently there.
"""

import os
import uuid

import pytest
from django.conf import settings as django_settings

from search.backends import get_backend, reset_backend

ES_URL = os.environ.get("KB_TEST_ELASTICSEARCH_URL") or os.environ.get("ELASTICSEARCH_URL")
REQUIRED = os.environ.get("CI") == "true" or os.environ.get("KB_REQUIRE_SERVICES") == "1"
# test indices start with the session's own prefix, so sessions sharing one Elasticsearch can tell theirs apart
TEST_PREFIX = os.environ.get("ELASTICSEARCH_INDEX_PREFIX") or "kbtest"


def _require_es():
    if ES_URL:
        return ES_URL
    message = "Elasticsearch is not configured (KB_TEST_ELASTICSEARCH_URL); run the README's test command"
    if REQUIRED:
        pytest.fail(message)
    pytest.skip(message + " (under CI this fails instead)")


def use_backend(settings, name):
    """Point kb at one backend for this test; returns the backend (with its own ES index prefix)."""
    config = dict(django_settings.KB_SEARCH)
    if name == "elasticsearch":
        config["URL"] = _require_es()
        config["INDEX_PREFIX"] = f"{TEST_PREFIX}-{uuid.uuid4().hex[:10]}"
    else:
        config["URL"] = None
    settings.KB_SEARCH = config
    reset_backend()
    backend = get_backend()
    backend.setup()
    return backend


def drop_indices(backend):
    if backend.name == "elasticsearch":
        backend.client.indices.delete(index=f"{backend.prefix}-*", ignore_unavailable=True)
    reset_backend()


@pytest.fixture
def es_backend(settings, db):
    b = use_backend(settings, "elasticsearch")
    yield b
    drop_indices(b)


@pytest.fixture
def db_backend(settings, db):
    b = use_backend(settings, "database")
    yield b
    reset_backend()


def refresh(backend):
    if backend.name == "elasticsearch":
        backend.refresh()
