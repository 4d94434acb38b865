"""A researcher's profile beyond the record itself: studies, topics, co-authors and network position.

A fixed number of queries whatever the size of the profile (one each for the studies, their count,
the topic weights and the co-authors).
"""

from __future__ import annotations

from django.db.models import Count, Exists, F, Max, Min, OuterRef, Subquery

from apps.studies.models import Authorship, Study

MAX_STUDIES = 200
MAX_COAUTHORS = 100


def researcher_studies(researcher, user):
    """The studies ``researcher`` is a linked author of that ``user`` may see."""
    return Study.objects.visible_to(user).filter(
        Exists(Authorship.objects.filter(study_id=OuterRef("pk"), researcher_id=researcher.pk)))


def build_profile(researcher, user) -> dict:
    studies = researcher_studies(researcher, user)
    position = Authorship.objects.filter(study_id=OuterRef("pk"), researcher_id=researcher.pk).order_by("position")
    rows = list(studies.select_related("venue")
                .annotate(author_position=Subquery(position.values("position")[:1]))
                .order_by(F("year").desc(nulls_last=True), F("month").desc(nulls_last=True), "-id")
                [:MAX_STUDIES])
    study_count = len(rows) if len(rows) < MAX_STUDIES else studies.count()
    study_ids = studies.values("id")

    topics = list(Study.topics.through.objects.filter(study_id__in=study_ids)
                  .values("topic__slug", "topic__label_nb", "topic__label_en")
                  .annotate(studies=Count("study_id", distinct=True))
                  .order_by("-studies", "topic__label_en"))
    coauthors = list(Authorship.objects.filter(study_id__in=study_ids, researcher__isnull=False)
                     .exclude(researcher_id=researcher.pk)
                     .values("researcher_id", "researcher__given_name", "researcher__family_name",
                             "researcher__member_since")
                     .annotate(studies=Count("study_id", distinct=True), first_year=Min("study__year"),
                               last_year=Max("study__year"))
                     .order_by("-studies", "researcher__family_name", "researcher_id"))

    return {
        "studies": [{
            "id": s.id, "title": s.title, "year": s.year, "type": s.study_type, "design": s.design,
            "venue": s.venue.name if s.venue else None, "doi": s.doi or None, "status": s.status,
            "retracted": s.retracted, "author_position": s.author_position,
        } for s in rows],
        "study_count": study_count,
        "topics": [{
            "slug": t["topic__slug"], "label_nb": t["topic__label_nb"], "label_en": t["topic__label_en"],
            "studies": t["studies"], "weight": round(t["studies"] / study_count, 3) if study_count else 0.0,
        } for t in topics],
        "coauthors": [{
            "id": c["researcher_id"],
            "full_name": f"{c['researcher__given_name']} {c['researcher__family_name']}".strip(),
            "is_member": c["researcher__member_since"] is not None, "shared_studies": c["studies"],
            "first_year": c["first_year"], "last_year": c["last_year"],
        } for c in coauthors[:MAX_COAUTHORS]],
        "network": {
            "is_member": researcher.member_since is not None,
            "member_since": researcher.member_since,
            "coauthors": len(coauthors),
            "coauthors_in_network": sum(1 for c in coauthors if c["researcher__member_since"] is not None),
        },
    }
