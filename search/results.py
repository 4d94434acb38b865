"""Turning backend hits into database objects (the database stays the source of what is shown)."""

from django.db.models import Exists, F, OuterRef, Prefetch, Value, prefetch_related_objects

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


def _labels(ids, topics, people):
    """The facets' labels in one query: ``ids`` holds ``topics`` topic ids, then ``people`` researcher ids,
    then institution ids. Rows of (kind, id, three texts): a topic's slug and labels, a researcher's given and
    family names, an institution's name."""
    parts, blank = [], Value("")
    if topics:
        parts.append(Topic.objects.filter(prepared.InIds(F("id"), ids[:topics])).order_by().annotate(kind=Value("topic"))
                     .values_list("kind", "id", "slug", "label_en", "label_nb"))
    if people:
        parts.append(Researcher.objects.filter(prepared.InIds(F("id"), ids[topics:topics + people])).order_by()
                     .annotate(kind=Value("researcher"), none=blank)
                     .values_list("kind", "id", "given_name", "family_name", "none"))
    if len(ids) > topics + people:
        parts.append(Institution.objects.filter(prepared.InIds(F("id"), ids[topics + people:])).order_by()
                     .annotate(kind=Value("institution"), none=blank).values_list("kind", "id", "name_nb", "none", "none"))
    return parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]


def label_facets(facets):
    """Facet values with human labels (topics in both languages). The topics, researchers and institutions
    among them are looked up in one query, compiled once (apps/common/prepared.py): this runs on every search."""
    return label_facets_later(facets)()


def label_facets_later(facets):
    """``label_facets``, its query sent now (in a ``prepared.together`` block): a function returning them."""
    wanted = {name: prepared.pad(dict.fromkeys(v.value for v in facets.get(name, ())))
              for name in ("topic", "researcher", "institution")}
    answer = prepared.send(_labels, wanted["topic"] + wanted["researcher"] + wanted["institution"],
                           len(wanted["topic"]), len(wanted["researcher"]))
    return lambda: _labelled(facets, answer())


def _labelled(facets, rows):
    found = {"topic": {}, "researcher": {}, "institution": {}}
    for kind, i, *texts in rows:
        found[kind][i] = texts
    out = {}
    type_labels, design_labels = dict(StudyType.choices), dict(StudyDesign.choices)
    for name, values in facets.items():
        known = found.get(name)
        if name == "topic":
            out[name] = [{"value": known[v.value][0], "label": known[v.value][1], "label_nb": known[v.value][2],
                          "count": v.count} for v in values if v.value in known]
        elif name == "researcher":
            out[name] = [{"value": v.value, "label": Researcher.join_name(*known[v.value][:2]), "count": v.count}
                         for v in values if v.value in known]
        elif name == "institution":
            out[name] = [{"value": v.value, "label": known[v.value][0], "count": v.count}
                         for v in values if v.value in known]
        else:
            labels = {"type": type_labels, "design": design_labels}.get(name, {})
            out[name] = [{"value": v.value, "label": str(labels.get(v.value, v.value)), "count": v.count}
                         for v in values]
    return out
