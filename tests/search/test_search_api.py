"""GET /api/v1/search/, /search/suggest/ and /studies/{id}/related/ on each backend."""

import pytest

from apps.studies.models import Study
from tests import factories
from tests.search.conftest import refresh


@pytest.fixture
def data(backend):
    topic = factories.topic(slug="a-act", label_nb="ACT-team", label_en="ACT teams")
    child = factories.topic(slug="a-fact", label_nb="FACT-team", label_en="FACT teams", parent=topic)
    kari = factories.researcher(given_name="Kari", family_name="Ødegård")
    studies = [
        factories.study(title="Ruslidelser og psykiske lidelser hos unge", abstract="Kartlegging i kommunene.",
                        year=2015, language="nb", topics=[child], authors=[kari]),
        factories.study(title="Assertive community treatment outcomes", abstract="ACT in Norway.", year=2019,
                        study_type="report", design="rct", topics=[topic]),
        factories.study(title="Draft about ruslidelser", status="draft", year=2020),
    ]
    for i in range(25):
        factories.study(title=f"Housing first study number {i}", year=2000 + i % 20)
    factories.summary(studies=[studies[1]], title="ACT virker", body="Oppsummert.")
    for kind, model in (("studies", Study), ):
        backend.index(kind, list(model.objects.values_list("id", flat=True)))
    from apps.researchers.models import Researcher
    from apps.summaries.models import Summary

    backend.index("researchers", list(Researcher.objects.values_list("id", flat=True)))
    backend.index("summaries", list(Summary.objects.values_list("id", flat=True)))
    refresh(backend)
    return {"studies": studies, "topic": topic, "child": child, "kari": kari}


def test_search_returns_studies_with_highlights_facets_and_counts(anon_client, data, backend):
    body = anon_client.get("/api/v1/search/", {"q": "ruslidelse"}).json()
    assert body["backend"] == backend.name
    assert body["count"] == 1
    hit = body["results"][0]
    assert hit["id"] == data["studies"][0].id and hit["title"].startswith("Ruslidelser")
    assert "<mark>" in hit["highlight"]["title"][0]
    assert hit["authors"][0]["researcher"] == data["kari"].id
    topics = {f["value"]: f for f in body["facets"]["topic"]}
    assert topics["a-fact"]["label_nb"] == "FACT-team" and topics["a-fact"]["count"] == 1
    assert body["facets"]["language"] == [{"value": "nb", "label": "nb", "count": 1}]


def test_hits_carry_their_visible_summaries_read_with_the_page(anon_client, curator_client, data):
    """A hit lists the summaries its reader may see (anonymous: published only; a curator: drafts too), and
    says has_summary for a published one; they are read with the page's studies, not by a query of their own."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    act = data["studies"][1]
    factories.summary(studies=[act], title="ACT-utkast", status="draft")
    hit = anon_client.get("/api/v1/search/", {"q": "assertive"}).json()["results"][0]
    assert hit["id"] == act.id and hit["has_summary"] is True
    assert [s["title"] for s in hit["summaries"]] == ["ACT virker"]
    hit = curator_client.get("/api/v1/search/", {"q": "assertive"}).json()["results"][0]
    assert sorted(s["title"] for s in hit["summaries"]) == ["ACT virker", "ACT-utkast"]
    with CaptureQueriesContext(connection) as ctx:
        body = anon_client.get("/api/v1/search/", {"q": "housing"}).json()
    assert body["count"] == 25 and all(r["summaries"] == [] and not r["has_summary"] for r in body["results"])
    # the page's studies are read with their summaries in one query: none reads summaries apart from it
    assert len([q for q in ctx.captured_queries if "summaries_summary" in q["sql"]]) == 1


def test_filters_topic_tree_and_type(anon_client, data):
    ids = [r["id"] for r in anon_client.get("/api/v1/search/", {"topic": "a-act"}).json()["results"]]
    assert set(ids) == {data["studies"][0].id, data["studies"][1].id}  # includes the sub-topic
    ids = [r["id"] for r in anon_client.get("/api/v1/search/", {"study_type": "report"}).json()["results"]]
    assert ids == [data["studies"][1].id]
    assert anon_client.get("/api/v1/search/", {"topic": "no-such-topic"}).json()["count"] == 0


def test_pages_and_cursor(anon_client, data):
    first = anon_client.get("/api/v1/search/", {"q": "housing", "page_size": 10, "sort": "newest"}).json()
    assert first["count"] == 25 and len(first["results"]) == 10
    assert "page=2" in first["next"] and first["previous"] is None
    second = anon_client.get(first["next"]).json()
    assert {r["id"] for r in second["results"]}.isdisjoint({r["id"] for r in first["results"]})
    seen, cursor = [], None
    while True:
        params = {"q": "housing", "page_size": 10, "sort": "newest"}
        if cursor:
            params["cursor"] = cursor
        page = anon_client.get("/api/v1/search/", params).json()
        seen += [r["id"] for r in page["results"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 25


def test_drafts_need_a_curator(anon_client, curator_client, data):
    draft = data["studies"][2].id
    ids = lambda c, **p: [r["id"] for r in c.get("/api/v1/search/", {"q": "ruslidelser", **p}).json()["results"]]  # noqa
    assert draft not in ids(anon_client, include_drafts="true")
    assert draft not in ids(curator_client)
    assert draft in ids(curator_client, include_drafts="true")


def test_other_kinds(anon_client, data):
    people = anon_client.get("/api/v1/search/", {"q": "Odegard", "type": "researchers"}).json()
    assert [r["id"] for r in people["results"]] == [data["kari"].id]
    assert "email" not in people["results"][0]
    summaries = anon_client.get("/api/v1/search/", {"q": "virker", "type": "summaries"}).json()
    assert [r["title"] for r in summaries["results"]] == ["ACT virker"]


@pytest.mark.parametrize("params,field", [
    ({"q": "x" * 1001}, "q"), ({"type": "books"}, "type"), ({"sort": "random"}, "sort"),
    ({"page": 0}, "page"), ({"page_size": 1000}, "page_size"),
    ({"year_from": "soon"}, "year_from"), ({"has_summary": "null"}, "has_summary"),
    ({"study_type": "novel"}, "study_type"), ({"researcher": "abc"}, "researcher"),
    ({"design": "rct,"}, "design"), ({"language": ","}, "language"), ({"institution": " "}, "institution"),
    ({"topic": "\x00jY"}, "topic"), ({"doi": "10.1/a,\x00"}, "doi"), ({"ranking": "magic"}, "ranking"),
    ({"expand": "maybe"}, "expand"), ({"unexpand": "a\x00"}, "unexpand"),
])
def test_bad_parameters_are_a_400_naming_the_parameter(anon_client, data, params, field):
    response = anon_client.get("/api/v1/search/", params)
    assert response.status_code == 400
    assert field in response.json()


def test_a_page_past_the_window_of_page_numbers_has_no_hits_and_says_why(anon_client, data):
    """Page numbers reach the first 10,000 hits (Elasticsearch's window); a page past them is answered like a
    page past the last (no hits), with the count, the facets and a warning that points to next_cursor."""
    first = anon_client.get("/api/v1/search/", {"q": "", "page_size": 20}).json()
    response = anon_client.get("/api/v1/search/", {"q": "", "page": 501, "page_size": 20})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["results"] == [] and body["next"] is None and body["next_cursor"] is None
    assert body["count"] == first["count"] > 0 and body["facets"] == first["facets"]
    assert any("next_cursor" in w for w in body["warnings"]) and not first["warnings"]
    assert "page=500" in body["previous"]  # the window's last page


def test_a_cursor_this_api_did_not_make_points_to_no_page(anon_client, data):
    """An opaque cursor can be any text (the schema cannot tell a good one), so a foreign one is a 404, like a
    page past the last, and the body names the parameter."""
    response = anon_client.get("/api/v1/search/", {"cursor": "not-a-cursor"})
    assert response.status_code == 404 and "cursor" in response.json()


@pytest.mark.parametrize("q", ['"unbalanced', "OR OR", "NOT", "title:", "\x00\x01", "-", "year:20x0"])
def test_malformed_queries_degrade(anon_client, data, q):
    response = anon_client.get("/api/v1/search/", {"q": q})
    assert response.status_code == 200


def test_unbalanced_quote_is_reported(anon_client, data):
    body = anon_client.get("/api/v1/search/", {"q": '"ruslidelse'}).json()
    assert body["count"] == 1 and body["warnings"]


def test_did_you_mean_in_the_response(anon_client, data):
    body = anon_client.get("/api/v1/search/", {"q": "husing"}).json()
    assert body["count"] == 0 and body["did_you_mean"] == "housing"


def test_suggest(anon_client, data):
    body = anon_client.get("/api/v1/search/suggest/", {"q": "Assert"}).json()
    assert {"kind": "study", "id": data["studies"][1].id, "text": "Assertive community treatment outcomes"} in \
        body["suggestions"]
    kinds = {s["kind"] for s in anon_client.get("/api/v1/search/suggest/", {"q": "fact"}).json()["suggestions"]}
    assert "topic" in kinds
    assert anon_client.get("/api/v1/search/suggest/", {"q": ""}).status_code == 400


def test_related(anon_client, data):
    response = anon_client.get(f"/api/v1/studies/{data['studies'][1].id}/related/")
    assert response.status_code == 200
    related = [r["id"] for r in response.json()]
    assert data["studies"][1].id not in related and data["studies"][2].id not in related
    assert anon_client.get(f"/api/v1/studies/{data['studies'][2].id}/related/").status_code == 404


def test_expansions_and_why_in_the_response(anon_client, data):
    from search.models import VocabularyEntry

    VocabularyEntry.objects.create(term_nb="oppsøkende behandling", term_en="assertive community treatment",
                                   source="curated")
    body = anon_client.get("/api/v1/search/", {"q": "oppsøkende behandling"}).json()
    assert body["ranking"] == "lexical"  # no embedding model under test settings
    assert [e["text"] for e in body["expansions"]] == ["assertive community treatment"]
    assert body["expansions"][0]["language"] == "en"
    hit = body["results"][0]
    assert hit["id"] == data["studies"][1].id
    assert hit["why"]["expansions"] == ["assertive community treatment"]
    dropped = anon_client.get("/api/v1/search/", {"q": "oppsøkende behandling",
                                                  "unexpand": "assertive community treatment"}).json()
    assert dropped["expansions"] == [] and dropped["count"] == 0
    assert anon_client.get("/api/v1/search/", {"q": "oppsøkende behandling", "expand": "false"}).json()["count"] == 0
    words = anon_client.get("/api/v1/search/", {"q": "assertive outcomes"}).json()["results"][0]["why"]
    assert words["matched"] == ["assertive", "outcomes"]
