from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils.translation import get_language

from apps.common.roles import is_curator
from apps.studies.models import Authorship, Study
from apps.summaries.models import Summary
from search.backends.base import SearchUnavailable
from search.results import hydrate, related as related_studies

from .. import features
from ..citation import study_bibtex
from .common import page

AUDIENCE_ORDER = {"practitioners": 0, "users_relatives": 1, "researchers": 2}
RELATED = 6


def study(request, pk):
    curator = is_curator(request.user)
    obj = get_object_or_404(
        Study.objects.visible_to(request.user).select_related("venue").prefetch_related(
            Prefetch("authorships", queryset=Authorship.objects.order_by("position").select_related("researcher")),
            "topics", "source_record"),
        pk=pk)
    language = get_language() or "nb"
    summaries = sorted(Summary.objects.visible_to(request.user).filter(studies=obj).distinct(),
                       key=lambda s: (s.language != language, AUDIENCE_ORDER.get(s.audience, 9), s.pk))
    try:
        hits = related_studies(obj.pk, include_drafts=curator, size=RELATED)
        related = hydrate("studies", hits, request.user)
    except SearchUnavailable:
        related = None
    identifiers = []
    if obj.doi:
        identifiers.append(("DOI", obj.doi, f"https://doi.org/{obj.doi}"))
    if obj.pmid:
        identifiers.append(("PMID", obj.pmid, f"https://pubmed.ncbi.nlm.nih.gov/{obj.pmid}/"))
    if obj.pmcid:
        identifiers.append(("PMCID", obj.pmcid, f"https://www.ncbi.nlm.nih.gov/pmc/articles/{obj.pmcid}/"))
    if obj.isbn:
        identifiers.append(("ISBN", obj.isbn, None))
    if obj.url:
        identifiers.append(("URL", obj.url, obj.url))
    return page(request, "web/study.html", {
        "study": obj, "summaries": summaries, "related": related, "identifiers": identifiers,
        "bibtex": study_bibtex(obj), "curator": curator,
        "exports": [(label, f"/api/v1/studies/{obj.pk}/export/?format={code}") for code, label in features.EXPORT_FORMATS]
        if features.has_study_export() else [],
        "topics": list(obj.topics.all()),
    }, nav="search")
