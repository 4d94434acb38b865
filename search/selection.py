"""The studies that a set of search parameters selects: the search API's ``q`` and filters.

Shared by the evidence map, the expert finder and the feeds, so "the studies behind this search"
means the same everywhere. With a query the search backend ranks the matches (whichever backend
is configured: only ``search.backends`` is used); without one, the filters are plain SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from apps.common.sql import id_list
from apps.studies.models import Study
from search import backends as search_backends
from search.backends.base import MAX_WINDOW, SearchFilters, SearchRequest
from search.params import SearchParamsSerializer, build_request


class StudySelectionParams(SearchParamsSerializer):
    """The search API's query and filters, without its paging, sorting and display options."""

    type = None
    sort = None
    page = None
    page_size = None
    cursor = None
    facets = None
    highlight = None

    def validate(self, attrs):
        attrs.update(type="studies", sort="relevance", page=1, page_size=20, facets=False, highlight=False)
        return super().validate(attrs)


#: Parameter names a search URL carries over (what ``StudySelectionParams`` reads).
SELECTION_PARAMS = tuple(StudySelectionParams().fields)


@dataclass
class Selection:
    request: SearchRequest
    queryset: QuerySet            # the selected studies, visibility applied
    scores: dict | None = None    # study id -> relevance, when a query was given
    ranked_ids: list | None = None
    total: int | None = None      # matches the backend counted (may be more than ranked_ids)

    @property
    def truncated(self):
        return self.ranked_ids is not None and (self.total or 0) > len(self.ranked_ids)


def apply_filters(qs, f: SearchFilters, year_from=None, year_to=None):
    """``SearchFilters`` (and a query's own year bounds) as SQL over studies: ``StudyQuerySet.matching``."""
    qs = qs.matching(f)
    if year_from is not None:
        qs = qs.filter(year__gte=year_from)
    if year_to is not None:
        qs = qs.filter(year__lte=year_to)
    return qs


def select(data, user, limit=MAX_WINDOW, include_drafts=None) -> Selection:
    """The studies that validated ``StudySelectionParams`` data selects for ``user``.

    ``limit`` caps how many ranked matches are taken from the backend when there is a query (the
    selection is then ``truncated``). ``include_drafts=False`` forces published studies only.
    """
    request = build_request(data, user)
    request.kind, request.facets, request.highlight = "studies", False, False
    request.explain_did_you_mean = False
    if include_drafts is False:
        request.filters.include_drafts = False
    base = Study.objects.all() if request.filters.include_drafts else Study.objects.published()
    query = request.query
    if query.is_empty:
        return Selection(request, apply_filters(base, request.filters, query.year_from, query.year_to))
    request.sort, request.page, request.page_size, request.search_after = "relevance", 1, limit, None
    response = search_backends.get_backend().search(request)
    ids = [hit.id for hit in response.hits]
    scores = {hit.id: (float(hit.score) if hit.score is not None else None) for hit in response.hits}
    return Selection(request, base.filter(id__in=id_list(ids)), scores, ids, response.total)


def expand_tree(model, roots):
    """Ids of ``roots`` and all their descendants, from one query over (id, parent) pairs."""
    roots = {int(r) for r in roots}
    children = {}
    for pk, parent in model.objects.values_list("id", "parent_id"):
        children.setdefault(parent, []).append(pk)
    out, stack = set(), [r for r in roots]
    while stack:
        node = stack.pop()
        if node in out:
            continue
        out.add(node)
        stack.extend(children.get(node, []))
    return out
