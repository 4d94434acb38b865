"""GET /api/v1/evidence-map/: counts per (row, column) of studies a search selects, each cell linked to
the search that lists exactly its studies."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import factories
from tests.network.conftest import index_studies

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus(db):
    services = factories.topic(slug="e-services", label_en="Services", sort_order=1)
    act = factories.topic(slug="e-act", label_en="ACT", parent=services, sort_order=2)
    housing = factories.topic(slug="e-housing", label_en="Housing", parent=services, sort_order=3)
    youth = factories.topic(slug="e-youth", label_en="Youth", sort_order=4)
    # Seeded topics exist too; the map shows every top-level topic, so keep the counts local to ours.
    s = {
        "rct_act": factories.study(title="FACT trial", design="rct", year=2019, language="en", topics=[act]),
        "rct_both": factories.study(title="Housing and youth trial", design="rct", year=2020, language="nb",
                                    topics=[housing, youth]),
        "cohort_act": factories.study(title="FACT cohort", design="cohort", year=2012, language="en",
                                      topics=[act, housing]),
        "qual_youth": factories.study(title="Young users' voices", design="qualitative", year=2016, language="nb",
                                      topics=[youth], study_type="report"),
        "draft": factories.study(title="FACT draft", design="rct", year=2021, topics=[act], status="draft"),
    }
    return {"services": services, "act": act, "housing": housing, "youth": youth, **s}


def _map(client, **params):
    response = client.get("/api/v1/evidence-map/", params)
    assert response.status_code == 200, response.json()
    body = response.json()
    cells = {(c["row"], c["col"]): c for c in body["cells"]}
    return body, cells


def _search_count(client, url):
    response = client.get(url)
    assert response.status_code == 200, (url, response.json())
    return response.json()["count"]


def test_topic_by_design(anon_client, corpus):
    body, cells = _map(anon_client, rows="topic", cols="design")
    rows = {v["key"]: v for v in body["rows"]["values"]}
    assert "e-services" in rows and "e-youth" in rows and "e-act" not in rows  # top level
    assert cells[("e-services", "rct")]["count"] == 2       # sub-topics roll up; drafts never count
    assert cells[("e-services", "cohort")]["count"] == 1
    assert cells[("e-youth", "rct")]["count"] == 1
    assert cells[("e-youth", "meta_analysis")]["count"] == 0  # a gap in the evidence is shown as 0
    assert rows["e-services"]["total"] == 3                  # each study once, whatever its topics
    cols = {v["key"]: v for v in body["cols"]["values"]}
    assert cols["rct"]["total"] == 2                          # the study with two top-level topics once
    assert body["total"] == 4 and body["truncated"] is False


def test_each_cell_links_to_the_search_listing_its_studies(anon_client, backend, corpus):
    index_studies(backend)  # the cell links are checked against the live search API
    body, cells = _map(anon_client, rows="topic", cols="design", year_from=2013)
    for key in [("e-services", "rct"), ("e-services", "cohort"), ("e-youth", "qualitative")]:
        cell = cells[key]
        assert cell["search_url"].startswith("/api/v1/search/?")
        assert "year_from=2013" in cell["search_url"]
        assert _search_count(anon_client, cell["search_url"]) == cell["count"]
    assert cells[("e-services", "cohort")]["count"] == 0      # the 2012 cohort is filtered out


def test_a_topic_filter_drills_down_to_sub_topics(anon_client, backend, corpus):
    index_studies(backend)  # the cell links are checked against the live search API
    body, cells = _map(anon_client, rows="topic", cols="language", topic="e-services")
    assert [v["key"] for v in body["rows"]["values"]] == ["e-act", "e-housing"]
    assert cells[("e-act", "en")]["count"] == 2 and cells[("e-housing", "nb")]["count"] == 1
    assert [v["key"] for v in body["cols"]["values"]] == ["nb", "en"]  # languages present
    url = cells[("e-act", "en")]["search_url"]
    assert "topic=e-act" in url and "topic=e-services" not in url
    assert _search_count(anon_client, url) == 2


def test_year_buckets_and_single_axis(anon_client, backend, corpus):
    index_studies(backend)  # the cell links are checked against the live search API
    body, cells = _map(anon_client, rows="year", cols="type", year_step=5)
    assert [v["key"] for v in body["rows"]["values"]] == ["2010-2014", "2015-2019", "2020-2024"]
    assert cells[("2015-2019", "article")]["count"] == 1 and cells[("2015-2019", "report")]["count"] == 1
    assert _search_count(anon_client, cells[("2015-2019", "report")]["search_url"]) == 1
    body, cells = _map(anon_client, rows="design")
    assert body["cols"] is None and cells[("rct", None)]["count"] == 2


def test_a_query_selects_through_the_search_backend(anon_client, backend, corpus):
    index_studies(backend)
    body, cells = _map(anon_client, rows="topic", cols="design", q="FACT")
    assert body["total"] == 2
    assert cells[("e-services", "rct")]["count"] == 1 and cells[("e-services", "cohort")]["count"] == 1
    assert cells[("e-youth", "rct")]["count"] == 0
    assert "q=FACT" in cells[("e-services", "rct")]["search_url"]


def test_curators_may_map_drafts(curator_client, corpus):
    _, cells = _map(curator_client, rows="design", cols="year", include_drafts="true")
    assert cells[("rct", "2021")]["count"] == 1
    _, cells = _map(curator_client, rows="design", cols="year")
    assert ("rct", "2021") not in cells


def test_an_axis_against_itself_counts_studies_with_both_values(anon_client, backend, corpus):
    index_studies(backend)  # the cell links are checked against the live search API
    body, cells = _map(anon_client, rows="topic", cols="topic", topic="e-services")
    assert [v["key"] for v in body["cols"]["values"]] == ["e-act", "e-housing"]
    assert cells[("e-act", "e-act")]["count"] == 2 and cells[("e-housing", "e-housing")]["count"] == 2
    assert cells[("e-act", "e-housing")]["count"] == cells[("e-housing", "e-act")]["count"] == 1  # together
    assert _search_count(anon_client, cells[("e-act", "e-act")]["search_url"]) == 2
    assert cells[("e-act", "e-housing")]["search_url"] is None  # the search's topics mean "any of"
    _, cells = _map(anon_client, rows="design", cols="design")
    assert cells[("rct", "rct")]["count"] == 2 and cells[("rct", "cohort")]["count"] == 0


@pytest.mark.parametrize("params,field", [({"rows": "colour"}, "rows"),
                                          ({"year_step": 0}, "year_step"), ({"design": "anecdote"}, "design")])
def test_invalid_parameters(anon_client, params, field):
    response = anon_client.get("/api/v1/evidence-map/", params)
    assert response.status_code == 400 and field in response.json()


def test_constant_number_of_queries(anon_client, corpus):
    with CaptureQueriesContext(connection) as small:
        anon_client.get("/api/v1/evidence-map/", {"rows": "topic", "cols": "year"})
    for i in range(30):
        factories.study(design="rct", year=1990 + i, topics=[corpus["act"], corpus["youth"]])
    with CaptureQueriesContext(connection) as large:
        body = anon_client.get("/api/v1/evidence-map/", {"rows": "topic", "cols": "year"}).json()
    assert body["total"] == 34
    assert len(large) == len(small) <= 6, [q["sql"][:120] for q in large.captured_queries]
