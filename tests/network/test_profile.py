"""A researcher's profile: affiliations, studies, weighted topics, co-authors, ORCID, membership; no N+1."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.researchers.models import Affiliation
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def kari(db):
    old = factories.institution(name_nb="Universitetet i Oslo")
    now = factories.institution(name_nb="Sykehuset Innlandet")
    kari = factories.researcher(given_name="Kari", family_name="Ødegård", orcid="0000-0002-1825-0097",
                                member_since=datetime.date(2016, 3, 1))
    Affiliation.objects.create(researcher=kari, institution=old, start_date=datetime.date(2005, 1, 1),
                               end_date=datetime.date(2012, 12, 31))
    Affiliation.objects.create(researcher=kari, institution=now, start_date=datetime.date(2013, 1, 1))
    return kari


def test_profile_shows_studies_topics_coauthors_and_membership(anon_client, curator_client, kari):
    act = factories.topic(slug="p-act", label_en="ACT teams")
    housing = factories.topic(slug="p-housing", label_en="Housing")
    per = factories.researcher(given_name="Per", family_name="Sæther", member_since=datetime.date(2020, 1, 1))
    ola = factories.researcher(given_name="Ola", family_name="Hansen")
    s2010 = factories.study(title="Old", year=2010, authors=["Smith, John", kari, per], topics=[act])
    s2020 = factories.study(title="New", year=2020, authors=[kari, per, ola], topics=[act, housing])
    s2015 = factories.study(title="Middle", year=2015, authors=[kari], topics=[act])
    draft = factories.study(title="Draft", year=2024, status="draft", authors=[kari, ola])
    factories.study(title="Not hers", authors=[per])

    body = anon_client.get(f"/api/v1/researchers/{kari.pk}/").json()
    assert [s["id"] for s in body["studies"]] == [s2020.pk, s2015.pk, s2010.pk]  # newest first, no drafts
    assert body["study_count"] == 3
    assert body["studies"][2]["author_position"] == 2
    assert [(t["slug"], t["studies"]) for t in body["topics"]] == [("p-act", 3), ("p-housing", 1)]
    assert body["topics"][1]["weight"] == pytest.approx(1 / 3, abs=0.001)
    assert [(c["full_name"], c["shared_studies"]) for c in body["coauthors"]] == [
        ("Per Sæther", 2), ("Ola Hansen", 1)]
    assert body["coauthors"][0]["first_year"] == 2010 and body["coauthors"][0]["last_year"] == 2020
    assert body["orcid_url"] == "https://orcid.org/0000-0002-1825-0097"
    assert body["network"] == {"is_member": True, "member_since": "2016-03-01", "coauthors": 2,
                               "coauthors_in_network": 1}
    assert [(a["institution_name"], a["current"]) for a in body["affiliations"]] == [
        ("Sykehuset Innlandet", True), ("Universitetet i Oslo", False)]
    assert "email" not in body

    as_curator = curator_client.get(f"/api/v1/researchers/{kari.pk}/").json()
    assert as_curator["studies"][0]["id"] == draft.pk and as_curator["studies"][0]["status"] == "draft"
    assert as_curator["study_count"] == 4


def test_profile_takes_a_constant_number_of_queries(anon_client, kari):
    topics = [factories.topic() for _ in range(4)]

    def grow(n):
        for i in range(n):
            others = [factories.researcher() for _ in range(3)]
            factories.study(authors=[kari, *others, "Unlinked, Person"], topics=topics[: 1 + i % 4], year=2000 + i)

    grow(1)
    with CaptureQueriesContext(connection) as small:
        assert anon_client.get(f"/api/v1/researchers/{kari.pk}/").status_code == 200
    grow(12)
    with CaptureQueriesContext(connection) as large:
        body = anon_client.get(f"/api/v1/researchers/{kari.pk}/").json()
    assert body["study_count"] == 13 and len(body["coauthors"]) == 39
    assert len(large) == len(small) <= 8, [q["sql"][:100] for q in large.captured_queries]


def test_member_list_filters(anon_client):
    trust = factories.institution(health_region="west")
    unit = factories.institution(parent=trust)
    topic = factories.topic(slug="f-topic")
    child = factories.topic(slug="f-child", parent=topic)
    early = factories.researcher(institution=unit, member_since=datetime.date(2014, 1, 1))
    late = factories.researcher(member_since=datetime.date(2021, 6, 1))
    writer = factories.researcher()
    factories.study(authors=[writer], topics=[child])
    factories.study(authors=[late], topics=[child], status="draft")  # drafts do not count
    late.interests.add(factories.topic())
    left = factories.researcher(member_since=datetime.date(2015, 1, 1))
    Affiliation.objects.create(researcher=left, institution=unit, end_date=datetime.date(2016, 1, 1))

    def ids(**params):
        response = anon_client.get("/api/v1/researchers/", params)
        assert response.status_code == 200, response.json()
        return {r["id"] for r in response.json()["results"]}

    assert ids(member="true", member_since_to="2015-12-31") == {early.pk, left.pk}
    assert ids(member_since_from="2020-01-01") == {late.pk}
    assert ids(institution=trust.pk) == {early.pk, left.pk}        # a parent finds its sub-units' people
    assert ids(institution=trust.pk, current="true") == {early.pk}  # past affiliations left out
    assert ids(health_region="west", current="true") == {early.pk}
    assert ids(topic="f-topic") == {writer.pk}                      # through a published study on a sub-topic
    early.interests.add(child)
    assert ids(topic="f-topic") == {writer.pk, early.pk}           # or an interest
    assert ids(topic="no-such-topic") == set()
