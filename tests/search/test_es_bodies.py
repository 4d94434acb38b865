"""The search requests, written as plain data, are the requests elasticsearch-dsl wrote, and answer alike."""

import pytest
from django.contrib.auth.models import AnonymousUser
from elasticsearch.dsl import Q, Search

from search.backends.es_query import FACET_FIELDS, filters_of, sort_order, text_query
from search.backends.elasticsearch import FACET_SIZE, FACETS
from apps.studies.models import Study
from search.params import SearchParamsSerializer, build_request, encode_cursor
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


HIT_REQUESTS = REQUESTS + [
    {"q": "housing", "sort": "newest", "page": 2, "page_size": 3},
    {"q": "housing", "sort": "oldest", "highlight": "false"},
    {"q": "", "sort": "title"},
    {"q": "title:housing treatment", "sort": "relevance", "design": "rct"},
    {"q": "kari", "type": "researchers"},
    {"q": "housing", "type": "summaries", "page": 2},
]


def _dsl_hits(index, request):
    """The ranked page's request as elasticsearch-dsl objects (kb's code before it was written as data)."""
    kind = request.kind
    always, facet_filters = filters_of(request)
    s = Search(index=index).query(Q("bool", must=[text_query(kind, request.query)], filter=always))
    if facet_filters:
        s = s.post_filter(Q("bool", filter=list(facet_filters.values())))
    s = s.sort(*sort_order(kind, request.sort, request.query))
    if request.search_after:
        s = s.extra(search_after=request.search_after, size=request.page_size)
    else:
        s = s.extra(from_=(request.page - 1) * request.page_size, size=request.page_size)
    with_facets = request.facets and kind == "studies"
    by_relevance = kind != "studies" or (request.sort == "relevance" and not request.query.is_empty)
    s = s.extra(track_total_hits=not with_facets, track_scores=not by_relevance).source(False)
    if request.highlight and not request.query.is_empty:
        base = {"studies": [("title", 0), ("abstract", 2)], "researchers": [("name", 0)],
                "summaries": [("title", 0), ("body", 2)]}[kind]
        s = s.highlight_options(pre_tags=["<mark>"], post_tags=["</mark>"], encoder="html",
                                require_field_match=False)
        for name, count in base:
            variants = [name] if kind == "researchers" else [name, f"{name}.folded", f"{name}.en"]
            s = s.highlight(*variants, number_of_fragments=count, fragment_size=160)
    return s.to_dict()


def test_the_hits_body_is_elasticsearch_dsls_and_finds_the_same(es_backend):
    for i in range(8):
        factories.study(title=f"Housing first and treatment {i}", abstract="Housing for people with ruslidelser.",
                        year=2008 + i, design="rct" if i % 2 else "cohort")
    es_backend.index("studies", list(Study.objects.values_list("id", flat=True)))
    refresh(es_backend)
    for params in HIT_REQUESTS:
        request = _request(params)
        hits, _ = es_backend.build_searches(request)
        index = es_backend.alias(request.kind)
        expected = _dsl_hits(index, request)
        assert hits.to_dict() == expected, params
        if request.kind == "studies":
            ours = es_backend.client.search(index=index, body=hits.to_dict())["hits"]["hits"]
            theirs = es_backend.client.search(index=index, body=expected)["hits"]["hits"]
            assert [(h["_id"], h.get("highlight")) for h in ours] == [(h["_id"], h.get("highlight")) for h in theirs]
    # a page through the cursor: the request after the last hit
    first = es_backend.search(_request({"q": "housing", "sort": "newest", "page_size": 3}))
    assert first.next_cursor is not None and len(first.hits) == 3
    request = _request({"q": "housing", "sort": "newest", "page_size": 3, "cursor": encode_cursor(first.next_cursor)})
    hits, _ = es_backend.build_searches(request)
    assert request.search_after and hits.to_dict() == _dsl_hits(es_backend.alias("studies"), request)
    after = es_backend.search(request)
    assert len(after.hits) == 3 and not {h.id for h in after.hits} & {h.id for h in first.hits}
