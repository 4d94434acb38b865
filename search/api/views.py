from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common import prepared
from apps.common.roles import is_curator

from ..backends import get_backend
from ..backends.base import MAX_WINDOW
from ..params import SearchParamsSerializer, build_request, encode_cursor
from ..query import clean
from ..results import hydrate, label_facets_later, search as search_results
from .serializers import (
    ResearcherHitSerializer, SearchResponseSerializer, SuggestResponseSerializer, SummaryHitSerializer,
    study_hit_rows_later,
)

#: the other kinds' hits (studies are read as rows: ``study_hit_rows_later``)
HIT_SERIALIZERS = {"researchers": ResearcherHitSerializer,
                   "summaries": SummaryHitSerializer}

QUERY_SYNTAX = """
Search studies (default), researchers or summaries in Norwegian and English.

**Query syntax** (`q`):

| you type | it means |
|---|---|
| `integrated treatment` | up to three words must all match; a longer query (a pasted title, claim or question) finds every study with any of its words, those with most of them (BM25) first |
| `"assertive community treatment"` | the words in this order |
| `housing OR bolig` | either |
| `-alcohol`, `NOT alcohol` | must not match |
| `title:fact`, `author:Ødegård`, `abstract:cannabis`, `topic:youth` | one field |
| `doi:10.1176/appi.ps.52.4.469` | an identifier |
| `year:2015..2020`, `year:2019`, `year:..2010` | a year or range |
| `psykos*` | words beginning with "psykos" |

Words are stemmed (`ruslidelser` finds `ruslidelse`, `treatments` finds `treatment`) and æ/ø/å may be typed
without accents (`pasientforlop` finds `pasientforløp`). Malformed input never fails: unbalanced quotes and
dangling operators are ignored (see `warnings`); a query longer than 1,000 characters is a 400.

**Ranking** (`ranking`): `hybrid`, the default when semantic search is on, adds the 100 studies nearest the
query in meaning (a multilingual sentence-embedding model, so a Norwegian query finds English studies) to the
word matches and fuses both orders; `lexical` ranks by the words alone. Each hit says `why`. The bilingual
ROP vocabulary also searches the other language's terms (`ruslidelse` -> "substance use disorder"), listed
in `expansions`; `unexpand=<text>` drops one, `expand=false` all.

Facets are counted with every other active filter applied, so choosing a value in one facet narrows the
others. Page numbers reach the first 10,000 hits; `next_cursor` goes on beyond.
"""


class SearchView(APIView):
    permission_classes = [AllowAny]
    uses_search_engine = True

    @extend_schema(parameters=[SearchParamsSerializer], responses=SearchResponseSerializer,
                   description=QUERY_SYNTAX, operation_id="search")
    def get(self, request):
        params = SearchParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        search_request = build_request(data, request.user)
        backend = get_backend()
        result = search_results(search_request)
        past_window = search_request.past_window
        hits = [] if past_window else result.hits
        # the common case: studies read as rows (StudyHitSerializer's output) with the facets' labels, the two
        # queries in one round trip
        with prepared.together():
            results = study_hit_rows_later(hits, request.user) if search_request.kind == "studies" else None
            facets = label_facets_later(result.facets)
        if results is not None:
            results = results()
        else:
            objects = hydrate(search_request.kind, hits, request.user)
            results = HIT_SERIALIZERS[search_request.kind](objects, many=True, context={"request": request}).data
        page, size = data["page"], search_request.page_size
        has_next = not data.get("cursor") and page * size < min(result.total, MAX_WINDOW)
        previous = min(page - 1, MAX_WINDOW // size)  # past the window: its last page
        return Response({
            "count": result.total,
            "next": _page_url(request, page + 1) if has_next else None,
            "previous": _page_url(request, previous) if page > 1 and not data.get("cursor") else None,
            "next_cursor": None if past_window else encode_cursor(result.next_cursor),
            "results": results,
            "facets": facets(),
            "did_you_mean": result.did_you_mean,
            "warnings": search_request.query.warnings,
            "backend": backend.name,
            "ranking": result.ranking,
            "expansions": [{"text": e.text, "language": e.language, "source": list(e.source)}
                           for e in search_request.query.expansions],
            "took_ms": result.took_ms,
        })


def _page_url(request, page):
    params = request.query_params.copy()
    params["page"] = page
    return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")


class SuggestParamsSerializer(serializers.Serializer):
    q = serializers.CharField(max_length=200, help_text="The first characters typed.")
    size = serializers.IntegerField(min_value=1, max_value=20, default=8)


class SuggestView(APIView):
    permission_classes = [AllowAny]
    uses_search_engine = True

    @extend_schema(parameters=[SuggestParamsSerializer], responses=SuggestResponseSerializer,
                   description="Autocomplete study titles, researcher names and topics from the first characters.",
                   operation_id="search_suggest")
    def get(self, request):
        params = SuggestParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        q, size = params.validated_data["q"], params.validated_data["size"]
        suggestions = get_backend().suggest(clean(q), include_drafts=is_curator(request.user), size=size)
        return Response({"suggestions": [{"kind": s.kind, "id": s.id, "text": s.text} for s in suggestions]})
