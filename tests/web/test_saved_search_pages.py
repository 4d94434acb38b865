"""Saved searches in the web interface: save from the search page, list with new-since-last-visit counts,
run, feed link, delete; signed-in users only, each seeing only their own."""

import datetime
import re

import pytest
from django.utils import timezone

from apps.alerts.models import SavedSearch
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("search_backend")]


def text(response):
    return response.content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/saved-searches/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/saved-searches/"
    assert client.post("/saved-searches/", {"name": "x", "query": "q=act"}).status_code == 302
    assert not SavedSearch.objects.exists()
    page = text(client.get("/search/", {"q": "housing"}))
    assert "save-search" not in page and 'href="/login/?next=/search/%3Fq%3Dhousing"' in page


def test_save_list_run_and_delete_a_search(client, search_backend):
    user = factories.user("reader", username="forsker")
    client.force_login(user)
    topic = factories.topic(slug="housing-x", label_nb="Bolig", label_en="Housing")
    old = factories.study(title="Housing first in Oslo", design="rct", topics=[topic], year=2015)
    search_backend.rebuild()

    page = text(client.get("/search/", {"q": "housing", "design": "rct", "sort": "newest"}))
    form = re.search(r'<form class="save-search.*?</form>', page, re.S).group(0)
    query = re.search(r'name="query" value="([^"]*)"', form).group(1)
    assert query == "q=housing&amp;design=rct"  # the query and filters, not the sorting
    response = client.post("/saved-searches/", {"name": "Bolig-RCT-er", "query": "q=housing&design=rct"},
                           follow=True)
    assert response.redirect_chain[-1][0] == "/saved-searches/"
    saved = SavedSearch.objects.get(user=user)
    assert saved.name == "Bolig-RCT-er" and saved.params == {"q": "housing", "design": "rct"}
    body = text(response)
    assert "Lagret «Bolig-RCT-er»" in body and "intet nytt" in body
    assert "Randomisert kontrollert studie" in body and "«housing»" in body  # the filters, readable
    assert f'/api/v1/saved-searches/{saved.pk}/feed.atom?key={saved.feed_key}' in body
    assert client.get(f"/api/v1/saved-searches/{saved.pk}/feed.atom?key={saved.feed_key}").status_code == 200

    # A matching study published after the last visit counts as new.
    SavedSearch.objects.filter(pk=saved.pk).update(last_seen_at=timezone.now() - datetime.timedelta(days=1))
    type(old).objects.filter(pk=old.pk).update(published_at=timezone.now() - datetime.timedelta(days=2))
    factories.study(title="Housing first in Bergen", design="rct", year=2024)
    search_backend.rebuild()
    body = text(client.get("/saved-searches/"))
    assert re.search(r'class="badge badge-new">1 ny<', body)

    # Running it opens the web search with its parameters and resets the count.
    run = client.get(f"/saved-searches/{saved.pk}/run/")
    assert run.status_code == 302 and run["Location"] == "/search/?q=housing&design=rct"
    assert "intet nytt" in text(client.get("/saved-searches/"))

    # Deleting asks first, then removes it.
    confirm = client.get(f"/saved-searches/{saved.pk}/delete/")
    assert confirm.status_code == 200 and SavedSearch.objects.filter(pk=saved.pk).exists()
    done = client.post(f"/saved-searches/{saved.pk}/delete/", follow=True)
    assert "Slettet «Bolig-RCT-er»" in text(done) and not SavedSearch.objects.exists()


def test_invalid_or_nameless_searches_are_not_saved(client):
    client.force_login(factories.user("reader"))
    bad = client.post("/saved-searches/", {"name": "Feil", "query": "q=x&year_from=abc"}, follow=True)
    assert "ikke gyldig" in text(bad)
    nameless = client.post("/saved-searches/", {"name": "", "query": "q=x"}, follow=True)
    assert "Gi søket et navn" in text(nameless)
    assert not SavedSearch.objects.exists()


def test_another_users_saved_searches_are_invisible(client):
    owner = factories.user("reader")
    theirs = SavedSearch.objects.create(user=owner, name="Private FACT search", params={"q": "FACT"})
    client.force_login(factories.user("curator"))  # even a curator
    assert "Private FACT search" not in text(client.get("/saved-searches/"))
    assert client.get(f"/saved-searches/{theirs.pk}/run/").status_code == 404
    assert client.get(f"/saved-searches/{theirs.pk}/delete/").status_code == 404
    assert client.post(f"/saved-searches/{theirs.pk}/delete/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.last_seen_at and SavedSearch.objects.filter(pk=theirs.pk).exists()
