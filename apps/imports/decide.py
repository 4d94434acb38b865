"""Deciding a chunk: each prepared entry against the database and the file -> an outcome.

A :class:`Decider` belongs to the importer's own thread. It keeps what deciding needs across chunks
(the first-author blocks, the claims on studies, a dry run's would-be studies, the researchers) and
never sees the writer's state: a chunk being written meanwhile reaches it as an :class:`Ahead` value,
and the blocks the writer changed as a tuple of changes (``apply_block_changes``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType

from django.db import connection

from apps.studies.models import Study

from .authors import ResearcherIndex
from .entries import Decision
from .matching import AuthorBlocks, Candidate, CandidateIndex, Match, load_candidates
from .merge import merged_view
from .models import ImportOutcome, Outcome, Policy, Rule
from .prepare import prepared_features
from .write import VenueCache, describe

log = logging.getLogger(__name__)

#: A file of at least this many entries reads the first-author blocks of every study at once when the
#: database and the file together hold at most ``PRELOAD_MAX_STUDIES`` studies (memory: 50-60 MB per
#: 100k studies); otherwise blocks are looked up as needed, at most ``AuthorBlocks.MAX_ROWS`` kept.
PRELOAD_MIN_ENTRIES = 2_000
PRELOAD_MAX_STUDIES = 250_000


@dataclass(frozen=True)
class JobOptions:
    """What deciding reads of the job (its row belongs to the writer)."""
    pk: int
    dry_run: bool
    policy: str

    @classmethod
    def of(cls, job) -> "JobOptions":
        return cls(job.pk, job.dry_run, job.policy)


@dataclass(frozen=True)
class Ahead:
    """What the chunk being written will change in the database, as the next chunk's decisions need it:
    its new studies (candidates known by their entry), the studies it merges into as they will read
    after the merge (replacing the stored versions among the candidates), and the claims on both."""
    candidates: tuple
    claims: MappingProxyType
    replaces: frozenset

    @classmethod
    def of(cls, decisions, policy) -> "Ahead":
        candidates, claims, replaces = [], {}, set()
        for d in decisions:
            if d.outcome == Outcome.CREATED:
                candidates.append(Candidate(d.features, None, d.index))
            elif d.outcome in (Outcome.MERGED, Outcome.SKIPPED):
                claims.setdefault(d.study_id, d.index)
                stored = d.match.candidate if d.match is not None else None
                if d.outcome == Outcome.MERGED and stored is not None and stored.study_id == d.study_id \
                        and stored._fields is not None:
                    fields, authors = merged_view(stored._fields, stored._authors, d.prepared, policy)
                    candidates.append(Candidate(study_id=d.study_id, fields=fields, author_keys=authors))
                    replaces.add(d.study_id)
        return cls(tuple(candidates), MappingProxyType(claims), frozenset(replaces))


class Decider:
    """Decides the chunks of one job, in order."""

    def __init__(self, job):
        self.job = JobOptions.of(job)
        self.claimed = {}                  # study id -> entry that created or matched it (this chunk; dry run: all)
        self.pending = CandidateIndex()    # a dry run's would-be studies (kept for the whole file)
        self.blocks = AuthorBlocks()       # stored studies by first author, cached for the job
        self.venues = VenueCache()         # venue lookups done while the writer is busy (never creates)

    @cached_property
    def researchers(self) -> ResearcherIndex:
        return ResearcherIndex()

    def forget_claims(self):
        """Forget the claims read so far (another worker moved the job on: they are read again)."""
        self.claimed = {}

    def maybe_preload(self, entries: int):
        """Read all first-author blocks at once for a large file against a database of moderate size
        (see :class:`AuthorBlocks`); small files look names up as they go. The blocks grow with the
        studies the job writes, so the database *and the file* must stay within ``PRELOAD_MAX_STUDIES``:
        the importer's memory is bounded however large the file (about 0.5 KB per study held)."""
        if entries >= PRELOAD_MIN_ENTRIES and Study.objects.count() + entries <= PRELOAD_MAX_STUDIES:
            self.blocks.preload()

    def apply_block_changes(self, changes):
        """The author-block changes a written chunk reports (``Writer.take_block_changes``)."""
        for method, args in changes:
            getattr(self.blocks, method)(*args)

    def known_venues(self, decisions):
        """Ids of the chunk's venues that exist already (looked up now, handed to the writer)."""
        venues = [d.prepared.venue for d in decisions if d.prepared is not None and d.prepared.venue
                  and d.outcome in (Outcome.CREATED, Outcome.MERGED)]
        self.venues.resolve(venues, create=False)
        return self.venues.known(venues)

    def claimed_in_db(self, study_ids) -> dict:
        """Which of these studies this job already created or matched, and by which entry (the first)."""
        ids = sorted({i for i in study_ids if i is not None})
        if not ids:
            return {}
        kinds = [Outcome.CREATED, Outcome.MERGED, Outcome.SKIPPED]
        if connection.vendor == "postgresql":  # one array parameter instead of thousands of placeholders
            with connection.cursor() as cursor:
                cursor.execute(
                    f'SELECT "study_id", MIN("index") FROM "{ImportOutcome._meta.db_table}" WHERE "job_id" = %s '
                    f'AND "outcome" IN (%s, %s, %s) AND "study_id" = ANY(string_to_array(%s, \',\')::bigint[]) '
                    f'GROUP BY "study_id"', [self.job.pk, *kinds, ",".join(map(str, ids))])
                return dict(cursor.fetchall())
        out = {}
        for i in range(0, len(ids), 500):
            rows = ImportOutcome.objects.filter(job_id=self.job.pk, outcome__in=kinds, study_id__in=ids[i:i + 500])
            for study_id, index in rows.order_by("index").values_list("study_id", "index"):
                out.setdefault(study_id, index)
        return out

    def link_authors(self, items):
        for d in items:
            p = d.prepared
            if p is None or not p.authors:
                continue
            try:
                p.ambiguous_authors = self.researchers.link(p.authors, p.source.get("extra", {}))
            except Exception as exc:  # linking is a bonus; the entry is imported without links
                log.exception("imports: linking authors of entry %s failed", d.index)
                p.warnings.append(f"authors were not linked to researchers: {exc}")


    def decide(self, items: list[Decision], ahead: "Ahead | None" = None) -> list[Decision]:
        """Each entry's outcome. ``ahead``: the chunk being written meanwhile (:mod:`apps.imports.pipeline`)."""
        job = self.job
        prepared = [d for d in items if d.prepared is not None]
        feats = {}
        for d in prepared:
            d.reset()  # decided again (pipelined, after the chunk before it turned out differently)
            d.features = feats[d.index] = d.features or prepared_features(d.prepared)
        candidates = load_candidates(list(feats.values()), self.blocks)
        if not job.dry_run:  # a dry run keeps its claims in memory (nothing of it is in the database)
            self.claimed = self.claimed_in_db(c.study_id for c in candidates)
        if ahead is not None and ahead.replaces:  # stored versions of studies the chunk being written changes
            candidates = [c for c in candidates if c.study_id not in ahead.replaces]
        index = CandidateIndex(candidates)
        if ahead is not None:  # the chunk being written, as the database will show it
            for c in ahead.candidates:
                index.add(c)
            self.claimed.update(ahead.claims)
        claimed_here = {}
        for d in items:
            if d.prepared is None:
                continue
            f = feats[d.index]
            m = index.find(f)
            if job.dry_run:
                other = self.pending.find(f)
                if other is not None and (m is None or (other.certain, other.score or 0) > (m.certain, m.score or 0)):
                    m = other
            if m is not None and not m.certain and m.score == 100.0 and m.candidate.study_id is not None \
                    and Study.objects.filter(pk=m.candidate.study_id, source_entry=d.prepared.raw).exists():
                m = Match(m.candidate, Rule.EXACT, True, 100.0, ["the same BibTeX entry as the study's source"])
            d.match = m
            if m is not None and m.certain:
                c = m.candidate
                d.rule, d.score = m.rule, m.score
                owner = self.claimed.get(c.study_id, claimed_here.get(c.study_id)) if c.study_id else None
                if c.study_id is None or owner is not None:
                    d.outcome = Outcome.DUPLICATE
                    d.duplicate_of = c.entry_index if c.study_id is None else owner
                    d.study_id = c.study_id
                    d.message = (f"Skipped as a duplicate of entry #{d.duplicate_of} of this file"
                                 + (f" (study {c.study_id})" if c.study_id else "")
                                 + (f": {'; '.join(m.reasons)}." if m.reasons else "."))
                    continue
                claimed_here[c.study_id] = d.index
                self.claimed[c.study_id] = d.index
                d.study_id = c.study_id
                d.outcome = Outcome.SKIPPED if job.policy == Policy.SKIP else Outcome.MERGED
                (self.pending if job.dry_run else index).add(Candidate(f, c.study_id, d.index))
            elif m is not None:
                d.outcome = Outcome.REVIEW
                d.rule, d.score = Rule.FUZZY, m.score
                d.study_id = m.candidate.study_id
                d.message = f"Uncertain match with {describe(m)}: waiting for a curator."
                (self.pending if job.dry_run else index).add(Candidate(f, None, d.index))
            else:
                d.outcome = Outcome.CREATED
                (self.pending if job.dry_run else index).add(Candidate(f, None, d.index))
        return items
