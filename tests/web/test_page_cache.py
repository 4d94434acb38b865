"""The anonymous page cache (apps/common/pagecache.py) on a real Redis, PostgreSQL and Elasticsearch.

Changes are committed for real (transactional tests), so the generation is replaced after commit and
the index drain (eager here) writes Elasticsearch, as in production. Each test first shows that the
page really came from the cache (``X-KB-Cache: hit``), then that a change shows at once.
"""

import logging
import os
import re

import pytest
from django.test import Client
from rest_framework.throttling import AnonRateThrottle

from apps.common import pagecache
from tests import factories
from tests.search.conftest import REQUIRED, drop_indices, use_backend

pytestmark = pytest.mark.django_db(transaction=True)

#: Nothing listens on port 9 (discard): every cache call fails with a connection error at once.
UNREACHABLE = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                           "LOCATION": "redis://127.0.0.1:9/0",
                           "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}


@pytest.fixture
def redis_cache(settings, monkeypatch):
    url = os.environ.get("KB_TEST_REDIS_URL")
    if not url:
        if REQUIRED:
            pytest.fail("Redis is not configured (KB_TEST_REDIS_URL)")
        pytest.skip("Redis is not configured (KB_TEST_REDIS_URL); under CI this fails instead")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    settings.KB_PAGE_CACHE_SECONDS = 300
    monkeypatch.setattr(pagecache, "_paused_until", 0.0)
    monkeypatch.setattr(pagecache, "_bump_owed", False)
    from django.core.cache import cache

    cache.clear()
    yield cache
    cache.clear()


@pytest.fixture
def es(settings, transactional_db):
    backend = use_backend(settings, "elasticsearch")
    yield backend
    drop_indices(backend)


def get(client, url, **headers):
    response = client.get(url, **headers)
    assert response.status_code == 200, (url, response.status_code)
    return response, response.content.decode()


def test_a_cached_search_page_shows_a_new_published_study_at_once(redis_cache, es):
    factories.study(title="Housing first for people with psychosis")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    first, html = get(client, "/search/?q=housing")
    assert first["X-KB-Cache"] == "miss" and "first for people with psychosis" in html
    again, html = get(client, "/search/?q=housing")
    assert again["X-KB-Cache"] == "hit" and "first for people with psychosis" in html

    draft = factories.study(title="Supported housing and relapse", status="draft")
    assert "and relapse" not in get(client, "/search/?q=housing")[1]  # a draft is not shown
    curator = factories.user("curator")
    api = Client(HTTP_AUTHORIZATION=f"Token {curator.auth_token.key}")
    assert api.post(f"/api/v1/studies/{draft.pk}/publish/").status_code == 200
    response, html = get(client, "/search/?q=housing")
    assert response["X-KB-Cache"] == "miss" and "and relapse" in html
    assert "Supported housing and relapse" in get(Client(), "/api/v1/search/?q=housing")[1]


def test_a_cached_study_page_shows_an_edit_and_an_unpublish_at_once(redis_cache, es):
    study = factories.study(title="Assertive community treatment in Oslo")
    curator = factories.user("curator")
    api = Client(HTTP_AUTHORIZATION=f"Token {curator.auth_token.key}")
    client = Client()
    for url in (f"/studies/{study.pk}/", f"/api/v1/studies/{study.pk}/", "/api/v1/studies/"):
        get(client, url)
        response, body = get(client, url)
        assert response["X-KB-Cache"] == "hit" and "Assertive community treatment in Oslo" in body

    edited = api.patch(f"/api/v1/studies/{study.pk}/", {"title": "Assertive community treatment in Bergen"},
                       content_type="application/json")
    assert edited.status_code == 200
    for url in (f"/studies/{study.pk}/", f"/api/v1/studies/{study.pk}/", "/api/v1/studies/"):
        response, body = get(client, url)
        assert "in Bergen" in body and "in Oslo" not in body, url

    # the bulk unpublish writes with one UPDATE (no model signals): it must drop the cache all the same
    unpublished = api.post("/api/v1/studies/unpublish/", {"ids": [study.pk]}, content_type="application/json")
    assert unpublished.status_code in (200, 202), unpublished.content
    assert client.get(f"/studies/{study.pk}/").status_code == 404
    assert client.get(f"/api/v1/studies/{study.pk}/").status_code == 404
    assert "Bergen" not in get(client, "/api/v1/studies/")[1]
    assert "Bergen" not in get(client, "/search/?q=assertive")[1]


def test_a_curator_is_never_served_an_anonymous_page_and_never_stores_one(redis_cache, es):
    factories.study(title="Peer support after prison")
    factories.study(title="Peer support drafts in progress", status="draft")
    anonymous = Client(HTTP_ACCEPT_LANGUAGE="en")
    get(anonymous, "/search/?q=peer")
    response, html = get(anonymous, "/search/?q=peer")
    assert response["X-KB-Cache"] == "hit" and "after prison" in html and "drafts in progress" not in html

    curator = factories.user("curator")
    signed_in = Client(HTTP_ACCEPT_LANGUAGE="en")
    signed_in.force_login(curator)
    response, html = get(signed_in, "/search/?q=peer&include_drafts=true")
    assert "X-KB-Cache" not in response and "drafts in progress" in html
    response, html = get(signed_in, "/search/?q=peer")  # the very URL anonymous visitors have cached
    assert "X-KB-Cache" not in response and 'action="/logout/"' in html
    token = Client(HTTP_AUTHORIZATION=f"Token {curator.auth_token.key}")
    response, body = get(token, "/api/v1/search/?q=peer&include_drafts=true")
    assert "X-KB-Cache" not in response and "drafts in progress" in body

    # and what the curator was shown was not stored for anonymous visitors
    response, html = get(anonymous, "/search/?q=peer")
    assert response["X-KB-Cache"] == "hit" and 'action="/logout/"' not in html
    response, body = get(Client(), "/api/v1/search/?q=peer&include_drafts=true")
    assert "drafts in progress" not in body


def test_language_and_format_are_part_of_the_key(redis_cache, es):
    factories.study(title="Family involvement")
    nb, html_nb = get(Client(HTTP_ACCEPT_LANGUAGE="nb"), "/search/?q=family")
    en, html_en = get(Client(HTTP_ACCEPT_LANGUAGE="en"), "/search/?q=family")
    assert en["X-KB-Cache"] == "miss" and html_nb != html_en
    assert '<html lang="nb"' in html_nb and '<html lang="en"' in html_en
    again, html = get(Client(HTTP_ACCEPT_LANGUAGE="nb"), "/search/?q=family")
    assert again["X-KB-Cache"] == "hit" and without_tokens(html) == without_tokens(html_nb)


def without_tokens(html):
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def test_each_visitor_gets_their_own_csrf_token_from_a_cached_page(redis_cache, es):
    factories.study(title="Stigma in primary care")
    first = Client(enforce_csrf_checks=True)
    get(first, "/search/?q=stigma")
    second = Client(enforce_csrf_checks=True)
    response, html = get(second, "/search/?q=stigma")
    assert response["X-KB-Cache"] == "hit"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    assert "kb-csrf-token" not in html and "csrftoken" in second.cookies
    switched = second.post("/i18n/setlang/", {"language": "en", "next": "/search/?q=stigma",
                                              "csrfmiddlewaretoken": token})
    assert switched.status_code == 302  # the language switch on a cached page works (403 with a foreign token)
    assert second.cookies["django_language"].value == "en"


def test_the_anonymous_rate_limit_counts_cached_answers(redis_cache, es, monkeypatch):
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "3/minute"})
    client = Client()
    codes = [client.get("/api/v1/topics/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_cached_answers_never_leave_the_api_without_its_json(redis_cache, es):
    factories.study(title="Employment support")
    get(Client(), "/api/v1/studies/", HTTP_ACCEPT="application/json")
    response = Client().get("/api/v1/studies/", HTTP_ACCEPT="text/html")  # DRF's browsable page
    assert "X-KB-Cache" not in response or response["X-KB-Cache"] == "miss"
    assert response["Content-Type"].startswith("text/html")
    again = Client().get("/api/v1/studies/", HTTP_ACCEPT="application/json")
    assert again["X-KB-Cache"] == "hit" and again["Content-Type"].startswith("application/json")


def test_an_unreachable_cache_means_uncached_answers_not_errors(settings, es, caplog, monkeypatch):
    settings.CACHES = UNREACHABLE
    settings.KB_PAGE_CACHE_SECONDS = 300
    monkeypatch.setattr(pagecache, "_warned_at", None)
    monkeypatch.setattr(pagecache, "_paused_until", 0.0)
    monkeypatch.setattr(pagecache, "_bump_owed", False)
    with caplog.at_level(logging.WARNING, logger="apps.common.pagecache"):
        study = factories.study(title="Cannabis and psychosis in youth")  # the change cannot be announced
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        for url in ("/search/?q=cannabis", f"/studies/{study.pk}/", "/api/v1/search/?q=cannabis",
                    f"/api/v1/studies/{study.pk}/", "/api/v1/search/suggest/?q=cann"):
            response, body = get(client, url)
            assert "X-KB-Cache" not in response and "psychosis in youth" in body, url
    warnings = [r for r in caplog.records if r.name == "apps.common.pagecache"]
    assert len(warnings) == 1 and "uncached" in warnings[0].getMessage()
    assert pagecache._bump_owed  # announced as soon as the cache answers again


def test_a_change_made_while_the_cache_was_down_is_announced_when_it_is_back(redis_cache, es, monkeypatch):
    study = factories.study(title="Motivational interviewing")
    client = Client()
    get(client, f"/api/v1/studies/{study.pk}/")
    assert get(client, f"/api/v1/studies/{study.pk}/")[0]["X-KB-Cache"] == "hit"
    with monkeypatch.context() as m:  # this process's announcement of the next change fails
        m.setattr(redis_cache, "set", _fail)
        study.title = "Motivational interviewing, revised"
        study.save()
    assert pagecache._bump_owed
    monkeypatch.setattr(pagecache, "_paused_until", 0.0)  # the pause after a failure is over
    response, body = get(client, f"/api/v1/studies/{study.pk}/")
    assert "revised" in body and response["X-KB-Cache"] == "miss"


def _fail(*args, **kwargs):
    raise ConnectionError("the cache is down")


def test_the_search_page_and_the_api_share_one_search_per_generation(redis_cache, es, monkeypatch):
    factories.study(title="Trauma-informed care in housing services")
    factories.study(title="Trauma drafts", status="draft")
    calls = []
    original = es.search
    monkeypatch.setattr(es, "search", lambda request: calls.append(request) or original(request))
    assert "housing services" in get(Client(HTTP_ACCEPT_LANGUAGE="nb"), "/search/?q=trauma")[1]
    assert "housing services" in get(Client(HTTP_ACCEPT_LANGUAGE="en"), "/search/?q=trauma")[1]
    assert "housing services" in get(Client(), "/api/v1/search/?q=trauma")[1]
    assert len(calls) == 1  # three answers (two languages, two formats), one search

    curator = factories.user("curator")
    token = Client(HTTP_AUTHORIZATION=f"Token {curator.auth_token.key}")
    assert "Trauma drafts" in get(token, "/api/v1/search/?q=trauma&include_drafts=true")[1]
    assert len(calls) == 2  # a search with drafts is the curator's own, never shared
    factories.study(title="Trauma and peer support")  # a new generation: searched again
    assert "peer support" in get(Client(), "/api/v1/search/?q=trauma")[1]
    assert len(calls) == 3


def test_an_index_write_by_the_drain_shows_at_once(redis_cache, es, monkeypatch):
    """In production a worker drains the outbox after the change was committed (and announced): the
    search answers cached in between must go when the index changes, not only when the database did."""
    from search import sync

    factories.study(title="Opioid substitution and employment")
    with monkeypatch.context() as m:
        m.setattr(sync, "schedule_drain", lambda: None)  # the worker has not run yet
        factories.study(title="Opioid overdoses after prison release")
        client = Client()
        get(client, "/api/v1/search/?q=opioid")
        response, body = get(client, "/api/v1/search/?q=opioid")
        assert response["X-KB-Cache"] == "hit" and "after prison release" not in body  # not indexed yet
    assert sync.drain()["indexed"] >= 1
    response, body = get(client, "/api/v1/search/?q=opioid")
    assert response["X-KB-Cache"] == "miss" and "after prison release" in body


def test_a_rebuild_of_the_index_shows_at_once(redis_cache, es):
    """A study the index missed (written with index work paused) appears in cached searches once an
    operator rebuilds the index: the rebuild announces its write like the drain."""
    from django.core.management import call_command

    from search import sync

    factories.study(title="Supported employment in early psychosis")
    client = Client()
    get(client, "/api/v1/search/?q=employment")
    with sync.paused():
        factories.study(title="Employment programmes and relapse")
    response, body = get(client, "/api/v1/search/?q=employment")
    assert response["X-KB-Cache"] == "hit" and "programmes and relapse" not in body
    call_command("search_index", "--rebuild", "--quiet")
    response, body = get(client, "/api/v1/search/?q=employment")
    assert response["X-KB-Cache"] == "miss" and "programmes and relapse" in body
