"""Turning backend hits into database objects (the database stays the source of what is shown)."""

from django.db.models import Exists, OuterRef, Prefetch, prefetch_related_objects

from apps.common import pagecache, prepared

from apps.researchers.models import Affiliation, Institution, Researcher
from apps.studies.models import Authorship, Study, StudyDesign, StudyType
from apps.summaries.models import Summary
from apps.topics.models import Topic

from .backends import get_backend
from .backends.base import Hit, SearchRequest, SearchResponse


def study_queryset(user):
    """Studies as a page of hits shows them. Their summaries are read afterwards, and only for the
    studies that have any (``_has_summaries``: most have none, so most pages skip that query)."""
    any_summary = Summary.studies.through.objects.filter(study_id=OuterRef("pk"))
    return (Study.objects.visible_to(user).select_related("venue").annotate(_has_summaries=Exists(any_summary))
            .prefetch_related(Prefetch("authorships", queryset=Authorship.objects.order_by("position")), "topics"))


def _attach_summaries(studies, user):
    """``visible_summaries`` of each study: the summaries ``user`` may see (one query, if any has one)."""
    with_any = [s for s in studies if s._has_summaries]
    for s in studies:
        if not s._has_summaries:  # (prefetching skips an object that has the attribute already)
            s.visible_summaries = []
    if with_any:
        summaries = Summary.objects.visible_to(user).only("id", "audience", "language", "title", "status").distinct()
        prefetch_related_objects(with_any, Prefetch("summaries", queryset=summaries, to_attr="visible_summaries"))


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
    if kind == "studies":
        _attach_summaries(list(objects.values()), user)
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


def _topic_labels(ids):
    return Topic.objects.filter(id__in=ids).order_by().values_list("id", "slug", "label_en", "label_nb")


def _researcher_names(ids):
    return Researcher.objects.filter(id__in=ids).order_by().values_list("id", "given_name", "family_name")


def _institution_names(ids):
    return Institution.objects.filter(id__in=ids).order_by().values_list("id", "name_nb")


def label_facets(facets):
    """Facet values with human labels (topics in both languages), looked up in one query per facet (each
    compiled once: apps/common/prepared.py; this runs on every search)."""
    out = {}
    type_labels, design_labels = dict(StudyType.choices), dict(StudyDesign.choices)
    for name, values in facets.items():
        wanted = list(dict.fromkeys(v.value for v in values))
        if name == "topic":
            topics = {t[0]: t[1:] for t in prepared.rows(_topic_labels, wanted)}
            out[name] = [{"value": topics[v.value][0], "label": topics[v.value][1],
                          "label_nb": topics[v.value][2], "count": v.count}
                         for v in values if v.value in topics]
        elif name == "researcher":
            people = {i: Researcher.join_name(given, family)
                      for i, given, family in prepared.rows(_researcher_names, wanted)}
            out[name] = [{"value": v.value, "label": people[v.value], "count": v.count}
                         for v in values if v.value in people]
        elif name == "institution":
            places = dict(prepared.rows(_institution_names, wanted))
            out[name] = [{"value": v.value, "label": places[v.value], "count": v.count}
                         for v in values if v.value in places]
        else:
            labels = {"type": type_labels, "design": design_labels}.get(name, {})
            out[name] = [{"value": v.value, "label": str(labels.get(v.value, v.value)), "count": v.count}
                         for v in values]
    return out
