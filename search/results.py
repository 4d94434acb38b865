"""Turning backend hits into database objects (the database stays the source of what is shown)."""

from django.db.models import Prefetch

from apps.common import pagecache

from apps.researchers.models import Affiliation, Institution, Researcher
from apps.studies.models import Authorship, Study, StudyDesign, StudyType
from apps.summaries.models import Summary
from apps.topics.models import Topic

from .backends import get_backend
from .backends.base import Hit, SearchRequest, SearchResponse


def study_queryset(user):
    summaries = Summary.objects.visible_to(user).only("id", "audience", "language", "title").distinct()
    return (Study.objects.visible_to(user).select_related("venue").prefetch_related(
        Prefetch("authorships", queryset=Authorship.objects.order_by("position")), "topics",
        Prefetch("summaries", queryset=summaries, to_attr="visible_summaries")))


def search(request: SearchRequest) -> SearchResponse:
    """The backend's answer to a search request. One without drafts is the same for every visitor, so
    it is shared through the page cache's store (apps/common/pagecache.py) while that is on: the search
    page and the search API, in either language, ask Elasticsearch once per generation of the index."""
    if request.filters.include_drafts:
        return get_backend().search(request)
    return pagecache.remember("search", repr(request), lambda: get_backend().search(request))


def related(study_id: int, include_drafts: bool, size: int) -> list[Hit]:
    """The backend's related studies of a study, shared like ``search`` when drafts are not included."""
    if include_drafts:
        return get_backend().related(study_id, include_drafts=True, size=size)
    return pagecache.remember("related", f"{study_id}:{size}",
                              lambda: get_backend().related(study_id, include_drafts=False, size=size))


def hydrate(kind, hits, user):
    """The objects for these hits, in hit order, each with ``score`` and ``highlight`` attached."""
    ids = [h.id for h in hits]
    if kind == "studies":
        qs = study_queryset(user)
    elif kind == "researchers":
        qs = Researcher.objects.prefetch_related(
            "interests", Prefetch("affiliations", queryset=Affiliation.objects.select_related("institution")))
    else:
        qs = Summary.objects.visible_to(user).select_related("author", "reviewer").prefetch_related("studies")
    objects = {o.id: o for o in qs.filter(id__in=ids)}
    out = []
    for hit in hits:
        obj = objects.get(hit.id)
        if obj is None:  # the index is ahead of or behind the database for a moment; skip it
            continue
        obj.score = hit.score
        obj.highlight = hit.highlights
        obj.why = hit.why
        out.append(obj)
    return out


def label_facets(facets):
    """Facet values with human labels (topics in both languages), looked up in one query per facet."""
    out = {}
    type_labels, design_labels = dict(StudyType.choices), dict(StudyDesign.choices)
    for name, values in facets.items():
        if name == "topic":
            topics = {t.id: t for t in Topic.objects.filter(id__in=[v.value for v in values])}
            out[name] = [{"value": topics[v.value].slug, "label": topics[v.value].label_en,
                          "label_nb": topics[v.value].label_nb, "count": v.count}
                         for v in values if v.value in topics]
        elif name == "researcher":
            people = Researcher.objects.in_bulk([v.value for v in values])
            out[name] = [{"value": v.value, "label": people[v.value].full_name, "count": v.count}
                         for v in values if v.value in people]
        elif name == "institution":
            places = Institution.objects.in_bulk([v.value for v in values])
            out[name] = [{"value": v.value, "label": places[v.value].name_nb, "count": v.count}
                         for v in values if v.value in places]
        else:
            labels = {"type": type_labels, "design": design_labels}.get(name, {})
            out[name] = [{"value": v.value, "label": str(labels.get(v.value, v.value)), "count": v.count}
                         for v in values]
    return out
