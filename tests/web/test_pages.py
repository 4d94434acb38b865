"""The web pages through Django's test client: language, URL state, safety, permissions (no browser)."""

import re

import pytest

from apps.web.highlight import safe_fragment
from apps.web.urlstate import UrlState
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("search_backend")]


@pytest.fixture
def indexed(search_backend):
    """Index what the test created, with the database backend."""
    def run():
        search_backend.rebuild()
    return run


def text(response):
    return response.content.decode()


def test_pages_default_to_norwegian_and_follow_the_choice(client):
    response = client.get("/search/")
    assert response.status_code == 200 and '<html lang="nb">' in text(response)
    assert response["Content-Language"] == "nb"
    assert '<html lang="en">' in text(client.get("/search/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.8"))
    assert '<html lang="nb">' in text(client.get("/search/", HTTP_ACCEPT_LANGUAGE="nn-NO"))
    assert '<html lang="nb">' in text(client.get("/search/", HTTP_ACCEPT_LANGUAGE="de"))
    switched = client.post("/i18n/setlang/", {"language": "en", "next": "/search/?q=bolig"})
    assert switched.status_code == 302 and switched["Location"] == "/search/?q=bolig"
    assert '<html lang="en">' in text(client.get("/search/", HTTP_ACCEPT_LANGUAGE="nb"))  # the cookie wins


def test_the_api_keeps_its_own_default_language(client):
    response = client.get("/api/v1/studies/999999/")
    assert response.status_code == 404 and response.get("Content-Language") in (None, "en")


def test_highlight_fragments_keep_only_mark_tags():
    assert safe_fragment("a <mark>b</mark> &amp; c") == "a <mark>b</mark> &amp; c"
    assert safe_fragment("<script>alert(1)</script><mark>x") == "&lt;script&gt;alert(1)&lt;/script&gt;<mark>x</mark>"
    assert safe_fragment("&lt;b&gt; <mark onclick=x>y</mark>") == "&lt;b&gt; &lt;mark onclick=x&gt;y"


def test_url_state_toggles_and_keeps_the_rest():
    from django.http import QueryDict

    state = UrlState(QueryDict("q=act&design=rct&page=3&sort=newest"), "/search/")
    assert state.toggle("design", "cohort") == "/search/?q=act&design=rct%2Ccohort&sort=newest"
    assert state.toggle("design", "rct") == "/search/?q=act&sort=newest"
    assert state.with_(page=4) == "/search/?q=act&design=rct&sort=newest&page=4"
    assert state.without("design") == "/search/?q=act&sort=newest"


def test_search_page_renders_results_escaped_and_linked(client, indexed):
    person = factories.researcher(given_name="Kari", family_name="Ødegård")
    topic = factories.topic(slug="housing-x", label_nb="Bolig", label_en="Housing")
    study = factories.study(title="<script>alert('x')</script> Housing first for ROP", authors=[person, "Smith, J"],
                            topics=[topic], design="rct", year=2019)
    factories.summary(studies=[study])
    indexed()
    response = client.get("/search/", {"q": "housing"})
    body = text(response)
    assert response.status_code == 200
    assert "<script>alert" not in body and "&lt;script&gt;" in body
    assert f'href="/studies/{study.pk}/"' in body and f'href="/researchers/{person.pk}/"' in body
    assert "<mark>" in body                      # the match is highlighted
    assert "Sammendrag på klarspråk" in body     # the summary marker
    assert "Randomisert kontrollert studie" in body and "Bolig" in body
    facet_link = re.search(r'href="(/search/\?q=housing&amp;design=rct)"', body)
    assert facet_link, "the design facet links to the same search with the design added"


def test_invalid_parameters_are_explained_not_crashed(client):
    response = client.get("/search/", {"page": "abc"})
    assert response.status_code == 400 and "notice-error" in text(response)
    assert client.get("/search/", {"sort": "nonsense"}).status_code == 400
    far = client.get("/search/", {"page": "999999"})  # past the window of page numbers: no hits, and why
    assert far.status_code == 200 and "lies past them" in text(far)


def test_drafts_are_hidden_from_readers_and_shown_to_curators(client):
    draft = factories.study(status="draft", title="Unpublished draft study")
    assert client.get(f"/studies/{draft.pk}/").status_code == 404
    client.force_login(factories.user("curator"))
    response = client.get(f"/studies/{draft.pk}/")
    assert response.status_code == 200 and "Unpublished draft study" in text(response)


def test_study_page_identifiers_and_citation(client):
    study = factories.study(title="Integrated treatment in FACT teams", doi="10.1234/Abc.5", pmid="12345678",
                            year=2020, authors=["Ødegård, Kari", "Helsedirektoratet"])
    body = text(client.get(f"/studies/{study.pk}/"))
    assert 'href="https://doi.org/10.1234/abc.5"' in body
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/12345678/"' in body
    cite = re.search(r'<pre id="bibtex"[^>]*>(.*?)</pre>', body, re.S).group(1)
    assert cite.startswith("@article{") and "doi    = {10.1234/abc.5}" in cite and "Helsedirektoratet" in cite
    assert "abstract" not in cite  # the cite box is for citing
    assert f'href="/api/v1/studies/{study.pk}/export/?format=ris"' in body


def test_researcher_page_lists_studies_and_coauthors(client):
    a, b, c = (factories.researcher() for _ in range(3))
    factories.study(authors=[a, b])
    factories.study(authors=[a, b, c])
    response = client.get(f"/researchers/{a.pk}/")
    body = text(response)
    assert response.status_code == 200 and b.full_name in body and c.full_name in body
    graph = response.context["graph"]
    assert {n["id"] for n in graph["nodes"]} == {f"r{a.pk}", f"r{b.pk}", f"r{c.pk}"}
    weights = {(l["source"], l["target"]): l["weight"] for l in graph["links"]}
    assert weights[(f"r{a.pk}", f"r{b.pk}")] == 2 and weights[(f"r{b.pk}", f"r{c.pk}")] == 1


def test_evidence_map_cells_link_to_the_web_search(client):
    topic = factories.topic(slug="act-x", label_nb="ACT-team", label_en="ACT teams")
    factories.study(topics=[topic], design="rct")
    factories.study(topics=[topic], design="rct")
    body = text(client.get("/evidence-map/"))
    assert re.search(r'href="/search/\?topic=act-x&amp;design=rct"[^>]*>2<', body)


def test_curator_pages_need_a_curator(client):
    response = client.get("/curator/")
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=/curator/")
    client.force_login(factories.user("reader"))
    assert client.get("/curator/").status_code == 403
    summary = factories.summary(studies=[factories.study()], status="in_review")
    assert client.post(f"/curator/summaries/{summary.pk}/approve/").status_code == 403
    summary.refresh_from_db()
    assert summary.status == "in_review"


def test_curator_cannot_approve_their_own_summary(client):
    curator = factories.user("curator")
    summary = factories.summary(studies=[factories.study()], status="in_review", author=curator)
    client.force_login(curator)
    response = client.post(f"/curator/summaries/{summary.pk}/approve/", follow=True)
    summary.refresh_from_db()
    assert summary.status == "in_review"
    assert "another curator" in text(response)


def test_static_assets_exist_and_no_external_urls(client):
    from django.contrib.staticfiles import finders

    for path in ("web/css/kb.css", "web/js/search.js", "web/js/graph.js", "web/js/copy.js"):
        assert finders.find(path), path
    body = text(client.get("/search/"))
    assert not re.search(r'(src|href)="https?://', body), "pages must not load anything from another host"


def test_sign_in_is_the_web_login_and_the_admin_keeps_its_own(client, settings):
    from django.shortcuts import resolve_url

    assert resolve_url(settings.LOGIN_URL) == "/login/"
    response = client.get("/curator/imports/", {"outcome": "failed"})
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/curator/imports/%3Foutcome%3Dfailed"
    # the admin still sends anonymous visitors to its own sign-in page, and signing in there works
    admin_redirect = client.get("/admin/")
    assert admin_redirect.status_code == 302 and admin_redirect["Location"].startswith("/admin/login/?next=/admin/")
    factories.user("admin", username="boss")
    signed_in = client.post("/admin/login/?next=/admin/", {"username": "boss", "password": "a-Long-pass-phrase-9",
                                                           "next": "/admin/"})
    assert signed_in.status_code == 302 and signed_in["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    # the web sign-in page brings a user back to where they were sent from
    client.logout()
    factories.user("curator", username="kurator")
    back = client.post("/login/", {"username": "kurator", "password": "a-Long-pass-phrase-9",
                                   "next": "/curator/imports/?outcome=failed"})
    assert back.status_code == 302 and back["Location"] == "/curator/imports/?outcome=failed"


def test_search_page_shows_vocabulary_expansions_that_can_be_removed(client, indexed):
    from search.models import VocabularyEntry

    VocabularyEntry.objects.create(term_nb="ruslidelse", term_en="substance use disorder", source="curated")
    study = factories.study(title="Housing for people with a substance use disorder", year=2020)
    indexed()
    page = text(client.get("/search/?q=ruslidelse"))
    assert "Søkte også etter:" in page and "substance use disorder" in page
    assert f"/studies/{study.id}/" in page  # found by the English term
    removal = re.search(r'<a href="([^"]+)" class="remove"', page)
    assert removal and "unexpand=substance+use+disorder" in removal.group(1)
    without = text(client.get(removal.group(1).replace("&amp;", "&")))
    assert "Søkte også etter:" not in without
    assert f"/studies/{study.id}/" not in without
