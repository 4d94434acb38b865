"""Saved searches (own only), new-since-last-visit counts, and Atom feeds validated as XML."""

import datetime
import xml.etree.ElementTree as ET

import pytest
from django.utils import timezone

from apps.alerts.models import SavedSearch
from tests import factories
from tests.network.conftest import index_studies

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


def parse_atom(response):
    """Parse an Atom feed and check what RFC 4287 requires; returns the root element."""
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{name}") is not None and root.find(f"{ATOM}{name}").text, name
    assert root.find(f"{ATOM}author/{ATOM}name").text  # a feed-level author covers every entry
    assert any(link.get("rel") == "self" for link in root.findall(f"{ATOM}link"))
    ids = []
    for entry in root.findall(f"{ATOM}entry"):
        for name in ("id", "title", "updated"):
            assert entry.find(f"{ATOM}{name}") is not None and entry.find(f"{ATOM}{name}").text, name
        datetime.datetime.fromisoformat(entry.find(f"{ATOM}updated").text)  # RFC 3339
        ids.append(entry.find(f"{ATOM}id").text)
    assert len(ids) == len(set(ids))
    return root


def titles(root):
    return [e.find(f"{ATOM}title").text for e in root.findall(f"{ATOM}entry")]


def _publish_at(study, when):
    type(study).objects.filter(pk=study.pk).update(published_at=when)


def test_create_list_update_delete_own_only(reader_client, reader, curator_client):
    response = reader_client.post("/api/v1/saved-searches/", {
        "name": "FACT trials", "params": {"q": "FACT", "design": "rct,cohort", "year_from": "2015"}}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["params"] == {"q": "FACT", "design": "rct,cohort", "year_from": "2015"}
    assert body["search_url"] == "/api/v1/search/?q=FACT&year_from=2015&design=rct%2Ccohort"
    assert "/feed.atom?key=" in body["feed_url"] and body["new_since_last_visit"] == 0
    from_url = reader_client.post("/api/v1/saved-searches/", {
        "name": "From a URL", "query_string": "/api/v1/search/?q=bolig&topic=x-housing&page=2"}, format="json")
    assert from_url.status_code == 201 and from_url.json()["params"] == {"q": "bolig", "topic": "x-housing"}

    assert [s["name"] for s in reader_client.get("/api/v1/saved-searches/").json()["results"]] == [
        "From a URL", "FACT trials"]
    assert curator_client.get("/api/v1/saved-searches/").json()["results"] == []  # users see only their own
    assert curator_client.get(f"/api/v1/saved-searches/{body['id']}/").status_code == 404
    assert curator_client.delete(f"/api/v1/saved-searches/{body['id']}/").status_code == 404

    response = reader_client.patch(f"/api/v1/saved-searches/{body['id']}/", {"name": "Renamed"}, format="json")
    assert response.status_code == 200 and response.json()["params"]["q"] == "FACT"
    assert reader_client.delete(f"/api/v1/saved-searches/{body['id']}/").status_code == 204
    assert SavedSearch.objects.filter(user=reader).count() == 1


@pytest.mark.parametrize("params", [{"design": "anecdote"}, {"year_from": "soon"}, {"colour": "blue"},
                                    {"q": "x" * 1001}])
def test_invalid_search_parameters_are_refused(reader_client, params):
    """The parameters are the search API's (its rules, not repeated in this body's schema): a 422 naming them."""
    response = reader_client.post("/api/v1/saved-searches/", {"name": "x", "params": params}, format="json")
    assert response.status_code == 422 and "params" in response.json()
    response = reader_client.post("/api/v1/saved-searches/", {"name": "x", "query_string": "design=anecdote"},
                                  format="json")
    assert response.status_code == 422 and "params" in response.json()
    assert not SavedSearch.objects.exists()


def test_params_or_query_string_not_both(reader_client):
    response = reader_client.post("/api/v1/saved-searches/", {"name": "x", "params": {"q": "a"},
                                                               "query_string": "q=b"}, format="json")
    assert response.status_code == 400 and "query_string" in response.json()
    response = reader_client.post("/api/v1/saved-searches/", {"name": "x", "params": {"year_from": 2015}},
                                  format="json")
    assert response.status_code == 400 and "params" in response.json()  # values are text, as the schema says


def test_new_since_last_visit(reader_client):
    topic = factories.topic(slug="s-act")
    old = factories.study(title="Old FACT study", topics=[topic])
    _publish_at(old, timezone.now() - datetime.timedelta(days=30))
    sid = reader_client.post("/api/v1/saved-searches/", {"name": "ACT", "params": {"topic": "s-act"}},
                             format="json").json()["id"]
    assert reader_client.get(f"/api/v1/saved-searches/{sid}/").json()["new_since_last_visit"] == 0
    SavedSearch.objects.filter(pk=sid).update(last_seen_at=timezone.now() - datetime.timedelta(hours=2))
    for title in ("New one", "New two"):
        _publish_at(factories.study(title=title, topics=[topic]), timezone.now() - datetime.timedelta(hours=1))
    _publish_at(factories.study(title="Off topic"), timezone.now() - datetime.timedelta(hours=1))
    factories.study(title="Draft", topics=[topic], status="draft")
    assert reader_client.get(f"/api/v1/saved-searches/{sid}/").json()["new_since_last_visit"] == 2
    assert reader_client.get("/api/v1/saved-searches/").json()["results"][0]["new_since_last_visit"] == 2
    response = reader_client.post(f"/api/v1/saved-searches/{sid}/seen/")
    assert response.status_code == 200 and response.json()["new_since_last_visit"] == 0


def test_new_since_last_visit_with_a_query(reader_client, backend):
    sid = reader_client.post("/api/v1/saved-searches/", {"name": "q", "params": {"q": "housing"}},
                             format="json").json()["id"]
    SavedSearch.objects.filter(pk=sid).update(last_seen_at=timezone.now() - datetime.timedelta(hours=2))
    old = factories.study(title="Housing in Oslo, an old study")
    _publish_at(old, timezone.now() - datetime.timedelta(days=3))
    new = factories.study(title="Housing first in Bergen")
    _publish_at(new, timezone.now() - datetime.timedelta(hours=1))
    factories.study(title="Something else")
    index_studies(backend)
    assert reader_client.get(f"/api/v1/saved-searches/{sid}/").json()["new_since_last_visit"] == 1


def test_public_search_feed_lists_newest_matches_with_published_summaries(anon_client):
    topic = factories.topic(slug="f-act")
    older = factories.study(title="Older FACT study", topics=[topic], doi="10.1000/older")
    newer = factories.study(title="Newer FACT study", topics=[topic], abstract="Results & <findings>.")
    _publish_at(older, timezone.now() - datetime.timedelta(days=2))
    _publish_at(newer, timezone.now() - datetime.timedelta(days=1))
    factories.study(title="Draft FACT study", topics=[topic], status="draft")
    factories.study(title="Unrelated")
    factories.summary(studies=[newer], title="Kort om den nye studien", body="Hva fant de?")
    factories.summary(studies=[newer], title="Unpublished summary", status="draft")

    response = anon_client.get("/api/v1/search/feed.atom", {"topic": "f-act"})
    root = parse_atom(response)
    assert titles(root) == ["Newer FACT study (2015)", "Older FACT study (2015)"]
    entry = root.findall(f"{ATOM}entry")[0]
    content = entry.find(f"{ATOM}content").text
    assert "Kort om den nye studien" in content and "Unpublished summary" not in content
    assert "&lt;findings&gt;" in content  # escaped HTML in a type="html" element
    assert entry.find(f"{ATOM}link").get("href").endswith(f"/api/v1/studies/{newer.pk}/")
    older_entry = root.findall(f"{ATOM}entry")[1]
    assert {l.get("href") for l in older_entry.findall(f"{ATOM}link")} >= {"https://doi.org/10.1000/older"}
    assert len(titles(parse_atom(anon_client.get("/api/v1/search/feed.atom", {"topic": "f-act", "limit": 1})))) == 1


def test_public_feed_with_a_query_and_errors(anon_client, backend):
    factories.study(title="Housing first in Bergen")
    factories.study(title="Something else")
    index_studies(backend)
    root = parse_atom(anon_client.get("/api/v1/search/feed.atom", {"q": "housing"}))
    assert titles(root) == ["Housing first in Bergen (2015)"]
    empty = parse_atom(anon_client.get("/api/v1/search/feed.atom", {"q": "zebrafish"}))
    assert titles(empty) == []
    response = anon_client.get("/api/v1/search/feed.atom", {"design": "anecdote"},
                               HTTP_ACCEPT="application/atom+xml")
    assert response.status_code == 400 and response.json()["design"]


def test_saved_search_feed_access(reader_client, reader, curator_client, anon_client):
    topic = factories.topic(slug="g-act")
    factories.study(title="A study", topics=[topic])
    body = reader_client.post("/api/v1/saved-searches/", {"name": "Mine", "params": {"topic": "g-act"}},
                              format="json").json()
    path = f"/api/v1/saved-searches/{body['id']}/feed.atom"
    key = body["feed_url"].split("key=")[1]
    root = parse_atom(anon_client.get(path, {"key": key}))  # a feed reader with the key
    assert titles(root) == ["A study (2015)"] and "Mine" in root.find(f"{ATOM}title").text
    parse_atom(reader_client.get(path))                      # the owner, signed in
    assert anon_client.get(path).status_code == 401
    assert anon_client.get(path, {"key": "wrong"}).status_code == 404
    assert curator_client.get(path).status_code == 404       # someone else's
    assert anon_client.get("/api/v1/saved-searches/999999/feed.atom", {"key": key}).status_code == 404


def test_feeds_leave_out_characters_xml_cannot_hold(reader_client, anon_client):
    """A saved search's name or a study's title with control characters answered 500 (XML 1.0 cannot hold
    them); the feed now leaves those characters out and stays valid XML."""
    topic = factories.topic(slug="h-act")
    factories.study(title="Bell\x07 and\x1b escape", topics=[topic], abstract="Form\x0cfeed")
    body = reader_client.post("/api/v1/saved-searches/", {"name": "Mine\x01\x1f", "params": {"topic": "h-act"}},
                              format="json").json()
    root = parse_atom(anon_client.get(f"/api/v1/saved-searches/{body['id']}/feed.atom",
                                      {"key": body["feed_url"].split("key=")[1]}))
    assert root.find(f"{ATOM}title").text == "kb: Mine"
    assert titles(root) == ["Bell and escape (2015)"]
    parse_atom(anon_client.get("/api/v1/search/feed.atom", {"topic": "h-act", "q": "bell\x07"}))
