"""GET /api/v1/network/: a d3-force graph of co-authorship with degree, centrality and link years."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def net(db):
    act = factories.topic(slug="n-act")
    act_child = factories.topic(slug="n-fact", parent=act)
    other = factories.topic(slug="n-other")
    trust = factories.institution(name_nb="Sykehuset Innlandet", short_name="SI")
    unit = factories.institution(name_nb="Divisjon psykisk helsevern", parent=trust)
    a = factories.researcher(given_name="Anne", family_name="A", institution=unit,
                             member_since=datetime.date(2015, 1, 1))
    b = factories.researcher(given_name="Bjørn", family_name="B", member_since=datetime.date(2018, 1, 1))
    c = factories.researcher(given_name="Cecilie", family_name="C")
    d = factories.researcher(given_name="Dag", family_name="D")
    factories.study(year=2012, authors=[a, b, "Unlinked, Ulf"], topics=[act])
    factories.study(year=2019, authors=[b, a], topics=[act_child])
    factories.study(year=2016, authors=[b, c], topics=[other])
    factories.study(year=2021, authors=[d])
    factories.study(year=2022, authors=[a, d], status="draft")
    return {"a": a, "b": b, "c": c, "d": d, "trust": trust}


def _graph(client, **params):
    response = client.get("/api/v1/network/", params)
    assert response.status_code == 200, response.json()
    body = response.json()
    nodes = {n["id"]: n for n in body["nodes"]}
    links = {tuple(sorted((l["source"], l["target"]))): l for l in body["links"]}
    return body, nodes, links


def r(person):
    return f"r{person.pk}"


def test_graph_shape_for_d3(anon_client, net):
    body, nodes, links = _graph(anon_client)
    a, b, c, d = net["a"], net["b"], net["c"], net["d"]
    assert set(nodes) == {r(a), r(b), r(c), r(d)}  # researchers with a published study; drafts do not count
    assert set(links) == {tuple(sorted((r(a), r(b)))), tuple(sorted((r(b), r(c))))}
    ab = links[tuple(sorted((r(a), r(b))))]
    assert (ab["weight"], ab["first_year"], ab["last_year"], ab["type"]) == (2, 2012, 2019, "coauthor")
    for link in body["links"]:  # d3-force resolves source/target against node ids
        assert link["source"] in nodes and link["target"] in nodes
    assert nodes[r(b)]["degree"] == 2 and nodes[r(a)]["degree"] == 1 and nodes[r(d)]["degree"] == 0
    assert nodes[r(b)]["weighted_degree"] == 3 and nodes[r(b)]["studies"] == 3
    assert nodes[r(b)]["label"] == "Bjørn B" and nodes[r(b)]["member"] is True
    assert nodes[r(b)]["centrality"] == pytest.approx(2 / 3)  # degree centrality: 2 of 3 others
    assert body["nodes"][0]["id"] == r(b)                       # most central first
    assert body["meta"]["researchers"] == 4 and body["meta"]["studies"] == 4


@pytest.mark.parametrize("measure", ["degree", "eigenvector", "betweenness"])
def test_centrality_measures(anon_client, net, measure):
    body, nodes, _ = _graph(anon_client, centrality=measure)
    assert body["meta"]["centrality"] == measure
    b, a = nodes[r(net["b"])], nodes[r(net["a"])]
    assert b["centrality"] > a["centrality"] >= 0  # b bridges a and c
    assert nodes[r(net["d"])]["centrality"] == 0


def test_filters(anon_client, curator_client, net):
    a, b, c, d = net["a"], net["b"], net["c"], net["d"]
    _, nodes, links = _graph(anon_client, topic="n-act")  # includes the sub-topic n-fact
    assert set(nodes) == {r(a), r(b)} and links[tuple(sorted((r(a), r(b))))]["weight"] == 2
    _, nodes, links = _graph(anon_client, year_from=2015, year_to=2020)
    assert set(nodes) == {r(a), r(b), r(c)} and links[tuple(sorted((r(a), r(b))))]["first_year"] == 2019
    _, nodes, _ = _graph(anon_client, members_only="true")
    assert set(nodes) == {r(a), r(b)}
    _, nodes, _ = _graph(anon_client, institution=net["trust"].pk)  # affiliated with a sub-unit
    assert set(nodes) == {r(a)}
    _, nodes, links = _graph(anon_client, min_weight=2)
    assert set(links) == {tuple(sorted((r(a), r(b))))} and nodes[r(c)]["degree"] == 0
    _, nodes, _ = _graph(anon_client, include_drafts="true")  # ignored for readers
    assert nodes[r(d)]["degree"] == 0
    _, nodes, links = _graph(curator_client, include_drafts="true")
    assert tuple(sorted((r(a), r(d)))) in links


def test_institution_nodes(anon_client, net):
    _, nodes, links = _graph(anon_client, include_institutions="true")
    unit_nodes = [n for n in nodes.values() if n["type"] == "institution"]
    assert [n["label"].split(" (")[0] for n in unit_nodes] == ["Divisjon psykisk helsevern"]
    unit = unit_nodes[0]
    assert unit["degree"] == 1 and unit["centrality"] is None
    assert links[tuple(sorted((r(net["a"]), unit["id"])))]["type"] == "affiliation"


@pytest.mark.parametrize("params", [{"centrality": "magic"}, {"institution": "x"}, {"min_weight": 0},
                                    {"year_from": "soon"}, {"topic": "\x00jY\xf3"}])
def test_invalid_parameters(anon_client, params):
    response = anon_client.get("/api/v1/network/", params)
    assert response.status_code == 400 and set(params) <= set(response.json())


def test_constant_number_of_queries(anon_client):
    topic = factories.topic(slug="q-topic")

    def grow(n):
        people = [factories.researcher(member_since=datetime.date(2020, 1, 1)) for _ in range(n)]
        for i in range(n):
            factories.study(authors=[people[i], people[(i + 1) % n], people[(i + 3) % n]], topics=[topic])

    grow(3)
    params = {"topic": "q-topic", "members_only": "true", "include_institutions": "true"}
    with CaptureQueriesContext(connection) as small:
        anon_client.get("/api/v1/network/", params)
    grow(30)
    with CaptureQueriesContext(connection) as large:
        body = anon_client.get("/api/v1/network/", params).json()
    assert len(body["nodes"]) == 33
    assert len(large) == len(small) <= 5, [q["sql"][:120] for q in large.captured_queries]


@pytest.mark.parametrize("measure", ["eigenvector", "betweenness"])
def test_slow_measures_fall_back_to_degree_beyond_the_work_budget(anon_client, net, monkeypatch, measure):
    from apps.network import graph

    monkeypatch.setattr(graph, "WORK_BUDGET", 2)  # 2 links: 1 source of 4, no full iteration
    body, nodes, _ = _graph(anon_client, centrality=measure)
    assert body["meta"]["centrality"] == "degree" and "too many" in body["meta"]["centrality_note"]
    assert nodes[r(net["b"])]["centrality"] == pytest.approx(2 / 3)


def test_betweenness_is_sampled_in_large_networks(anon_client, net, monkeypatch):
    from apps.network import graph

    monkeypatch.setattr(graph, "WORK_BUDGET", 6)   # 2 links: 3 sources of 4
    monkeypatch.setattr(graph, "MIN_SOURCES", 2)
    body, _, _ = _graph(anon_client, centrality="betweenness")
    assert body["meta"]["centrality"] == "betweenness"
    assert body["meta"]["centrality_note"] == "Estimated from 3 of 4 researchers as sources."
