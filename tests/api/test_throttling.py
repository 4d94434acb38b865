"""The anonymous rate limit keeps its counts in the cache; a cache that cannot be reached (the Redis of
CACHE_URL down) lets requests through instead of answering 500 (docs/operations.md, the smoke test)."""
import logging

import pytest
from rest_framework.throttling import AnonRateThrottle

from apps.common import throttling
from tests import factories

pytestmark = pytest.mark.django_db

#: Nothing listens on port 9 (discard): every cache call fails with a connection error at once.
UNREACHABLE = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                           "LOCATION": "redis://127.0.0.1:9/0",
                           "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}


@pytest.fixture
def cache_down(settings, monkeypatch):
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "2/minute"})
    monkeypatch.setattr(throttling, "_warned_at", None)
    settings.CACHES = UNREACHABLE
    from django.core.cache import cache

    with pytest.raises(throttling.CACHE_UNREACHABLE):  # the premise: the cache really fails
        cache.get("anything")


def test_anonymous_reads_answer_200_while_the_cache_is_unreachable(anon_client, cache_down, caplog):
    study = factories.study(status="published")
    with caplog.at_level(logging.WARNING, logger="apps.common.throttling"):
        codes = [anon_client.get("/api/v1/studies/").status_code for _ in range(3)]
        codes.append(anon_client.get(f"/api/v1/studies/{study.pk}/").status_code)
    assert codes == [200, 200, 200, 200]  # unthrottled, too: the rate is 2/minute
    warnings = [r for r in caplog.records if r.name == "apps.common.throttling"]
    assert len(warnings) == 1 and "cache is unreachable" in warnings[0].getMessage()


def test_the_warning_repeats_after_a_minute(anon_client, cache_down, caplog, monkeypatch):
    clock = iter([1000.0, 1030.0, 1061.0])
    monkeypatch.setattr(throttling.time, "monotonic", lambda: next(clock))
    with caplog.at_level(logging.WARNING, logger="apps.common.throttling"):
        for _ in range(3):
            assert anon_client.get("/api/v1/topics/").status_code == 200
    assert len([r for r in caplog.records if r.name == "apps.common.throttling"]) == 2


def test_the_throttle_in_use_is_the_one_that_fails_open():
    from rest_framework.settings import api_settings

    assert api_settings.DEFAULT_THROTTLE_CLASSES == [throttling.AnonRateThrottle]
