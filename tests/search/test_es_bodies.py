"""The counting request, written as plain data, is the request elasticsearch-dsl writes, and counts alike."""

import pytest
from django.contrib.auth.models import AnonymousUser
from elasticsearch.dsl import Q, Search

from search.backends.es_query import FACET_FIELDS, filters_of, text_query
from search.backends.elasticsearch import FACET_SIZE, FACETS
from apps.studies.models import Study
from search.params import SearchParamsSerializer, build_request
from tests import factories
from tests.search.conftest import refresh

pytestmark = [pytest.mark.django_db, pytest.mark.elasticsearch]

REQUESTS = [
    {"q": "housing"},
    {"q": "assertive community treatment", "design": "rct,cohort"},
    {"q": "bolig year:2005..2020", "language": "nb,en", "study_type": "article"},
    {"q": "", "year_from": 2010, "year_to": 2020, "has_summary": "true"},
    {"q": "act", "researcher": "1,2", "institution": "1", "design": "rct"},
    {"q": "treatment", "facets": "false"},
]


def _request(params):
    serializer = SearchParamsSerializer(data=params)
    serializer.is_valid(raise_exception=True)
    return build_request(serializer.validated_data, AnonymousUser())


def _dsl_counting(index, request, aggs=True):
    """The counting request as elasticsearch-dsl objects (kb's code before it was written as data)."""
    always, facet_filters = filters_of(request)
    f = Search(index=index).query(Q("bool", filter=[text_query("studies", request.query), *always]))
    if facet_filters:
        f.aggs.bucket("f_all", "filter", filter=Q("bool", filter=list(facet_filters.values())))
    for name in FACETS if aggs else ():
        others = [v for k, v in facet_filters.items() if k != name]
        bucket = f.aggs.bucket(f"f_{name}", "filter", filter=Q("bool", filter=others) if others else Q("match_all"))
        if name == "year":
            bucket.bucket("values", "histogram", field="year", interval=1, min_doc_count=1)
        else:
            bucket.bucket("values", "terms", field=FACET_FIELDS[name], size=FACET_SIZE)
    return f.extra(size=0, track_total_hits=True).to_dict()


def test_the_counting_body_is_elasticsearch_dsls_and_counts_the_same(es_backend):
    author = factories.researcher(institution=factories.institution())
    for i in range(6):
        factories.study(title=f"Housing first and assertive community treatment {i}", year=2008 + i,
                        design="rct" if i % 2 else "cohort", language="en" if i % 3 else "nb",
                        authors=[author] if i < 3 else [])
    es_backend.index("studies", list(Study.objects.values_list("id", flat=True)))
    refresh(es_backend)
    index = es_backend.alias("studies")
    for params in REQUESTS:
        request = _request(params)
        hits, counting = es_backend.build_searches(request)
        if not request.facets:
            assert counting is None
            continue
        expected = _dsl_counting(index, request)
        assert counting.to_dict() == expected, params
        body = es_backend.msearch_body([counting])
        assert body[0] == {"index": index, "request_cache": True}
        ours = es_backend.client.search(index=index, body=body[1])
        theirs = es_backend.client.search(index=index, body=expected)
        assert ours["aggregations"] == theirs["aggregations"] and ours["hits"]["total"] == theirs["hits"]["total"]
    # the facets count what they should: each facet without its own filter
    counted = es_backend.search(_request({"q": "housing", "design": "rct"}))
    assert counted.total == 3
    assert {v.value: v.count for v in counted.facets["design"]} == {"rct": 3, "cohort": 3}
    assert {v.value: v.count for v in counted.facets["researcher"]} == {author.id: 1}
