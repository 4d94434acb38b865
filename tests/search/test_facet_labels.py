"""search.results.label_facets: every facet value with its label, the topics, researchers and institutions
among them read in one query."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from search.backends.base import FacetValue
from search.results import label_facets
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]


def test_labels_of_every_kind_in_one_query():
    topic = factories.topic(slug="a-act", label_en="ACT teams", label_nb="ACT-team")
    kari = factories.researcher(given_name="Kari", family_name="Ødegård")
    place = factories.institution(name_nb="Sykehuset Innlandet")
    missing = max(topic.id, kari.id, place.id) + 50  # gone from the database since it was indexed: left out
    facets = {
        "topic": [FacetValue(topic.id, 4), FacetValue(missing, 1)],
        "researcher": [FacetValue(kari.id, 3), FacetValue(missing, 2)],
        "institution": [FacetValue(place.id, 2)],
        "design": [FacetValue("rct", 5), FacetValue("new-design", 1)],
        "year": [FacetValue(2019, 7)],
    }
    with CaptureQueriesContext(connection) as ctx:
        out = label_facets(facets)
    assert len(ctx.captured_queries) == 1
    assert out["topic"] == [{"value": "a-act", "label": "ACT teams", "label_nb": "ACT-team", "count": 4}]
    assert out["researcher"] == [{"value": kari.id, "label": "Kari Ødegård", "count": 3}]
    assert out["institution"] == [{"value": place.id, "label": "Sykehuset Innlandet", "count": 2}]
    assert out["design"][0]["label"] != "rct" and out["design"][1] == {"value": "new-design", "label": "new-design",
                                                                        "count": 1}
    assert out["year"] == [{"value": 2019, "label": "2019", "count": 7}]


def test_the_same_id_in_two_facets_is_two_things_and_no_named_facet_reads_nothing():
    topic = factories.topic(label_en="Housing")
    person = factories.researcher(given_name="Per", family_name="Hansen")
    facets = {"topic": [FacetValue(topic.id, 1)], "researcher": [FacetValue(topic.id, 1), FacetValue(person.id, 1)]}
    out = label_facets(facets)
    assert out["topic"][0]["label"] == "Housing"
    same = [r for r in out["researcher"] if r["value"] == topic.id]
    assert [r["label"] for r in out["researcher"] if r["value"] == person.id] == ["Per Hansen"]
    assert all(r["label"] != "Housing" for r in same)
    with CaptureQueriesContext(connection) as ctx:
        assert label_facets({"type": [FacetValue("report", 2)]})["type"][0]["count"] == 2
    assert ctx.captured_queries == []
