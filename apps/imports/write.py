"""Writing a decided chunk: studies, authors, venues, source records, outcomes, audit and outbox rows.

A :class:`Writer` belongs to one thread at a time. In a pipelined import (:mod:`apps.imports.pipeline`)
the writer thread holds it while the deciding thread works on the next chunk, which it never touches;
what the decider needs from a written chunk comes back as values (``take_block_changes``).
"""
from __future__ import annotations

import logging
from collections import Counter
from types import MappingProxyType, SimpleNamespace
from typing import Mapping

from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from apps.audit import context as audit_context
from apps.audit.models import AuditEntry
from apps.audit.services import to_json
from apps.studies.keys import family_key, title_key
from apps.studies.models import Authorship, Provenance, Status, Study, Venue
from biblio.writers import BIBTEX_TYPE_BY_STUDY_TYPE
from search.sync import mark_dirty

from . import merge
from .bulk import writer
from .entries import Decision
from .matching import Match
from .merge import MERGE_LOAD
from .models import ImportJob, ImportOutcome, Outcome, ReviewItem, SourceRecord
from .prepare import Prepared

log = logging.getLogger(__name__)


def describe(match: Match) -> str:
    c = match.candidate
    what = f"study {c.study_id}" if c.study_id is not None else f"entry #{c.entry_index} of this file"
    why = "; ".join(match.reasons)
    return f"{what} ({why})" if why else what


def _venues_of(decisions) -> list[dict]:
    return [d.prepared.venue for d in decisions if d.prepared is not None and d.prepared.venue
            and d.outcome in (Outcome.CREATED, Outcome.MERGED)]


class VenueCache:
    """Venue ids by (lower-case name, ISSN): looked up in bulk, created when missing (``create``).
    A cache, not a copy of the venue table: emptied beyond ``MAX`` venues. Each thread has its own."""

    MAX = 20_000

    def __init__(self):
        self.ids: dict = {}

    @staticmethod
    def key(venue: dict) -> tuple:
        return venue["name"].lower(), venue["issn"]

    def id_of(self, p: Prepared):
        return self.ids.get(self.key(p.venue)) if p.venue else None

    def known(self, venues) -> Mapping:
        """The ids this cache holds of ``venues`` (a read-only mapping, to hand to another thread)."""
        return MappingProxyType({k: self.ids[k] for k in map(self.key, venues) if k in self.ids})

    def resolve(self, venues, create=True, known: Mapping = MappingProxyType({})) -> list[int]:
        """Ids of ``venues`` (dicts) into the cache, created if missing and ``create``; the ids of those
        this call created. ``known``: ids another cache looked up already."""
        wanted = {}
        for v in venues:
            wanted.setdefault(self.key(v), v)
        if len(self.ids) > self.MAX:
            self.ids = {}
        self.ids.update(known)
        missing = {k: v for k, v in wanted.items() if k not in self.ids}
        if not missing:
            return []

        def load(queryset):
            for vid, name, issn in queryset.values_list("id", "name", "issn"):
                self.ids.setdefault((name.lower(), issn), vid)

        lower_names = sorted({k[0] for k in missing})
        for i in range(0, len(lower_names), 500):
            load(Venue.objects.annotate(lname=Lower("name")).filter(lname__in=lower_names[i:i + 500]))
        # sorted: two jobs inserting the same new venues take their locks in the same order (no deadlock)
        new = [Venue(name=v["name"], issn=v["issn"], kind=v["kind"]) for key, v in sorted(missing.items())
               if key not in self.ids]
        if not (new and create):
            return []
        created = self._create_venues(new)
        for (name, issn), vid in created.items():
            self.ids[(name.lower(), issn)] = vid
        lost = sorted({v.name.lower() for v in new if (v.name.lower(), v.issn) not in self.ids})
        for i in range(0, len(lost), 500):  # written meanwhile by someone else
            load(Venue.objects.annotate(lname=Lower("name")).filter(lname__in=lost[i:i + 500]))
        return list(created.values())

    @staticmethod
    def _create_venues(new: list[Venue]) -> dict:
        """Insert venues, skipping any that exist by now; {(name, issn): id} of those this call created."""
        if connection.vendor != "postgresql":
            with transaction.atomic():
                Venue.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
            wanted = {(v.name, v.issn) for v in new}
            names = sorted({v.name for v in new})
            found = {}
            for i in range(0, len(names), 500):  # (on these databases one created meanwhile counts as ours)
                for vid, name, issn in Venue.objects.filter(name__in=names[i:i + 500]).values_list("id", "name", "issn"):
                    if (name, issn) in wanted:
                        found[(name, issn)] = vid
            return found
        now = timezone.now()
        with connection.cursor() as cursor:  # one statement: the ids of exactly the rows it inserted
            cursor.execute(
                f"INSERT INTO {Venue._meta.db_table} (created_at, updated_at, name, kind, issn) "
                "SELECT %s, %s, * FROM unnest(%s::varchar[], %s::varchar[], %s::varchar[]) "
                "ON CONFLICT DO NOTHING RETURNING id, name, issn",
                [now, now, [v.name for v in new], [v.kind for v in new], [v.issn for v in new]])
            return {(name, issn): vid for vid, name, issn in cursor.fetchall()}


class Writer:
    """Writes one job's decided chunks (and, for a curator's retry or review, single entries)."""

    def __init__(self, job: ImportJob, user=None):
        self.job = job
        self.user = user if user is not None else job.uploaded_by
        self.via = f"bibtex:{job.file_name}"[:100]
        self.venues = VenueCache()
        self.created_by_entry = {}         # entry index -> study id written in this chunk
        self.created_before = {}           # ... and in the chunk before it (pipelined: decided against it)
        self.fell_back = False             # the last chunk's outcomes differ from its decisions
        self.block_changes = []            # changes to the decider's author blocks, not handed over yet

    def take_block_changes(self) -> tuple:
        """The author-block changes of the chunks written since the last call: ((method, args), ...)."""
        changes, self.block_changes = tuple(self.block_changes), []
        return changes

    def record(self, decisions, counts: Counter, known_venues: Mapping = MappingProxyType({})):
        """Write decided entries with their outcomes and the job's progress (in the caller's transaction)."""
        job = self.job
        outcomes = self.write(decisions, known_venues)
        reviews = any(d.outcome == Outcome.REVIEW for d in decisions) and not job.dry_run
        ids = writer(ImportOutcome).insert(outcomes, with_ids=reviews)
        if reviews:
            self.write_reviews(decisions, ids)
        counts.update(d.outcome for d in decisions)
        job.done = decisions[-1].index + 1
        job.counts = {o: counts.get(o, 0) for o in Outcome.values}
        job.save(update_fields=["done", "counts", "created_venues"])

    def resolve_venues(self, decisions, known: Mapping = MappingProxyType({})):
        """Venue ids of the decisions' venues, created when missing; the ones created are remembered
        with the job (saved with the chunk's progress) so that undo can remove them again."""
        created = self.venues.resolve(_venues_of(decisions), create=True, known=known)
        if created:
            self.job.created_venues = sorted(set(self.job.created_venues or []) | set(created))

    def write(self, decisions: list[Decision], known_venues: Mapping = MappingProxyType({})) -> list[dict]:
        """Write the chunk's studies (in bulk; entry by entry if that fails) and return the outcomes.
        ``known_venues``: venue ids the decider looked up for this chunk."""
        if self.job.dry_run:
            self.describe_dry_run(decisions)
            return [d.to_outcome(self.job.pk) for d in decisions]
        self.created_before, self.created_by_entry, self.fell_back = self.created_by_entry, {}, False
        self.resolve_venues(decisions, known=known_venues)
        try:
            with transaction.atomic():
                self._write(decisions)
        except Exception as exc:
            log.warning("imports: job %s: bulk write failed (%s); writing entry by entry", self.job.pk, exc)
            self.fell_back = True
            self.created_by_entry = {}  # rolled back
            for d in decisions:
                if d.outcome == Outcome.CREATED:
                    d.study_id = None
                d.changed_fields, d.previous = [], {}
                try:
                    with transaction.atomic():
                        self._write([d])
                except Exception as exc:  # this entry cannot be saved; the others go on
                    d.outcome = Outcome.FAILED
                    d.study_id = None
                    d.changed_fields, d.previous = [], {}
                    d.message = f"Line {d.line}: could not be saved: {type(exc).__name__}: {exc}"[:2000]
        for d in decisions:
            if d.outcome in (Outcome.DUPLICATE, Outcome.REVIEW) and d.study_id is None:
                src = d.duplicate_of if d.outcome == Outcome.DUPLICATE else (
                    d.match.candidate.entry_index if d.match else None)
                d.study_id = self.created_by_entry.get(src, self.created_before.get(src))
        return [d.to_outcome(self.job.pk) for d in decisions]

    def describe_dry_run(self, decisions):
        """What the import would do, with the fields a merge would change; writes nothing."""
        merges = [d for d in decisions if d.outcome == Outcome.MERGED]
        self.venues.resolve(_venues_of(merges), create=False)
        studies = Study.objects.in_bulk([d.study_id for d in merges])
        authors = self.authors_of(studies)
        for d in decisions:
            if d.outcome == Outcome.CREATED:
                d.message = "Would create a new study (dry run)."
            elif d.outcome in (Outcome.MERGED, Outcome.SKIPPED):
                study = studies.get(d.study_id)
                if study is not None and d.outcome == Outcome.MERGED:
                    changes, previous, warnings = self.changes(study, authors.get(study.pk, []), d.prepared)
                    d.changed_fields = sorted(changes)
                    d.warnings = d.prepared.warnings + warnings
                d.message = self.match_message(d) + " (dry run: nothing written)"

    @staticmethod
    def match_message(d: Decision) -> str:
        if d.outcome == Outcome.SKIPPED:
            return f"Matches {describe(d.match)}; left unchanged (policy skip)."
        if d.changed_fields:
            return f"Merged into {describe(d.match)}; changed: {', '.join(d.changed_fields)}."
        return f"Merged into {describe(d.match)}; no field changed."

    def _write(self, decisions):
        creates = [d for d in decisions if d.outcome == Outcome.CREATED]
        merges = [d for d in decisions if d.outcome == Outcome.MERGED]
        for d in decisions:
            if d.outcome == Outcome.SKIPPED:
                d.message = self.match_message(d)
        if merges:
            self.write_merges(merges)
        if creates:
            self.write_creates(creates)

    def changes(self, study, authors, p: Prepared, check_unique=True):
        """(changes, previous values, warnings) of merging ``p`` into ``study`` under the job's policy."""
        return merge.changes(study, authors, p, self.job.policy, self.venues.id_of(p), check_unique)

    def write_creates(self, decisions):
        """New studies with their authors, source records, audit entries and outbox rows, in bulk."""
        job = self.job
        user_id = self.user.pk if getattr(self.user, "is_authenticated", False) else None
        now = timezone.now()
        provenance = Provenance(self.job.format)  # the file's format: bibtex, ris or medline
        rows = []
        for d in decisions:
            p = d.prepared
            row = dict(p.fields)
            row.update(venue_id=self.venues.id_of(p), provenance=provenance, status=Status.DRAFT,
                       created_by_id=user_id, updated_by_id=user_id, created_at=now, updated_at=now,
                       title_key=d.features.title_key if d.features else title_key(row["title"], row["subtitle"]))
            rows.append(row)
        ids = writer(Study).insert(rows, with_ids=True)
        authorships, sources = [], []
        for d, study_id, row in zip(decisions, ids, rows):
            p = d.prepared
            d.study_id, d.study_updated_at = study_id, now
            self.created_by_entry[d.index] = study_id
            for position, a in enumerate(p.authors, start=1):
                authorships.append({"study_id": study_id, "position": position, "name": a["name"],
                                    "family_name": a["family_name"], "given_name": a["given_name"],
                                    "family_key": family_key(a["family_name"]), "researcher_id": a.get("researcher")})
            data = _source_data(p)
            if data or BIBTEX_TYPE_BY_STUDY_TYPE.get(p.fields["study_type"]) != p.entry_type:
                sources.append({"study_id": study_id, "job_id": job.pk, "entry_type": p.entry_type, "data": data})
            if p.authors:
                fields = p.fields
                self.block_changes.append(("add", (family_key(p.authors[0]["family_name"]), study_id, fields["year"],
                                                   row["title_key"])))
            d.message = f"Created study {study_id}." + (f" {len(p.warnings)} warning(s)." if p.warnings else "")
        if not writer(Study).use_copy:  # bulk_create set updated_at itself
            stamps = dict(Study.objects.filter(pk__in=ids).values_list("pk", "updated_at"))
            for d in decisions:
                d.study_updated_at = stamps[d.study_id]
        writer(Authorship).insert(authorships)
        writer(SourceRecord).insert(sources)
        mark_dirty("studies", ids)
        self.audit_created(decisions)

    def audit_created(self, decisions):
        self.audit([(d.study_id, _repr(d.prepared.fields),
                     {"source": {"from": None, "to": f"{self.job.file_name} #{d.index} {d.key}"[:300]},
                      "title": {"from": None, "to": d.prepared.fields["title"][:1000]}})
                    for d in decisions])

    def audit(self, rows):
        """One "import" audit entry per (study id, repr, changes), in bulk (bulk writes send no signals)."""
        if not rows or not audit_context.current().enabled:
            return
        actor = self.user if getattr(self.user, "is_authenticated", False) else None
        name = actor.get_username()[:150] if actor is not None else ""
        now = timezone.now()
        writer(AuditEntry).insert([
            {"created_at": now, "actor_id": actor.pk if actor else None, "actor_name": name, "action": "import",
             "object_type": "study", "object_id": study_id, "object_repr": text[:300], "via": self.via,
             "changes": changes}
            for study_id, text, changes in rows])

    @staticmethod
    def authors_of(study_ids) -> dict:
        """Study id -> its authors (dicts, in order)."""
        out = {}
        for row in (Authorship.objects.filter(study_id__in=list(study_ids)).order_by("study_id", "position")
                    .values("study_id", "name", "family_name", "given_name", "researcher_id", "corresponding")):
            sid = row.pop("study_id")
            out.setdefault(sid, []).append(row)
        return out

    def write_merges(self, decisions):
        """Merge: the studies are read (and locked) in one query; each changed one is updated in one
        statement; authors are replaced in bulk; one audit entry per changed study."""
        ids = [d.study_id for d in decisions]
        studies = {row["id"]: SimpleNamespace(**row) for row in
                   Study.objects.select_for_update().filter(pk__in=ids).order_by().values(*MERGE_LOAD)}
        authors = self.authors_of(ids)
        user = self.user if getattr(self.user, "is_authenticated", False) else None
        now = timezone.now()
        changed, new_authors, audit = [], {}, []
        for d in decisions:
            study = studies.get(d.study_id)
            if study is None:  # deleted since the candidates were read
                d.outcome, d.study_id = Outcome.CREATED, None
                self.fell_back = True  # not what was decided: a pipelined next chunk is decided again
                self.write_creates([d])
                continue
            new, previous, warnings = self.changes(study, authors.get(study.id, []), d.prepared)
            d.warnings = d.prepared.warnings + warnings
            if new:
                values = {}
                for name, value in new.items():
                    if name == "authors":
                        new_authors[study.id] = value
                    elif name == "venue":
                        values["venue_id"] = value
                    else:
                        values[name] = value
                        setattr(study, name, value)
                if "title" in new or "subtitle" in new:
                    values["title_key"] = title_key(study.title, study.subtitle)
                if {"title", "subtitle", "year", "authors"} & new.keys():  # its author block is out of date
                    for a in (authors.get(study.id) or [])[:1] + (new.get("authors") or [])[:1]:
                        self.block_changes.append(("forget", (family_key(a.get("family_name", "")),)))
                values.update(updated_at=now, updated_by_id=user.pk if user else study.updated_by_id)
                study.updated_at = now
                changed.append((study.id, values))
                audit.append((study.id, _repr({"title": study.title, "year": study.year}),
                              {k: {"from": to_json(previous[k]), "to": to_json(v)} for k, v in new.items()}))
            d.changed_fields, d.previous = sorted(new), _jsonable(previous)
            d.study_updated_at = study.updated_at
            d.message = self.match_message(d)
        writer(Study).update(changed)
        if changed:
            mark_dirty("studies", [study_id for study_id, _ in changed])
            self.audit(audit)
        if new_authors:
            Authorship.objects.filter(study_id__in=list(new_authors)).delete()
            writer(Authorship).insert([
                {"study_id": sid, "position": i, "name": a["name"], "family_name": a.get("family_name", ""),
                 "given_name": a.get("given_name", ""), "family_key": family_key(a.get("family_name", "")),
                 "researcher_id": a.get("researcher")}
                for sid, rows in new_authors.items() for i, a in enumerate(rows, start=1)])

    def write_reviews(self, decisions, outcome_ids):
        if self.job.dry_run:
            return
        items = []
        for d, outcome_id in zip(decisions, outcome_ids):
            if d.outcome == Outcome.REVIEW:
                items.append(ReviewItem(job=self.job, outcome_id=outcome_id, candidate_id=d.study_id,
                                        score=d.score or 0.0, reasons=d.match.reasons if d.match else [],
                                        data=d.prepared.to_json()))
        ReviewItem.objects.bulk_create(items, batch_size=500)


def tune_transaction():
    """Settings for one chunk's transaction on PostgreSQL (``SET LOCAL``: they end with it).

    * ``synchronous_commit = off``: the commit returns before its WAL reaches the disk. A crash can
      lose the last chunks committed (well under a second), never corrupt anything, and the job's
      progress is written in the same transaction, so running the job again redoes exactly them.
    * ``max_parallel_workers_per_gather = 0`` and ``jit = off``: the candidate lookups are many small
      index scans; starting parallel workers or compiling them (40-50 ms measured) costs more than it
      saves, and takes the other core from the importer.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off; SET LOCAL max_parallel_workers_per_gather = 0; "
                           "SET LOCAL jit = off")



def _repr(fields: dict) -> str:
    year = f" ({fields['year']})" if fields.get("year") else ""
    return f"{fields['title'][:120]}{year}"


def _source_data(p: Prepared) -> dict:
    return {k: v for k, v in p.source.items() if v and k != "entry_type"}


def _jsonable(previous: dict) -> dict:
    out = {}
    for k, v in previous.items():
        out[k] = v.isoformat() if hasattr(v, "isoformat") else v
    return out
