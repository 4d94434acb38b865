"""A cache of anonymous read responses (web pages and API reads of published content).

Anonymous visitors all see the same published content, and most of a public site's traffic asks for a
few popular searches and studies again and again; rendering them again each time (a search with its
facet aggregations, hydration from the database, the template) is most of the server's work. This
middleware keeps the finished answer of the views in ``CACHED_VIEWS`` in Django's cache
(``CACHES["default"]``: the Redis of ``CACHE_URL`` in production, shared by every worker; local memory
in the embedded mode) for ``KB_PAGE_CACHE_SECONDS`` (0: off).

Correctness:

* *A change shows at once.* Keys carry a content *generation*, a random token kept in the same cache
  and replaced (``content_changed``) after every commit that records index work (``search.sync``:
  every change a public page can show marks the documents that show it: a study edited, published or
  unpublished, its authors, topics, summaries, a researcher renamed) and after every write to the
  search index (the drain, a rebuild, a reconcile, once the engine has made the write visible). A
  replaced generation makes every earlier entry unreachable; they expire by themselves. A response
  computed before a change and stored after it lands under the old generation, which no one reads.
  What no index work records (nothing kb shows to anonymous visitors, as far as we know) is at most
  ``KB_PAGE_CACHE_SECONDS`` old.
* *Anonymous only.* A request with an ``Authorization`` header, a signed-in session or a pending flash
  message is neither answered from nor stored in the cache, so a curator never sees an anonymous page
  (nor drafts leak to anonymous visitors: only anonymous answers are stored).
* *Varies on what changes the answer*: the absolute URL (scheme, host, path, query), the language the
  page is rendered in (the visitor's cookie or browser, resolved by the locale middlewares), and for
  the API the ``Accept`` header. Only 200 answers of JSON (API) or HTML (web) without cookies of their
  own are stored. The CSRF token of a page's forms (the language switch) is personal: it is stored as a
  placeholder and each visitor gets their own when the page is served.
* *Never a reason to fail.* While the cache cannot be reached, requests are answered uncached and a
  warning is logged at most once a minute; a generation that could not be replaced is replaced as soon
  as the cache answers again (by the process that owes it).
* The API's anonymous rate limit still counts answers served from the cache.

The response header ``X-KB-Cache`` says ``hit`` or ``miss`` (a cacheable request computed and stored).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils import translation

log = logging.getLogger(__name__)

#: Views whose anonymous GET answers are cached (URL names, namespaced as ``reverse`` takes them).
CACHED_VIEWS = frozenset({
    "web:home", "web:search", "web:study", "web:researcher", "web:network", "web:evidence-map", "web:experts",
    "v1:study-list", "v1:study-detail", "v1:study-related", "v1:search", "v1:search-suggest",
    "v1:researcher-list", "v1:researcher-detail", "v1:institution-list", "v1:institution-detail",
    "v1:summary-list", "v1:summary-detail", "v1:topic-list", "v1:topic-detail",
    "v1:network", "v1:experts", "v1:evidence-map",
})
GENERATION_KEY = "kb:page-generation"
HEADER = "X-KB-Cache"
#: Headers set per response by the middlewares around this one or recomputed when serving.
NOT_STORED = {"content-length", "set-cookie", HEADER.lower()}
CSRF_FIELD = re.compile(rb'(name="csrfmiddlewaretoken" value=")[^"]*(")')
CSRF_PLACEHOLDER = b"\x00kb-csrf-token\x00"
WARN_EVERY = 60.0

#: After a cache failure, this process answers uncached for a few seconds without trying the cache, so
#: an unreachable (not refusing) cache costs one request its socket timeout, not every request.
PAUSE_AFTER_FAILURE = 5.0

_warned_at = None
_paused_until = 0.0
_bump_owed = False  # a content change this process could not announce while the cache was unreachable


def _warn(doing, exc):
    global _warned_at, _paused_until
    now = time.monotonic()
    _paused_until = now + PAUSE_AFTER_FAILURE
    if _warned_at is None or now - _warned_at >= WARN_EVERY:
        _warned_at = now
        log.warning("page cache: could not %s (%s: %s); answering uncached until the cache answers (this "
                    "warning repeats at most once a minute)", doing, type(exc).__name__, exc)


def content_changed() -> None:
    """Make every cached answer stale: call after a change anonymous visitors may see is committed."""
    global _bump_owed
    try:
        cache.set(GENERATION_KEY, uuid.uuid4().hex[:16], None)
    except Exception as exc:  # noqa: BLE001 - any cache failure: remember, never fail the caller
        _bump_owed = True
        _warn("record a content change", exc)
    else:
        _bump_owed = False


def _generation():
    """The current generation, or None if the cache cannot be used now."""
    if _bump_owed:
        content_changed()
        if _bump_owed:
            return None
    try:
        generation = cache.get(GENERATION_KEY)
        if generation is None:  # first use, or the cache lost it (a restart, an eviction): start a new one
            generation = uuid.uuid4().hex[:16]
            if not cache.add(GENERATION_KEY, generation, None):
                generation = cache.get(GENERATION_KEY)
        return generation
    except Exception as exc:  # noqa: BLE001
        _warn("read the content generation", exc)
        return None


def remember(namespace, key, compute):
    """``compute()``, kept under the current generation for ``KB_PAGE_CACHE_SECONDS`` while the page cache
    is on. For answers every visitor shares, whoever asks (a search without drafts: the web page and the
    API, in every language, compute it once); never for what depends on the user. Fails open."""
    if not settings.KB_PAGE_CACHE_SECONDS or time.monotonic() < _paused_until:
        return compute()
    generation = _generation()
    if generation is None:
        return compute()
    full = f"kb:{namespace}:{generation}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"
    try:
        value = cache.get(full)
    except Exception as exc:  # noqa: BLE001
        _warn("read a shared answer", exc)
        return compute()
    if value is None:
        value = compute()
        try:
            cache.set(full, value, settings.KB_PAGE_CACHE_SECONDS)
        except Exception as exc:  # noqa: BLE001
            _warn("store a shared answer", exc)
    return value


def _anonymous(request):
    return ("HTTP_AUTHORIZATION" not in request.META and "messages" not in request.COOKIES
            and not request.user.is_authenticated)


def _is_api(request):
    return request.path_info.startswith("/api/")


def _key(request, generation):
    api = _is_api(request)
    parts = [request.build_absolute_uri(), translation.get_language() or "",
             request.headers.get("Accept", "")[:200] if api else ""]
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
    return f"kb:page:{generation}:{digest}"


def _throttle_allows(request):
    """The API's rate limits (settings) for an answer served without running the view."""
    from rest_framework.settings import api_settings

    return all(throttle().allow_request(request, None) for throttle in api_settings.DEFAULT_THROTTLE_CLASSES)


def _storable(request, response):
    if response.status_code != 200 or response.streaming or response.cookies:
        return False
    kind = response.get("Content-Type", "")
    return kind.startswith("application/json") if _is_api(request) else kind.startswith("text/html")


class AnonymousPageCacheMiddleware:
    """Serve and store anonymous GET answers of ``CACHED_VIEWS`` (see the module's documentation)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        key = getattr(request, "_kb_page_cache_key", None)
        if key is not None and _storable(request, response):
            content = CSRF_FIELD.sub(rb"\1" + CSRF_PLACEHOLDER + rb"\2", response.content)
            headers = [(k, v) for k, v in response.items() if k.lower() not in NOT_STORED]
            try:
                cache.set(key, (response.status_code, headers, content), settings.KB_PAGE_CACHE_SECONDS)
            except Exception as exc:  # noqa: BLE001
                _warn("store an answer", exc)
            response[HEADER] = "miss"
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not settings.KB_PAGE_CACHE_SECONDS or request.method != "GET" or time.monotonic() < _paused_until:
            return None
        match = request.resolver_match
        if match is None or match.view_name not in CACHED_VIEWS or not _anonymous(request):
            return None
        generation = _generation()
        if generation is None:
            return None
        key = _key(request, generation)
        try:
            cached = cache.get(key)
        except Exception as exc:  # noqa: BLE001
            _warn("read an answer", exc)
            return None
        if cached is None:
            request._kb_page_cache_key = key
            return None
        if _is_api(request) and not _throttle_allows(request):
            return None  # the view answers: 429 with its message and Retry-After
        status, headers, content = cached
        if CSRF_PLACEHOLDER in content:
            content = content.replace(CSRF_PLACEHOLDER, get_token(request).encode())
        response = HttpResponse(content, status=status)
        for name, value in headers:
            response[name] = value
        response[HEADER] = "hit"
        return response
