"""What each searchable object looks like to a search backend: plain dicts built from the database.

Both backends index exactly these documents (the Elasticsearch ``Document`` classes live in
``search/documents.py``). Building is batched: a constant number of queries per batch.
"""

from __future__ import annotations

import hashlib
import json

from django.db.models import Prefetch

from apps.researchers.models import Affiliation, Institution, Researcher
from apps.studies.models import Authorship, Study
from apps.summaries.models import Summary, SummaryStatus


def digest(doc: dict) -> str:
    """A fingerprint of a document: equal digests mean the index holds the current version."""
    return hashlib.sha1(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def _institution_ancestors():
    parents = dict(Institution.objects.values_list("id", "parent_id"))

    def with_ancestors(ids):
        out = set()
        for i in ids:
            while i is not None and i not in out:
                out.add(i)
                i = parents.get(i)
        return out

    return with_ancestors


def build_studies(ids) -> dict[int, dict]:
    studies = (Study.objects.filter(id__in=list(ids))
               .select_related("venue")
               .prefetch_related(
                   Prefetch("authorships", queryset=Authorship.objects.order_by("position")),
                   "topics",
                   Prefetch("summaries", queryset=Summary.objects.filter(status=SummaryStatus.PUBLISHED),
                            to_attr="published_summaries"),
               ))
    studies = list(studies)
    researcher_ids = {a.researcher_id for s in studies for a in s.authorships.all() if a.researcher_id}
    affiliations = {}
    for researcher_id, institution_id in Affiliation.objects.filter(
            researcher_id__in=researcher_ids).values_list("researcher_id", "institution_id"):
        affiliations.setdefault(researcher_id, set()).add(institution_id)
    with_ancestors = _institution_ancestors() if affiliations else (lambda ids: set(ids))
    docs = {}
    for s in studies:
        authors = list(s.authorships.all())
        linked = sorted({a.researcher_id for a in authors if a.researcher_id})
        institutions = set()
        for r in linked:
            institutions |= affiliations.get(r, set())
        topics = sorted(s.topics.all(), key=lambda t: t.id)
        summaries = s.published_summaries
        docs[s.id] = {
            "id": s.id,
            "title": s.title,
            "subtitle": s.subtitle,
            "abstract": s.abstract,
            "keywords": list(s.keywords or []),
            "authors": [a.name for a in authors],
            "author_family_names": [a.family_name for a in authors],
            "researcher_ids": linked,
            "institution_ids": sorted(with_ancestors(institutions)),
            "topic_ids": [t.id for t in topics],
            "topic_labels": [t.label_nb for t in topics] + [t.label_en for t in topics],
            "venue": s.venue.name if s.venue else "",
            "publisher": s.publisher,
            "year": s.year,
            "type": s.study_type,
            "design": s.design,
            "language": s.language or "",
            "doi": s.doi,
            "pmid": s.pmid,
            "isbn": s.isbn,
            "status": s.status,
            "retracted": s.retracted,
            "has_summary": bool(summaries),
            "summary_text": "\n".join(f"{x.title}\n{x.body}\n{x.key_findings}" for x in summaries),
            "created_at": s.created_at.isoformat() if s.created_at else None,
        }
    return docs


def build_researchers(ids) -> dict[int, dict]:
    researchers = Researcher.objects.filter(id__in=list(ids)).prefetch_related(
        "interests", Prefetch("affiliations", queryset=Affiliation.objects.select_related("institution")))
    docs = {}
    for r in researchers:
        interests = list(r.interests.all())
        affiliations = [a.institution for a in r.affiliations.all()]
        docs[r.id] = {
            "id": r.id,
            "name": r.full_name,
            "given_name": r.given_name,
            "family_name": r.family_name,
            "orcid": r.orcid,
            "affiliations": [i.name_nb for i in affiliations] + [i.name_en for i in affiliations if i.name_en]
            + [i.short_name for i in affiliations if i.short_name],
            "institution_ids": sorted({i.id for i in affiliations}),
            "interests": [t.label_nb for t in interests] + [t.label_en for t in interests],
            "topic_ids": sorted(t.id for t in interests),
            "member": r.member_since is not None,
            "bio": f"{r.bio_nb}\n{r.bio_en}".strip(),
        }
    return docs


def build_summaries(ids) -> dict[int, dict]:
    """Only published summaries of published studies are searchable."""
    summaries = (Summary.objects.filter(id__in=list(ids), status=SummaryStatus.PUBLISHED)
                 .exclude(studies__status="draft").prefetch_related("studies").distinct())
    docs = {}
    for s in summaries:
        studies = list(s.studies.all())
        docs[s.id] = {
            "id": s.id,
            "title": s.title,
            "body": s.body,
            "key_findings": s.key_findings,
            "implications": s.implications,
            "audience": s.audience,
            "language": s.language,
            "study_ids": sorted(x.id for x in studies),
            "study_titles": [x.title for x in studies],
            "published_at": s.published_at.isoformat() if s.published_at else None,
        }
    return docs


BUILDERS = {"studies": build_studies, "researchers": build_researchers, "summaries": build_summaries}
MODELS = {"studies": Study, "researchers": Researcher, "summaries": Summary}


def build(kind, ids) -> dict[int, dict]:
    return BUILDERS[kind](ids)


def all_ids(kind):
    return MODELS[kind].objects.order_by("id").values_list("id", flat=True)
