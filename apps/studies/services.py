"""Writes to studies. Views, the admin, imports and commands all go through these functions."""

from django.db import transaction
from django.utils import timezone

from biblio.names import split_printed_name

from .models import Authorship, Status, Study, Venue

STUDY_FIELDS = [
    "title", "subtitle", "abstract", "language", "year", "month", "day", "study_type", "design", "volume",
    "issue", "pages", "publisher", "edition", "chapter", "doi", "pmid", "pmcid", "isbn", "url", "keywords",
    "status", "retracted", "provenance", "source_entry", "source_key",
]


def get_or_create_venue(name, issn="", kind=Venue.Kind.JOURNAL):
    name = (name or "").strip()
    if not name:
        return None
    venue = Venue.objects.filter(name__iexact=name, issn=issn or "").first()
    if venue is None:
        venue = Venue.objects.create(name=name, issn=issn or "", kind=kind)
    return venue


def set_authors(study, authors, user=None, created=False):
    """Replace the study's authors by ``authors`` (dicts with name, optionally family_name, given_name,
    researcher or researcher_id, corresponding) and note the change in the audit log. The one way a
    study's author list is replaced one study at a time (the API, the admin, an import's undo)."""
    before = list(study.authorships.order_by("position").values_list("name", flat=True)) if study.pk else []
    study.authorships.all().delete()
    rows = []
    for position, author in enumerate(authors, start=1):
        family, given = author.get("family_name"), author.get("given_name")
        if not family:
            family, given = split_printed_name(author["name"])
        researcher = author.get("researcher") or author.get("researcher_id")
        rows.append(Authorship(
            study=study, position=position, name=author["name"], family_name=family, given_name=given or "",
            researcher_id=getattr(researcher, "pk", researcher), corresponding=bool(author.get("corresponding")),
        ))
    Authorship.objects.bulk_create(rows)
    after = [row.name for row in rows]
    from apps.audit import context, services as audit  # bulk writes send no signals: tell the audit log

    audit.note_list_change(context.actor(fallback=user), study, "authors", before, after, created=created)


def _apply(study, data, user):
    created = study.pk is None
    venue = data.pop("venue", "unset")
    authors = data.pop("authors", None)
    topics = data.pop("topics", None)
    for field in STUDY_FIELDS:
        if field in data:
            setattr(study, field, data[field])
    if venue != "unset":
        study.venue = get_or_create_venue(**venue) if venue else None
    if study.status == Status.PUBLISHED and study.published_at is None:
        study.published_at = timezone.now()
    if study.status == Status.DRAFT:
        study.published_at = None
    study.updated_by = user if getattr(user, "is_authenticated", False) else None
    study.normalize()
    study.full_clean(exclude=["venue", "created_by", "updated_by"])
    study.save()
    if authors is not None:
        set_authors(study, authors, user, created=created)
    if topics is not None:
        study.topics.set(topics)
    return study


@transaction.atomic
def create_study(user, data):
    study = Study(created_by=user if getattr(user, "is_authenticated", False) else None)
    return _apply(study, dict(data), user)


@transaction.atomic
def update_study(user, study, data):
    return _apply(study, dict(data), user)


@transaction.atomic
def delete_study(user, study):
    study.delete()


@transaction.atomic
def publish_study(user, study):
    return _apply(study, {"status": Status.PUBLISHED}, user)


@transaction.atomic
def assign_topics(user, studies, topics, replace=False):
    """Add (or with ``replace`` set) topics on many studies at once (curators' bulk action)."""
    topics = list(topics)
    for study in studies:
        if replace:
            study.topics.set(topics)
        else:
            study.topics.add(*topics)
    return len(studies)
