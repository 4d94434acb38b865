"""Load fixtures/seed.json: institutions, researchers, studies, summaries, and the search vocabulary
(idempotent: only what is new or changed is written, so a second run queues no re-indexing)."""

import datetime
import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.common.changes import differs
from apps.researchers import services as researcher_services
from apps.researchers.models import Institution, Researcher
from apps.studies import services as study_services
from apps.studies.models import Study
from apps.summaries import services as summary_services
from apps.summaries.models import Summary
from apps.topics.loader import load_topics
from apps.topics.models import Topic
from search import vocabulary


def _seed_reviewer():
    """The account that approves the seed summaries (it cannot sign in)."""
    from django.contrib.auth import get_user_model

    user, created = get_user_model().objects.get_or_create(
        username="seed-reviewer", defaults={"first_name": "Seed", "last_name": "data (reviewer)"})
    if created:
        user.set_unusable_password()
        user.save()
    return user


def _date(value):
    return datetime.date.fromisoformat(value) if value else None


def _pks(objects):
    return {o.pk for o in objects}


def _without(fields, *names):
    return {k: v for k, v in fields.items() if k not in names}


def _researcher_changed(researcher, fields):
    """Whether saving the seed's ``fields`` would change the researcher: a save rewrites the affiliations
    and queues re-indexing of the researcher and every study they wrote, so an unchanged one is skipped."""
    affiliations = [(a["institution"].pk, a["role"], a["start_date"], a["end_date"]) for a in fields["affiliations"]]
    return (differs(researcher, _without(fields, "interests", "affiliations"))
            or _pks(researcher.interests.all()) != _pks(fields["interests"])
            or list(researcher.affiliations.order_by("id").values_list(
                "institution_id", "role", "start_date", "end_date")) != affiliations)


def _study_changed(study, fields):
    """Whether updating the study with the seed's ``fields`` would change it (its row, venue, topics or
    author list): an update rewrites the authors, notes them in the audit log and queues re-indexing."""
    venue = fields["venue"]
    wanted_venue = (venue["name"].strip().casefold(), venue["issn"]) if venue else None
    stored_venue = (study.venue.name.casefold(), study.venue.issn) if study.venue_id else None
    authors = [(a["name"], getattr(a["researcher"], "pk", None), bool(a["corresponding"])) for a in fields["authors"]]
    return (differs(study, _without(fields, "venue", "topics", "authors"))
            or stored_venue != wanted_venue
            or _pks(study.topics.all()) != _pks(fields["topics"])
            or list(study.authorships.order_by("position").values_list("name", "researcher_id", "corresponding"))
            != authors)


def _summary_changed(summary, fields):
    """Whether saving the seed's ``fields`` would change the summary (a published one gets a new version)."""
    return differs(summary, _without(fields, "studies")) or _pks(summary.studies.all()) != _pks(fields["studies"])


class Command(BaseCommand):
    help = ("Load the seed data (topics, search vocabulary, institutions, researchers, studies, summaries). "
            "Safe to run again.")

    def add_arguments(self, parser):
        parser.add_argument("--file", default=str(Path(settings.BASE_DIR) / "fixtures" / "seed.json"))

    @transaction.atomic
    def handle(self, file, **options):
        data = json.loads(Path(file).read_text(encoding="utf-8"))
        load_topics(Topic)
        vocabulary.seed()  # the bilingual search vocabulary, from the topic labels and search/data/vocabulary.tsv
        topics = {t.slug: t for t in Topic.objects.all()}
        institutions = {}
        for item in data.get("institutions", []):
            inst = Institution.objects.filter(name_nb=item["name_nb"]).first()
            fields = {"name_nb": item["name_nb"], "name_en": item.get("name_en", ""),
                      "short_name": item.get("short_name", ""), "ror_id": item.get("ror") or "",
                      "parent": institutions.get(item.get("parent")), "city": item.get("city", ""),
                      "health_region": item.get("health_region") or ""}
            if inst is None or differs(inst, fields):
                inst = researcher_services.save_institution(None, fields, inst)
            institutions[item["key"]] = inst
        researchers = {}
        for item in data.get("researchers", []):
            existing = Researcher.objects.filter(given_name=item["given_name"],
                                                 family_name=item["family_name"]).first()
            fields = {k: item.get(k) or "" for k in ("given_name", "family_name", "orcid", "email", "bio_nb",
                                                     "bio_en")}
            fields["member_since"] = _date(item.get("member_since"))
            fields["interests"] = [topics[s] for s in item.get("interests", [])]
            fields["affiliations"] = [
                {"institution": institutions[a["institution"]], "role": a.get("role", "researcher"),
                 "start_date": _date(a.get("start")), "end_date": _date(a.get("end"))}
                for a in item.get("affiliations", [])]
            if existing is None or _researcher_changed(existing, fields):
                existing = researcher_services.save_researcher(None, fields, existing)
            researchers[item["key"]] = existing
        studies = {}
        for item in data.get("studies", []):
            existing = (Study.objects.filter(doi=item["doi"]).first() if item.get("doi") else None) or \
                Study.objects.filter(title=item["title"], year=item.get("year")).first()
            fields = {k: item.get(k) or "" for k in ("title", "subtitle", "abstract", "language", "volume", "issue",
                                                     "pages", "publisher", "doi", "pmid", "isbn", "url")}
            fields.update({
                "year": item.get("year"), "month": item.get("month"), "study_type": item.get("type", "article"),
                "design": item.get("design", "unknown"), "keywords": item.get("keywords", []),
                "status": item.get("status", "published"), "retracted": bool(item.get("retracted")),
                "provenance": "fixture", "source_key": item["key"],
                "venue": item.get("venue") and {"name": item["venue"]["name"],
                                                "issn": item["venue"].get("issn") or ""},
                "topics": [topics[s] for s in item.get("topics", [])],
                "authors": [{"name": a["name"], "researcher": researchers.get(a.get("researcher")),
                             "corresponding": a.get("corresponding", False)} for a in item.get("authors", [])],
            })
            if existing is None:
                studies[item["key"]] = study_services.create_study(None, fields)
            elif _study_changed(existing, fields):
                studies[item["key"]] = study_services.update_study(None, existing, fields)
            else:
                studies[item["key"]] = existing
        count = 0
        reviewer = _seed_reviewer()
        for item in data.get("summaries", []):
            linked = [studies[k] for k in item["studies"]]
            existing = Summary.objects.filter(title=item["title"], language=item["language"]).first()
            fields = {k: item.get(k, "") for k in ("audience", "language", "title", "body", "key_findings",
                                                   "implications")}
            fields["studies"] = linked
            wanted = item.get("status", "draft")
            if existing is None:
                # through the review workflow: written, submitted, approved by another person
                initial = "in_review" if wanted == "published" else wanted
                summary = summary_services.save_summary(None, {**fields, "status": initial})
                if wanted == "published":
                    summary_services.approve_summary(reviewer, summary, change_note="Seed data")
            elif _summary_changed(existing, fields):
                summary_services.save_summary(None, fields, existing)
            count += 1
        self.stdout.write(self.style.SUCCESS(
            f"Seed loaded: {len(topics)} topics, {len(institutions)} institutions, {len(researchers)} researchers, "
            f"{len(studies)} studies, {count} summaries."))
