from collections import defaultdict
from itertools import combinations

from django.db.models import F, Prefetch
from django.shortcuts import get_object_or_404

from apps.network.profile import build_profile, researcher_studies
from apps.researchers.models import Affiliation, Researcher
from apps.studies.models import Authorship

from .common import page

EGO_COAUTHORS = 40  # the co-authors drawn around a researcher (the most shared studies first)


def researcher(request, pk):
    person = get_object_or_404(Researcher.objects.prefetch_related(
        "interests", Prefetch("affiliations", queryset=Affiliation.objects.select_related("institution").order_by(
            F("end_date").desc(nulls_first=True), F("start_date").desc(nulls_last=True), "id"))), pk=pk)
    profile = build_profile(person, request.user)
    return page(request, "web/researcher.html", {
        "researcher": person, "profile": profile,
        "affiliations": list(person.affiliations.all()),
        "graph": ego_network(person, profile, request.user),
    }, nav="network")


def ego_network(person, profile, user):
    """The researcher, their co-authors, and the co-authorships among those co-authors, as nodes and links."""
    coauthors = profile["coauthors"][:EGO_COAUTHORS]
    if not coauthors:
        return None
    ids = {c["id"] for c in coauthors}
    nodes = [{"id": f"r{person.pk}", "object_id": person.pk, "label": person.full_name, "member": person.is_member,
              "studies": profile["study_count"], "center": True}]
    nodes += [{"id": f"r{c['id']}", "object_id": c["id"], "label": c["full_name"], "member": c["is_member"],
               "studies": c["shared_studies"]} for c in coauthors]
    links = [{"source": f"r{person.pk}", "target": f"r{c['id']}", "weight": c["shared_studies"]} for c in coauthors]
    by_study = defaultdict(set)
    rows = (Authorship.objects.filter(study__in=researcher_studies(person, user), researcher_id__in=ids)
            .values_list("study_id", "researcher_id"))
    for study_id, researcher_id in rows:
        by_study[study_id].add(researcher_id)
    weights = defaultdict(int)
    for people in by_study.values():
        for a, b in combinations(sorted(people), 2):
            weights[(a, b)] += 1
    links += [{"source": f"r{a}", "target": f"r{b}", "weight": w} for (a, b), w in weights.items()]
    return {"nodes": nodes, "links": links}
