"""DRF's anonymous rate limit, kept from taking reads down when its cache is unreachable.

The throttle keeps its counts in Django's cache, in production the Redis of ``CACHE_URL`` (often the
broker's). Without this class every anonymous API request answered 500 while that Redis was down
(found by the production smoke test, docs/operations.md). A rate limit is a protection, not a
condition of serving: while the cache cannot be reached requests are let through, unthrottled, and a
warning is logged at most once a minute.
"""

import logging
import time

from rest_framework import throttling

log = logging.getLogger(__name__)

try:
    from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeoutError
except ImportError:  # the embedded mode's local-memory cache cannot be unreachable
    CACHE_UNREACHABLE: tuple = (ConnectionError, TimeoutError)
else:  # Django's RedisCache raises redis-py's own errors, which are not the builtin ones
    CACHE_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)

WARN_EVERY = 60.0
_warned_at = None


def _warn(exc):
    global _warned_at
    now = time.monotonic()
    if _warned_at is None or now - _warned_at >= WARN_EVERY:
        _warned_at = now
        log.warning("throttling: the cache is unreachable (%s: %s); requests are not rate-limited until it "
                    "answers (this warning repeats at most once a minute)", type(exc).__name__, exc)


class AnonRateThrottle(throttling.AnonRateThrottle):
    """``rest_framework.throttling.AnonRateThrottle`` that lets a request through when the cache fails."""

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except CACHE_UNREACHABLE as exc:
            _warn(exc)
            return True
