"""GET /api/v1/experts/?q=...: researchers ranked by the relevance of their studies, with evidence."""

import datetime

import pytest

from tests import factories
from tests.network.conftest import index_studies

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(db):
    kari = factories.researcher(given_name="Kari", family_name="Ødegård", member_since=datetime.date(2016, 1, 1),
                                institution=factories.institution(name_nb="Sykehuset Innlandet"))
    per = factories.researcher(given_name="Per", family_name="Sæther")
    ola = factories.researcher(given_name="Ola", family_name="Hansen")
    return {"kari": kari, "per": per, "ola": ola}


@pytest.fixture
def corpus(people):
    kari, per, ola = people["kari"], people["per"], people["ola"]
    s = {
        "fact1": factories.study(title="FACT teams and assertive community treatment in Norway",
                                 abstract="Assertive community treatment for dual diagnosis.", year=2019,
                                 authors=[kari, "Smith, John"]),
        "fact2": factories.study(title="Implementing FACT teams: assertive community treatment",
                                 abstract="Fidelity of assertive community treatment teams.", year=2021,
                                 authors=[kari, per]),
        "housing": factories.study(title="Housing first for people with substance use disorders",
                                   abstract="A cohort on housing.", year=2018, authors=[per, ola]),
        "draft": factories.study(title="Assertive community treatment draft", status="draft", year=2022,
                                 authors=[ola]),
        "unlinked": factories.study(title="Assertive community treatment abroad", year=2015,
                                    authors=["Brown, Ann"]),
    }
    return s


def test_experts_are_ranked_by_relevant_studies_with_evidence(anon_client, backend, people, corpus):
    index_studies(backend)
    response = anon_client.get("/api/v1/experts/", {"q": "assertive community treatment"})
    assert response.status_code == 200, response.json()
    body = response.json()
    results = body["results"]
    assert [e["id"] for e in results][:2] == [people["kari"].pk, people["per"].pk]
    assert people["ola"].pk not in [e["id"] for e in results]  # only a draft on the subject
    kari = results[0]
    assert kari["matching_studies"] == 2 and kari["is_member"] is True
    assert kari["institutions"] == ["Sykehuset Innlandet"]
    assert {s["id"] for s in kari["evidence"]} == {corpus["fact1"].pk, corpus["fact2"].pk}
    assert kari["score"] > results[1]["score"] > 0
    assert all(0 < s["relevance"] <= 1.0 for e in results for s in e["evidence"])
    assert kari["evidence"][0]["relevance"] >= kari["evidence"][1]["relevance"]  # best evidence first
    assert body["total_matching_studies"] == 3  # fact1, fact2, unlinked (no draft for readers)


def test_filters_members_only_and_limits(anon_client, backend, people, corpus):
    index_studies(backend)
    ids = lambda **p: [e["id"] for e in anon_client.get("/api/v1/experts/", p).json()["results"]]  # noqa: E731
    assert ids(q="assertive community treatment", members_only="true") == [people["kari"].pk]
    assert ids(q="assertive community treatment", year_from=2020) == [people["kari"].pk, people["per"].pk]
    assert ids(q="assertive community treatment", limit=1) == [people["kari"].pk]
    assert set(ids(q="housing")) == {people["per"].pk, people["ola"].pk}
    body = anon_client.get("/api/v1/experts/", {"q": "assertive community treatment", "evidence": 1}).json()
    assert all(len(e["evidence"]) == 1 for e in body["results"])


def test_curators_may_include_drafts(curator_client, backend, people, corpus):
    index_studies(backend)
    ids = [e["id"] for e in curator_client.get("/api/v1/experts/", {"q": "assertive community treatment",
                                                                   "include_drafts": "true"}).json()["results"]]
    assert people["ola"].pk in ids


def test_without_words_the_experts_have_most_of_the_selected_studies(anon_client, people, corpus):
    """No words to look for (none, blanks, only an operator): every study the filters select counts alike."""
    for q in ("", "  ", "-"):
        response = anon_client.get("/api/v1/experts/", {"q": q, "year_from": 2019})
        assert response.status_code == 200, response.json()
        body = response.json()
        assert [(e["id"], e["matching_studies"]) for e in body["results"]] == [
            (people["kari"].pk, 2), (people["per"].pk, 1)]
        assert body["total_matching_studies"] == body["studies_considered"] == 2
    experts = anon_client.get("/api/v1/experts/").json()["results"]
    assert [e["id"] for e in experts] == [people["kari"].pk, people["per"].pk, people["ola"].pk]  # no draft


@pytest.mark.parametrize("params,field", [({"q": "x", "limit": 0}, "limit"),
                                          ({"q": "x", "design": "anecdote"}, "design")])
def test_invalid_requests(anon_client, params, field):
    response = anon_client.get("/api/v1/experts/", params)
    assert response.status_code == 400 and field in response.json()


def test_no_match_is_an_empty_list(anon_client, db_only_backend):
    factories.study(title="Something else")
    response = anon_client.get("/api/v1/experts/", {"q": "zebrafish"})
    assert response.status_code == 200 and response.json()["results"] == []


@pytest.fixture
def db_only_backend(settings, db):
    from tests.search.conftest import use_backend

    return use_backend(settings, "database")
