"""The expert finder: researchers ranked by how relevant their studies are to a query.

The query (and any search filters) goes through the configured search backend; the best ``HITS``
studies and their relevance scores come back; each score is divided by the best one (so scores
from either backend fall in 0-1) and summed over each study's linked authors. A researcher's
evidence is their best-matching studies. A constant number of queries after the search.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Prefetch, Q
from django.utils import timezone

from apps.researchers.models import Affiliation, Researcher
from apps.studies.models import Authorship

from apps.common.sql import id_list
from search.selection import select

HITS = 200


def _normalized(selection):
    """Study id -> relevance in 0-1. Without scores from the backend, the rank decides (1, 0.99, ...)."""
    ids = selection.ranked_ids or []
    scores = selection.scores or {}
    best = max((s for s in scores.values() if s), default=None)
    if best:
        return {i: (scores.get(i) or 0.0) / best for i in ids}
    return {i: max(0.01, 1.0 - rank / max(len(ids), 1)) for rank, i in enumerate(ids)}


def find_experts(data, user, limit=20, evidence=3, members_only=False) -> dict:
    """Experts for the query and filters of ``data``. Without words to look for, every study the filters
    select is equally relevant (the newest ``HITS`` are considered): the experts are the researchers with most
    of them, e.g. the most published on a topic."""
    selection = select(data, user, limit=HITS)
    if selection.ranked_ids is None:  # no words: the filters alone
        considered = selection.queryset.order_by("-year", "-id").values_list("id", flat=True)
        relevance = {pk: 1.0 for pk in considered[:HITS]}
        total = selection.queryset.count() if len(relevance) == HITS else len(relevance)
        studies = selection.queryset.filter(id__in=id_list(relevance)) if relevance else None
    else:
        relevance, total, studies = _normalized(selection), selection.total or 0, selection.queryset
    empty = {"total_matching_studies": total, "studies_considered": len(relevance), "results": []}
    if not relevance:
        return empty
    # the visible studies among the hits (the index may lag behind a change of status)
    rows = (Authorship.objects.filter(study__in=studies.values("id"), researcher__isnull=False)
            .order_by().values_list("researcher_id", "study_id", "study__title", "study__year").distinct())
    if members_only:
        rows = rows.filter(researcher__member_since__isnull=False)
    score = defaultdict(float)
    studies_of = defaultdict(dict)
    titles = {}
    for researcher_id, study_id, title, year in rows:
        if study_id in studies_of[researcher_id]:
            continue
        studies_of[researcher_id][study_id] = relevance.get(study_id, 0.0)
        score[researcher_id] += relevance.get(study_id, 0.0)
        titles[study_id] = (title, year)
    if not score:
        return empty
    best = sorted(score, key=lambda r: (-score[r], -len(studies_of[r]), r))[:limit]
    today = timezone.localdate()
    current = Affiliation.objects.filter(Q(end_date__isnull=True) | Q(end_date__gte=today)).select_related(
        "institution")
    people = {r.pk: r for r in Researcher.objects.filter(id__in=id_list(best))
              .prefetch_related(Prefetch("affiliations", queryset=current))}
    results = []
    for pk in best:
        person = people.get(pk)
        if person is None:
            continue
        top = sorted(studies_of[pk].items(), key=lambda kv: (-kv[1], -(titles[kv[0]][1] or 0), kv[0]))[:evidence]
        results.append({
            "id": pk, "full_name": person.full_name,
            "orcid_url": f"https://orcid.org/{person.orcid}" if person.orcid else None,
            "is_member": person.member_since is not None,
            "institutions": sorted({a.institution.name_nb for a in person.affiliations.all()}),
            "score": round(score[pk], 4), "matching_studies": len(studies_of[pk]),
            "evidence": [{"id": sid, "title": titles[sid][0], "year": titles[sid][1], "relevance": round(rel, 4)}
                         for sid, rel in top],
        })
    return {**empty, "results": results}
