"""The expert finder: researchers ranked by how relevant their studies are to a query.

Calls the same function as ``/api/v1/experts/`` (``apps.network.experts.find_experts``) in-process,
with the same parameters (the search API's query and filters, ``members_only``), and adds each
researcher's most frequent topics for the page.
"""

from collections import defaultdict
from urllib.parse import urlencode

from django.db.models import Count
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.network.api.serializers import ExpertParamsSerializer
from apps.network.experts import find_experts
from apps.studies.models import Study
from apps.topics.models import Topic
from search.backends.base import SearchUnavailable

from ..topics import topic_label
from .common import page
from .search import _errors

LIMIT = 20
TOP_TOPICS = 3


def experts(request):
    q = request.GET.get("q", "").strip()
    members_only = request.GET.get("members_only") == "true"
    context = {"q": q, "members_only": members_only, "results": [], "searched": False, "errors": []}
    if not q:
        return page(request, "web/experts.html", context, nav="experts")
    params = ExpertParamsSerializer(data=request.GET)
    if not params.is_valid():
        context["errors"] = _errors(params.errors)
        return page(request, "web/experts.html", context, nav="experts", status=400)
    data = params.validated_data
    try:
        found = find_experts(data, request.user, limit=min(data["limit"], LIMIT), evidence=data["evidence"],
                             members_only=data["members_only"])
    except SearchUnavailable:
        context["errors"] = [_("Search is not available right now. Please try again in a minute.")]
        return page(request, "web/experts.html", context, nav="experts", status=503)
    results = found["results"]
    topics = top_topics([r["id"] for r in results], request.user)
    for r in results:
        r["topics"] = topics.get(r["id"], [])
    context.update({"searched": True, "results": results, "total_studies": found["total_matching_studies"],
                    "search_url": reverse("web:search") + "?" + urlencode({"q": q})})
    return page(request, "web/experts.html", context, nav="experts")


def top_topics(researcher_ids, user, n=TOP_TOPICS):
    """Researcher id -> their ``n`` most frequent topics over the studies ``user`` may see (one query each
    for the counts and the topics)."""
    if not researcher_ids:
        return {}
    rows = (Study.topics.through.objects
            .filter(study__in=Study.objects.visible_to(user).values("id"),
                    study__authorships__researcher_id__in=researcher_ids)
            .values_list("study__authorships__researcher_id", "topic_id")
            .annotate(studies=Count("study_id", distinct=True)).order_by())
    counts = defaultdict(list)
    for researcher_id, topic_id, studies in rows:
        counts[researcher_id].append((topic_id, studies))
    wanted = {t for pairs in counts.values() for t, _n in pairs}
    by_id = {t.pk: t for t in Topic.objects.filter(pk__in=wanted)}
    out = {}
    for researcher_id, pairs in counts.items():
        pairs.sort(key=lambda p: (-p[1], topic_label(by_id[p[0]])))
        out[researcher_id] = [{"slug": by_id[t].slug, "label": topic_label(by_id[t]), "studies": c,
                               "href": reverse("web:search") + "?" + urlencode({"topic": by_id[t].slug})}
                              for t, c in pairs[:n]]
    return out
