"""BibTeX import: jobs, the per-entry pipeline, undo, retry of a failed entry, and review decisions.

The API, the Celery task, the ``import_bibtex`` command and the admin all call these functions.

A job reads its stored file as a stream in chunks (``CHUNK`` entries). Each chunk is decided and
written in one transaction together with its outcomes and the job's progress, so a worker that
dies loses at most the chunk it was writing, and running the job again resumes after the last
recorded entry: no entry is written twice and every entry gets exactly one outcome. Within a
chunk studies are written in bulk; if that fails, the chunk is written again entry by entry, each
in its own savepoint, and only the entries that cannot be saved fail. Large files are pipelined: a
second thread writes chunk k (in its transaction, as above) while chunk k+1 is decided against an
in-memory view of chunk k (see ``Importer.run_pipelined``).
"""
from __future__ import annotations

import codecs
import contextvars
import hashlib
import logging
import queue
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace

from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef
from django.db.models.functions import Lower
from django.utils import timezone

from apps.audit import context as audit_context
from apps.common import collector
from apps.common.readahead import ReadAhead
from apps.audit.models import AuditEntry
from apps.audit.services import to_json
from apps.studies.models import Authorship, Provenance, Status, Study, Venue
from apps.studies.services import set_authors
from apps.studies.keys import family_key, title_key
from biblio import iter_bibtex, read_bibtex
from biblio.encoding import sniff
from biblio.writers import BIBTEX_TYPE_BY_STUDY_TYPE
from search.sync import batched, mark_dirty

from .authors import ResearcherIndex
from . import pipeline
from .bulk import writer
from .jobs import claim, enqueue_job
from .matching import AuthorBlocks, Candidate, CandidateIndex, Match, load_candidates
from .models import (ImportJob, ImportOutcome, JobStatus, Outcome, Policy, ReviewItem, ReviewStatus, Rule,
                     SourceRecord)
from .prepare import EntryFailed, Prepared, prepare, prepared_features

log = logging.getLogger(__name__)

CHUNK = 1000
MERGE_FIELDS = ("title", "subtitle", "abstract", "language", "volume", "issue", "pages", "publisher", "edition",
                "chapter", "doi", "pmid", "pmcid", "isbn", "url", "keywords")
UNIQUE_FIELDS = ("doi", "pmid")
MERGE_LOAD = ("id", "year", "month", "day", "study_type", "venue_id", "updated_at", "updated_by_id", "source_entry",
              "source_key") + MERGE_FIELDS


class ImportError_(Exception):
    """A request about an import that cannot be granted; ``status`` is the HTTP status to answer."""

    def __init__(self, message, status=409, **extra):
        super().__init__(message)
        self.message, self.status, self.extra = message, status, extra


# --------------------------------------------------------------------------- jobs

def create_job(user, fileobj, *, file_name=None, policy=Policy.FILL, dry_run=False, enqueue=True) -> ImportJob:
    """Store the uploaded file and a queued job; the worker starts after commit (``enqueue``)."""
    if policy not in Policy.values:
        raise ValidationError({"policy": f"One of {', '.join(Policy.values)}."})
    digest, size = hashlib.sha256(), 0
    if hasattr(fileobj, "seek"):
        fileobj.seek(0)
    for block in (fileobj.chunks() if hasattr(fileobj, "chunks") else iter(lambda: fileobj.read(1 << 20), b"")):
        digest.update(block)
        size += len(block)
    fileobj.seek(0)
    name = (file_name or getattr(fileobj, "name", "") or "upload.bib").replace("\\", "/").rsplit("/", 1)[-1]
    with transaction.atomic():
        job = ImportJob(file_name=name[:255], size=size, checksum=digest.hexdigest(), policy=policy,
                        dry_run=bool(dry_run), uploaded_by=user if getattr(user, "is_authenticated", False) else None)
        job.file.save(name, fileobj if isinstance(fileobj, File) else File(fileobj, name=name), save=False)
        job.save()
        if enqueue:
            enqueue_job(job.pk)
    return job


def resume_job(user, job) -> ImportJob:
    if job.status in (JobStatus.DONE, JobStatus.UNDONE):
        raise ImportError_(f"The job is {job.status}; only a queued, running or failed job can be resumed.")
    enqueue_job(job.pk)
    return job


_ENTRY_START = re.compile(rb"^[ \t]*@[ \t]*(?!(?:string|preamble|comment)\b)[A-Za-z]", re.M | re.I)
_ENTRY_START_TEXT = re.compile(r"^[ \t]*@[ \t]*(?!(?:string|preamble|comment)\b)[A-Za-z]", re.M | re.I)


def estimate_entries(f) -> int:
    """A fast count of the lines that start an entry (for progress; the reader's count is exact)."""
    start = f.tell()
    head = f.read(8192)
    f.seek(start)
    encoding, bom, _ = sniff(head)
    count = 0
    if encoding and encoding.startswith(("utf-16", "utf-32")):
        decoder = codecs.getincrementaldecoder(encoding)("replace")
        f.read(bom)
        carry = ""
        for block in iter(lambda: f.read(1 << 20), b""):
            text = carry + decoder.decode(block)
            cut = text.rfind("\n") + 1
            count += len(_ENTRY_START_TEXT.findall(text, 0, cut))
            carry = text[cut:]
        count += len(_ENTRY_START_TEXT.findall(carry + decoder.decode(b"", final=True)))
    else:
        carry = b""
        for block in iter(lambda: f.read(1 << 20), b""):
            data = carry + block
            cut = data.rfind(b"\n") + 1
            count += len(_ENTRY_START.findall(data, 0, cut))
            carry = data[cut:]
        count += len(_ENTRY_START.findall(carry))
    f.seek(start)
    return count


#: A file of at least this many entries reads the first-author blocks of every study at once when the
#: database and the file together hold at most ``PRELOAD_MAX_STUDIES`` studies (memory: 50-60 MB per
#: 100k studies); otherwise blocks are looked up as needed, at most ``AuthorBlocks.MAX_ROWS`` kept.
PRELOAD_MIN_ENTRIES = 2_000
PRELOAD_MAX_STUDIES = 250_000
#: A file of at least this many entries is written by a second thread while the next chunk is decided.
PIPELINE_MIN_ENTRIES = 5_000


def run_job(job_id, *, chunk_size=CHUNK, progress=None) -> ImportJob:
    """Run (or resume) a job. Idempotent: a finished job is left alone, and so is a job another worker is
    running (apps.imports.jobs.claim); never raises for bad input."""
    with claim(job_id) as mine:
        if not mine:
            log.info("imports: job %s is being run by another worker; this request does nothing", job_id)
            return ImportJob.objects.get(pk=job_id)
        return _run_claimed(job_id, chunk_size=chunk_size, progress=progress)


def _run_claimed(job_id, *, chunk_size, progress) -> ImportJob:
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.status in (JobStatus.DONE, JobStatus.UNDONE):
            return job
        job.status = JobStatus.RUNNING
        job.attempts += 1
        job.started_at = job.started_at or timezone.now()
        job.error = ""
        job.save(update_fields=["status", "attempts", "started_at", "error"])
    try:
        Importer(job).run(chunk_size=chunk_size, progress=progress)
    except Exception as exc:
        log.exception("imports: job %s failed", job_id)
        ImportJob.objects.filter(pk=job_id).update(
            status=JobStatus.FAILED, finished_at=timezone.now(),
            error=f"The import stopped: {type(exc).__name__}: {exc}"[:2000]
            + " Entries recorded so far are kept; run the job again to resume after them.")
    job.refresh_from_db()
    return job


def _after(start: int, prepare_chunk):
    """A chunk -> its entries from ``start`` on, prepared by ``prepare_chunk`` if given (None if none)."""
    def todo(chunk):
        items = [e for e in chunk if e.index >= start]
        if not items:
            return None
        return prepare_chunk(items) if prepare_chunk is not None else items
    return todo


def recount(job) -> dict:
    counts = {o: 0 for o in Outcome.values}
    for row in job.outcomes.values("outcome").annotate(n=Count("id")):
        counts[row["outcome"]] = row["n"]
    return counts


# --------------------------------------------------------------------------- decisions

@dataclass
class Decision:
    index: int
    key: str
    line: int | None
    entry_type: str
    raw: str
    outcome: str
    prepared: Prepared | None = None
    match: Match | None = None
    study_id: int | None = None
    rule: str = ""
    score: float | None = None
    duplicate_of: int | None = None
    message: str = ""
    warnings: list = field(default_factory=list)
    changed_fields: list = field(default_factory=list)
    previous: dict = field(default_factory=dict)
    study_updated_at: object = None
    study: Study | None = None
    features: object = None

    def reset(self):
        """Forget an earlier decision of this (prepared) entry."""
        self.outcome, self.match, self.study_id, self.rule, self.score = Outcome.FAILED, None, None, "", None
        self.duplicate_of, self.message, self.study, self.study_updated_at = None, "", None, None
        self.changed_fields, self.previous = [], {}
        self.warnings = []

    def to_outcome(self, job) -> dict:
        """The outcome row (attnames -> values) of this decision."""
        p = self.prepared
        keep_raw = self.outcome in (Outcome.FAILED, Outcome.REVIEW)  # the others: the study, or the stored file
        return {
            "job_id": job.pk, "index": self.index, "key": self.key[:255], "line": self.line,
            "entry_type": self.entry_type[:40], "outcome": self.outcome, "study_id": self.study_id,
            "rule": self.rule, "score": self.score, "duplicate_of": self.duplicate_of,
            "changed_fields": self.changed_fields, "previous": self.previous,
            "study_updated_at": self.study_updated_at, "message": self.message[:5000],
            "warnings": (self.warnings or (p.warnings if p else []))[:50],
            "ambiguous_authors": (p.ambiguous_authors if p else [])[:50], "raw": self.raw if keep_raw else "",
        }


def _is_empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _describe(match: Match) -> str:
    c = match.candidate
    what = f"study {c.study_id}" if c.study_id is not None else f"entry #{c.entry_index} of this file"
    why = "; ".join(match.reasons)
    return f"{what} ({why})" if why else what


class Importer:
    """The pipeline for one job: decide each entry against the database and the file, then write."""

    VENUE_CACHE_MAX = 20_000

    def __init__(self, job: ImportJob, user=None):
        self.job = job
        self.user = user if user is not None else job.uploaded_by
        self.researchers = None
        self.venues = {}
        self.claimed = {}                  # study id -> entry that created or matched it (this chunk; dry run: all)
        self.pending = CandidateIndex()    # a dry run's would-be studies (kept for the whole file)
        self.created_by_entry = {}         # entry index -> study id written in this chunk
        self.created_before = {}           # ... and in the chunk before it (pipelined: decided against it)
        self.blocks = AuthorBlocks()       # stored studies by first author, cached for the job
        self.block_changes = None          # pipelined: changes to ``blocks`` the writer leaves to the decider
        self.fell_back = False             # the last chunk's outcomes differ from its decisions
        self.via = f"bibtex:{job.file_name}"[:100]

    # -- state -------------------------------------------------------------------------------------
    def load_state(self):
        """Forget what this object knows of the job's progress (after another worker moved it on)."""
        self.claimed = {}

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
            for study_id, index in (self.job.outcomes.filter(outcome__in=kinds, study_id__in=ids[i:i + 500])
                                    .order_by("index").values_list("study_id", "index")):
                out.setdefault(study_id, index)
        return out

    def _researchers(self):
        if self.researchers is None:
            self.researchers = ResearcherIndex()
        return self.researchers

    # -- running -----------------------------------------------------------------------------------
    def run(self, chunk_size=CHUNK, progress=None):
        job = self.job
        if job.dry_run and job.done:  # a dry run keeps its would-be studies in memory: start again
            job.outcomes.all().delete()
            job.done, job.counts = 0, {}
            job.save(update_fields=["done", "counts"])
        self.load_state()
        counts = Counter(recount(job)) if job.done else Counter()
        if not job.file:
            raise RuntimeError("the job has no stored file")
        with job.file.storage.open(job.file.name, "rb") as stored:
            f = getattr(stored, "file", stored)
            if job.size == 0:
                return self._fail_file(["the file is empty"])
            if job.total is None:
                job.total = estimate_entries(f)
                job.save(update_fields=["total"])
            if progress:
                progress(job.done, job.total)
            todo = job.total - job.done
            path = pipeline.local_path(job.file) if todo >= pipeline.SUBPROCESS_MIN_ENTRIES else None
            if path:  # a large file: read and prepared by a second process (see apps.imports.pipeline)
                stream = pipeline.ChildPreparer(path, start=job.done, chunk_size=chunk_size)
                prepare_chunk = None
            else:
                stream = iter_bibtex(f, chunk_entries=chunk_size)
                prepare_chunk = self.prepare_only
            chunks = ReadAhead(stream, _after(job.done, prepare_chunk), name="bibtex-read-ahead")
            try:
                with pipeline.job_tuning():
                    self.maybe_preload(todo)  # while the reader starts
                    collector.freeze()  # the preloaded blocks live as long as the job: never scanned again
                    if self.can_pipeline(todo):
                        self.run_pipelined(chunks, counts, progress)
                    else:
                        for items in chunks:
                            self.link_authors(items)
                            self.process_chunk(items, counts)
                            if progress:
                                progress(job.done, max(job.total or 0, job.done))
            finally:
                chunks.close()
            total = stream.entries_read
        job.encoding = stream.encoding[:40]
        job.warnings = [str(w)[:500] for w in stream.warnings[:200]]
        if total == 0:
            return self._fail_file(self._diagnose() + list(stream.warnings))
        with transaction.atomic():
            ImportJob.objects.select_for_update().filter(pk=job.pk).first()
            job.total = total
            job.counts = recount(job)
            job.status = JobStatus.DONE
            job.finished_at = timezone.now()
            job.save(update_fields=["total", "counts", "status", "finished_at", "encoding", "warnings"])
        return job

    def maybe_preload(self, entries: int):
        """Read all first-author blocks at once for a large file against a database of moderate size
        (see :class:`AuthorBlocks`); small files look names up as they go. The blocks grow with the
        studies the job writes, so the database *and the file* must stay within ``PRELOAD_MAX_STUDIES``:
        the importer's memory is bounded however large the file (about 0.5 KB per study held)."""
        if entries >= PRELOAD_MIN_ENTRIES and Study.objects.count() + entries <= PRELOAD_MAX_STUDIES:
            self.blocks.preload()

    def _diagnose(self) -> list[str]:
        """Why a file holds no entries (binary, RIS, JSON, plain text), from its first 64 KB."""
        with self.job.file.storage.open(self.job.file.name, "rb") as f:
            head = f.read(65536)
        found = [w for w in read_bibtex(head).warnings if w.startswith("no BibTeX entries")][:1]
        generic = found and ("only @string" in found[0] or found[0].endswith("is this a BibTeX file?"))
        if generic and b"@" not in head.replace(b"\x00", b""):
            return ["no BibTeX entries found: nothing starts with '@'; is this a BibTeX file?"]
        return found

    def _fail_file(self, warnings):
        job = self.job
        job.total = 0
        job.status = JobStatus.FAILED
        job.finished_at = timezone.now()
        seen = []
        for w in warnings:
            if str(w) not in seen and not (seen and str(w) == "no BibTeX entries found"):
                seen.append(str(w))
        first = "; ".join(seen[:3])
        job.error = f"Nothing was imported: {first}" + ("" if first.endswith(("?", ".")) else ".") \
            + " Upload a BibTeX (.bib) file."
        job.warnings = [str(w)[:500] for w in warnings[:200]]
        job.save(update_fields=["total", "status", "finished_at", "error", "warnings", "encoding"])
        return job

    def process_chunk(self, items, counts):
        """Decide and write one chunk in one transaction, with its outcomes and the job's progress."""
        job = self.job
        with transaction.atomic(), audit_context.acting_as(self.user, action="import", via=self.via), batched():
            tune_transaction()
            locked = ImportJob.objects.select_for_update().get(pk=job.pk)
            job.created_venues = sorted(set(locked.created_venues or []) | set(job.created_venues or []))
            if locked.done != job.done:  # another worker got further meanwhile
                job.done = locked.done
                self.load_state()
                counts.clear()
                counts.update(recount(job))
                items = [i for i in items if i.index >= job.done]
                if not items:
                    return
            self.record(self.decide(items), counts)

    def record(self, decisions, counts):
        """Write decided entries with their outcomes and the job's progress (in the caller's transaction)."""
        job = self.job
        outcomes = self.write(decisions)
        reviews = any(d.outcome == Outcome.REVIEW for d in decisions) and not job.dry_run
        ids = writer(ImportOutcome).insert(outcomes, with_ids=reviews)
        if reviews:
            self.write_reviews(decisions, ids)
        counts.update(d.outcome for d in decisions)
        job.done = decisions[-1].index + 1
        job.counts = {o: counts.get(o, 0) for o in Outcome.values}
        job.save(update_fields=["done", "counts", "created_venues"])

    # -- pipelined: decide chunk k+1 while chunk k is written ----------------------------------------
    def can_pipeline(self, entries: int) -> bool:
        """A large file, really written, on PostgreSQL, not inside the caller's transaction (the writer's
        own connection could not see it)."""
        return (entries >= PIPELINE_MIN_ENTRIES and not self.job.dry_run and connection.vendor == "postgresql"
                and not connection.in_atomic_block)

    def run_pipelined(self, chunks, counts, progress):
        """Decide each chunk while a :class:`ChunkWriter` writes the one before it.

        The decisions of chunk k+1 cannot see chunk k in the database yet, so they are made against an
        in-memory view of it: its new studies and the studies it merged into (with the claims on them),
        exactly what the database would show once it is committed. Should chunk k turn out differently
        (written entry by entry after a failure, or another worker got further), chunk k+1 is decided
        again the ordinary way."""
        job = self.job
        self.block_changes = []
        try:
            with ChunkWriter(self, counts) as chunk_writer:
                for items in chunks:
                    self.link_authors(items)
                    with transaction.atomic():  # reads only; settings for the many small lookups
                        tune_transaction()
                        decisions = self.decide(items, ahead=chunk_writer.ahead)
                        # known venues looked up here; the writer creates only those still missing
                        self.resolve_venues([d for d in decisions if d.prepared is not None
                                             and d.outcome in (Outcome.CREATED, Outcome.MERGED)],
                                            create=False, may_forget=False)
                    result = chunk_writer.wait()
                    self.apply_block_changes()
                    if result is not None and result.redo:
                        if result.stale:  # that chunk was not written: another worker had moved the job on
                            self.process_chunk(result.decisions, counts)
                            self.apply_block_changes()
                        self.process_chunk(items, counts)
                        self.apply_block_changes()
                    else:
                        chunk_writer.submit(decisions)
                    if progress:
                        progress(job.done, max(job.total or 0, job.done))
                result = chunk_writer.wait()
                if result is not None and result.stale:
                    self.process_chunk(result.decisions, counts)
                    self.apply_block_changes()
        finally:
            self.apply_block_changes()
            self.block_changes = None

    def write_chunk(self, decisions, counts) -> "ChunkResult":
        """The writer thread's part: one chunk in one transaction on the thread's own connection."""
        job = self.job
        with transaction.atomic(), audit_context.acting_as(self.user, action="import", via=self.via), batched():
            tune_transaction()
            locked = ImportJob.objects.select_for_update().get(pk=job.pk)
            if locked.done != job.done:
                return ChunkResult(decisions, stale=True)
            job.created_venues = sorted(set(locked.created_venues or []) | set(job.created_venues or []))
            self.record(decisions, counts)
        return ChunkResult(decisions, fell_back=self.fell_back)

    def change_blocks(self, method: str, *args):
        """Change the author blocks now, or (pipelined, from the writer) when the decider is between chunks."""
        if self.block_changes is None:
            getattr(self.blocks, method)(*args)
        else:
            self.block_changes.append((method, args))

    def apply_block_changes(self):
        changes, self.block_changes = self.block_changes, ([] if self.block_changes is not None else None)
        for method, args in changes or ():
            getattr(self.blocks, method)(*args)

    def prepare_entries(self, entries) -> list[Decision]:
        items = self.prepare_only(entries)
        self.link_authors(items)
        return items

    @staticmethod
    def prepare_only(entries) -> list[Decision]:
        """Entries -> decisions with prepared values (no database: safe in the read-ahead thread)."""
        out = []
        for e in entries:
            d = Decision(index=e.index, key=e.key or "", line=e.line, entry_type=e.entry_type or "",
                         raw=e.raw or "", outcome=Outcome.FAILED)
            try:
                p = prepare(e)
            except EntryFailed as exc:
                d.message = f"Line {e.line}: {exc}"
                d.warnings = list(e.warnings)[:50]
            except Exception as exc:  # a bug costs one entry, never the file
                log.exception("imports: preparing entry %s failed", e.index)
                d.message = f"Line {e.line}: internal error while preparing the entry: {type(exc).__name__}: {exc}"
            else:
                d.prepared = p
                d.raw = p.raw
                d.features = prepared_features(p)
            out.append(d)
        return out

    def link_authors(self, items):
        for d in items:
            p = d.prepared
            if p is None or not p.authors:
                continue
            try:
                p.ambiguous_authors = self._researchers().link(p.authors, p.source.get("extra", {}))
            except Exception as exc:  # linking is a bonus; the entry is imported without links
                log.exception("imports: linking authors of entry %s failed", d.index)
                p.warnings.append(f"authors were not linked to researchers: {exc}")

    def decide(self, items: list[Decision], ahead: "Ahead | None" = None) -> list[Decision]:
        """Each entry's outcome. ``ahead``: the chunk being written meanwhile (see ``run_pipelined``)."""
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
                d.message = f"Uncertain match with {_describe(m)}: waiting for a curator."
                (self.pending if job.dry_run else index).add(Candidate(f, None, d.index))
            else:
                d.outcome = Outcome.CREATED
                (self.pending if job.dry_run else index).add(Candidate(f, None, d.index))
        return items

    # -- writing -----------------------------------------------------------------------------------
    def write(self, decisions: list[Decision]) -> list[dict]:
        """Write the chunk's studies (in bulk; entry by entry if that fails) and return the outcomes."""
        if self.job.dry_run:
            self.describe_dry_run(decisions)
            return [d.to_outcome(self.job) for d in decisions]
        self.created_before, self.created_by_entry, self.fell_back = self.created_by_entry, {}, False
        self.resolve_venues([d for d in decisions if d.prepared is not None
                             and d.outcome in (Outcome.CREATED, Outcome.MERGED)])
        try:
            with transaction.atomic():
                self._write(decisions)
        except Exception as exc:
            log.warning("imports: job %s: bulk write failed (%s); writing entry by entry", self.job.pk, exc)
            self.fell_back = True
            for study_id in self.created_by_entry.values():  # rolled back: their ids may come again
                self.claimed.pop(study_id, None)
            self.created_by_entry = {}
            for d in decisions:
                d.study = None
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
        return [d.to_outcome(self.job) for d in decisions]

    def describe_dry_run(self, decisions):
        """What the import would do, with the fields a merge would change; writes nothing."""
        merges = [d for d in decisions if d.outcome == Outcome.MERGED]
        self.resolve_venues(merges, create=False)
        studies = Study.objects.in_bulk([d.study_id for d in merges])
        authors = self._authors_of(studies)
        for d in decisions:
            if d.outcome == Outcome.CREATED:
                d.message = "Would create a new study (dry run)."
            elif d.outcome in (Outcome.MERGED, Outcome.SKIPPED):
                study = studies.get(d.study_id)
                if study is not None and d.outcome == Outcome.MERGED:
                    changes, previous, warnings = self.changes(study, authors.get(study.pk, []), d.prepared)
                    d.changed_fields = sorted(changes)
                    d.warnings = d.prepared.warnings + warnings
                d.message = self._match_message(d) + " (dry run: nothing written)"

    def _match_message(self, d: Decision) -> str:
        if d.outcome == Outcome.SKIPPED:
            return f"Matches {_describe(d.match)}; left unchanged (policy skip)."
        if d.changed_fields:
            return f"Merged into {_describe(d.match)}; changed: {', '.join(d.changed_fields)}."
        return f"Merged into {_describe(d.match)}; no field changed."

    def _write(self, decisions):
        creates = [d for d in decisions if d.outcome == Outcome.CREATED]
        merges = [d for d in decisions if d.outcome == Outcome.MERGED]
        for d in decisions:
            if d.outcome == Outcome.SKIPPED:
                d.message = self._match_message(d)
        if merges:
            self.write_merges(merges)
        if creates:
            self.write_creates(creates)

    def resolve_venues(self, decisions, create=True, may_forget=True):
        """Venue ids of the decisions' venues into ``self.venues`` (created if ``create``). The cache is
        emptied beyond 20,000 venues when ``may_forget`` (not while a writer thread may be using it)."""
        wanted = {}
        for d in decisions:
            v = d.prepared.venue
            if v:
                wanted.setdefault((v["name"].lower(), v["issn"]), v)
        if may_forget and len(self.venues) > self.VENUE_CACHE_MAX:  # a cache, not a copy of the venue table
            self.venues = {}
        missing = {k: v for k, v in wanted.items() if k not in self.venues}
        if not missing:
            return

        def load(queryset):
            for vid, name, issn in queryset.values_list("id", "name", "issn"):
                self.venues.setdefault((name.lower(), issn), vid)

        lower_names = sorted({k[0] for k in missing})
        for i in range(0, len(lower_names), 500):
            load(Venue.objects.annotate(lname=Lower("name")).filter(lname__in=lower_names[i:i + 500]))
        # sorted: two jobs inserting the same new venues take their locks in the same order (no deadlock)
        new = [Venue(name=v["name"], issn=v["issn"], kind=v["kind"]) for key, v in sorted(missing.items())
               if key not in self.venues]
        if new and create:
            created = self._create_venues(new)
            for (name, issn), vid in created.items():
                self.venues[(name.lower(), issn)] = vid
            lost = sorted({v.name.lower() for v in new if (v.name.lower(), v.issn) not in self.venues})
            for i in range(0, len(lost), 500):  # written meanwhile by someone else
                load(Venue.objects.annotate(lname=Lower("name")).filter(lname__in=lost[i:i + 500]))
            # remembered (saved with the chunk's progress) so that undo can remove them again
            self.job.created_venues = sorted(set(self.job.created_venues or []) | set(created.values()))

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

    def venue_id(self, p: Prepared):
        v = p.venue
        return self.venues.get((v["name"].lower(), v["issn"])) if v else None

    def write_creates(self, decisions):
        """New studies with their authors, source records, audit entries and outbox rows, in bulk."""
        job = self.job
        user_id = self.user.pk if getattr(self.user, "is_authenticated", False) else None
        now = timezone.now()
        rows = []
        for d in decisions:
            p = d.prepared
            row = dict(p.fields)
            row.update(venue_id=self.venue_id(p), provenance=Provenance.BIBTEX, status=Status.DRAFT,
                       created_by_id=user_id, updated_by_id=user_id, created_at=now, updated_at=now,
                       title_key=d.features.title_key if d.features else title_key(row["title"], row["subtitle"]))
            rows.append(row)
        ids = writer(Study).insert(rows, with_ids=True)
        authorships, sources = [], []
        for d, study_id, row in zip(decisions, ids, rows):
            p = d.prepared
            d.study_id, d.study_updated_at = study_id, now
            self.created_by_entry[d.index] = study_id
            self.claimed.setdefault(study_id, d.index)
            for position, a in enumerate(p.authors, start=1):
                authorships.append({"study_id": study_id, "position": position, "name": a["name"],
                                    "family_name": a["family_name"], "given_name": a["given_name"],
                                    "family_key": family_key(a["family_name"]), "researcher_id": a.get("researcher")})
            data = _source_data(p)
            if data or BIBTEX_TYPE_BY_STUDY_TYPE.get(p.fields["study_type"]) != p.entry_type:
                sources.append({"study_id": study_id, "job_id": job.pk, "entry_type": p.entry_type, "data": data})
            if p.authors:
                fields = p.fields
                self.change_blocks("add", family_key(p.authors[0]["family_name"]), study_id, fields["year"],
                                   row["title_key"])
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

    def _authors_of(self, study_ids):
        out = {}
        for row in (Authorship.objects.filter(study_id__in=list(study_ids)).order_by("study_id", "position")
                    .values("study_id", "name", "family_name", "given_name", "researcher_id", "corresponding")):
            sid = row.pop("study_id")
            out.setdefault(sid, []).append(row)
        return out

    def changes(self, study, authors, p: Prepared, check_unique=True, policy=None):
        """(changes, previous values, warnings) of merging ``p`` into ``study`` under the job's policy."""
        policy = policy or self.job.policy
        fill = policy == Policy.FILL
        new, previous, warnings = {}, {}, []
        values = p.fields
        for name in MERGE_FIELDS:
            value, old = values.get(name), getattr(study, name)
            if _is_empty(value) or value == old or (fill and not _is_empty(old)):
                continue
            new[name] = value
        y, m, dd = values.get("year"), values.get("month"), values.get("day")
        if y is not None:
            if study.year is None or (not fill and study.year != y):
                new.update({"year": y, "month": m, "day": dd})
            elif study.year == y and m is not None:
                if study.month is None or (not fill and study.month != m):
                    new.update({"month": m, "day": dd})
                elif study.month == m and dd is not None and (study.day is None or (not fill and study.day != dd)):
                    new["day"] = dd
        for k in [k for k in ("year", "month", "day") if k in new and new[k] == getattr(study, k)]:
            del new[k]
        if not fill and values.get("study_type") and values["study_type"] != study.study_type:
            new["study_type"] = values["study_type"]
        venue_id = self.venue_id(p)
        if venue_id and venue_id != study.venue_id and (study.venue_id is None or not fill):
            new["venue"] = venue_id
        for name in ("source_entry", "source_key"):
            value = values.get(name) or ""
            if value and value != getattr(study, name) and (not fill or not getattr(study, name)):
                new[name] = value
        printed = [a["name"] for a in p.authors]
        if p.authors and printed != [a["name"] for a in authors] and (not authors or not fill):
            new["authors"] = p.authors
        if check_unique:
            for name in UNIQUE_FIELDS:
                if name in new and Study.objects.filter(**{name: new[name]}).exclude(pk=study.id).exists():
                    warnings.append(f"{name.upper()} {new[name]} belongs to another study: not copied")
                    del new[name]
        for name in new:
            if name == "venue":
                previous[name] = study.venue_id
            elif name == "authors":
                previous[name] = authors
            else:
                previous[name] = getattr(study, name)
        return new, previous, warnings

    def write_merges(self, decisions):
        """Merge: the studies are read (and locked) in one query; each changed one is updated in one
        statement; authors are replaced in bulk; one audit entry per changed study."""
        ids = [d.study_id for d in decisions]
        studies = {row["id"]: SimpleNamespace(**row) for row in
                   Study.objects.select_for_update().filter(pk__in=ids).order_by().values(*MERGE_LOAD)}
        authors = self._authors_of(ids)
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
                        self.change_blocks("forget", family_key(a.get("family_name", "")))
                values.update(updated_at=now, updated_by_id=user.pk if user else study.updated_by_id)
                study.updated_at = now
                changed.append((study.id, values))
                audit.append((study.id, _repr({"title": study.title, "year": study.year}),
                              {k: {"from": to_json(previous[k]), "to": to_json(v)} for k, v in new.items()}))
            d.changed_fields, d.previous = sorted(new), _jsonable(previous)
            d.study_updated_at = study.updated_at
            d.message = self._match_message(d)
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

    def apply(self, study, new):
        """Set ``new`` values on ``study`` and save it (signals log the change and mark it for indexing)."""
        authors = new.pop("authors", None)
        for name, value in new.items():
            if name == "venue":
                study.venue_id = value
            else:
                setattr(study, name, value)
        if authors is not None:
            new["authors"] = authors
        if getattr(self.user, "is_authenticated", False):
            study.updated_by = self.user
        study.save()
        if authors is not None:
            set_authors(study, authors, self.user)

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


# --------------------------------------------------------------------------- retry, review, undo

def retry_outcome(user, outcome: ImportOutcome, text: str) -> ImportOutcome:
    """Import corrected text for one failed entry, with the job's options; the outcome is updated."""
    result = read_bibtex(text or "")
    if len(result.entries) != 1:
        raise ValidationError({"text": f"Expected exactly one BibTeX entry, found {len(result.entries)}."})
    entry = result.entries[0]
    entry.index = outcome.index
    job = outcome.job
    if job.dry_run:
        raise ImportError_("A dry run writes nothing; upload the corrected file again instead.")
    if job.status in (JobStatus.UNDONE, JobStatus.QUEUED, JobStatus.RUNNING):
        raise ImportError_(f"The job is {job.status}; only entries of a finished job can be retried.")
    importer = Importer(job, user)
    with transaction.atomic(), audit_context.acting_as(user, action="import", via=importer.via), batched():
        ImportJob.objects.select_for_update().get(pk=job.pk)
        outcome = ImportOutcome.objects.select_for_update().get(pk=outcome.pk)
        if outcome.outcome != Outcome.FAILED:
            raise ImportError_(f"Only failed entries can be retried; this one is {outcome.outcome}.")
        importer.load_state()
        decisions = importer.decide(importer.prepare_entries([entry]))
        fresh = importer.write(decisions)[0]
        for name in ("key", "entry_type", "outcome", "study_id", "rule", "score", "duplicate_of",
                     "changed_fields", "previous", "study_updated_at", "message", "warnings", "ambiguous_authors"):
            setattr(outcome, name, fresh[name])
        outcome.raw = text
        outcome.retries += 1
        outcome.message = f"Retried with corrected text: {outcome.message}"
        outcome.save()
        importer.write_reviews(decisions, [outcome.pk])
        job.counts = recount(job)
        job.save(update_fields=["counts", "created_venues"])
    return outcome


def resolve_review(user, item: ReviewItem, decision: str) -> ReviewItem:
    """A curator's answer to an uncertain match: ``merge`` (same work) or ``create`` (different works)."""
    if decision not in ("merge", "create"):
        raise ValidationError({"decision": "Either 'merge' (same work) or 'create' (different works)."})
    job = item.job
    importer = Importer(job, user)
    with transaction.atomic(), audit_context.acting_as(user, action="import", via=importer.via), batched():
        item = ReviewItem.objects.select_for_update().select_related("outcome").get(pk=item.pk)
        if item.status != ReviewStatus.OPEN:
            raise ImportError_(f"This review was already resolved ({item.status}).")
        if job.status == JobStatus.UNDONE:
            raise ImportError_("The import was undone.")
        p = Prepared.from_json(item.data)
        d = Decision(index=p.index, key=p.key, line=p.line, entry_type=p.entry_type, raw=p.raw,
                     outcome=Outcome.CREATED, prepared=p, rule=Rule.CURATOR)
        importer.resolve_venues([d])
        if decision == "merge":
            if item.candidate_id is None:
                raise ImportError_("The candidate study no longer exists; resolve as 'create' instead.")
            d.study_id = item.candidate_id
            d.match = Match(Candidate(None, item.candidate_id), Rule.CURATOR, True, item.score,
                            ["a curator decided: same work"])
            if job.policy == Policy.SKIP:
                d.outcome = Outcome.SKIPPED
                d.message = importer._match_message(d)
            else:
                d.outcome = Outcome.MERGED
                importer.write_merges([d])
            item.status = ReviewStatus.MERGED
        else:
            importer.write_creates([d])
            d.message = f"A curator decided: different works. {d.message}"
            item.status = ReviewStatus.CREATED
        outcome = item.outcome
        outcome.outcome, outcome.study_id, outcome.rule = d.outcome, d.study_id, Rule.CURATOR
        outcome.changed_fields, outcome.previous = d.changed_fields, d.previous
        outcome.study_updated_at, outcome.message = d.study_updated_at, d.message
        outcome.save()
        item.resolved_by = user if getattr(user, "is_authenticated", False) else None
        item.resolved_at = timezone.now()
        item.save(update_fields=["status", "resolved_by", "resolved_at"])
        job.counts = recount(job)
        job.save(update_fields=["counts", "created_venues"])
    return item


def edited_since_import(job) -> list[dict]:
    """Studies this job wrote that someone changed afterwards (undo would lose their work)."""
    from apps.summaries.models import Summary

    out = []
    rows = (job.outcomes.filter(outcome__in=[Outcome.CREATED, Outcome.MERGED], study__isnull=False)
            .exclude(outcome=Outcome.MERGED, changed_fields=[])
            .values_list("study_id", "outcome", "study_updated_at"))
    latest = {}
    for study_id, kind, stamp in rows:
        if stamp is not None and (study_id not in latest or stamp > latest[study_id][1]):
            latest[study_id] = (kind, stamp)
    ids = list(latest)
    for i in range(0, len(ids), 500):
        batch = ids[i:i + 500]
        studies = (Study.objects.filter(pk__in=batch)
                   .annotate(has_topics=Exists(Study.topics.through.objects.filter(study_id=OuterRef("pk"))),
                             has_summaries=Exists(Summary.studies.through.objects.filter(study_id=OuterRef("pk"))))
                   .values_list("id", "title", "updated_at", "has_topics", "has_summaries"))
        for sid, title, updated_at, has_topics, has_summaries in studies:
            kind, stamp = latest[sid]
            reasons = []
            if updated_at != stamp:
                reasons.append("changed")
            if kind == Outcome.CREATED and has_topics:
                reasons.append("topics")
            if kind == Outcome.CREATED and has_summaries:
                reasons.append("summaries")
            if reasons:
                out.append({"id": sid, "title": title[:200], "updated_at": updated_at.isoformat(),
                            "reasons": reasons, "why": ", ".join(EDITED_REASONS[r] for r in reasons)})
    return out


#: Why undoing a job would lose later work: reason code -> text (clients translate the codes).
EDITED_REASONS = {"changed": "changed since the import", "topics": "has topics", "summaries": "has summaries"}


def undo_job(user, job) -> ImportJob:
    """Delete the studies the job created and restore the fields it changed.

    Refused (``ImportError_`` with status 409 and ``edited_studies``) when any of those studies was
    changed after the import, so nobody's later work is lost.
    """
    via = f"bibtex undo: import {job.pk}"[:100]
    with transaction.atomic(), audit_context.acting_as(user, via=via), batched():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.dry_run:
            raise ImportError_("A dry run wrote nothing; there is nothing to undo.")
        if job.status not in (JobStatus.DONE, JobStatus.FAILED):
            raise ImportError_(f"The job is {job.status}; only a finished or failed job can be undone.")
        edited = edited_since_import(job)
        if edited:
            raise ImportError_(f"{len(edited)} of the studies this import wrote were changed since; "
                               "undo would lose that work. Nothing was undone.", edited_studies=edited)
        outcomes = list(job.outcomes.filter(outcome__in=[Outcome.CREATED, Outcome.MERGED], study__isnull=False)
                        .exclude(outcome=Outcome.MERGED, changed_fields=[])
                        .order_by("-study_updated_at", "-index"))
        importer = Importer(job, user)
        created = []
        for o in outcomes:
            if o.outcome == Outcome.CREATED:
                created.append(o.study_id)
                continue
            study = Study.objects.select_for_update().filter(pk=o.study_id).first()
            if study is None:
                continue
            previous = dict(o.previous)
            for k in ("year", "month", "day"):
                if k in previous and previous[k] is not None:
                    previous[k] = int(previous[k])
            importer.apply(study, previous)
        for i in range(0, len(created), 500):
            Study.objects.filter(pk__in=created[i:i + 500]).delete()
        # the venues the job created, unless a study (of this kb, not only of the job) still uses them
        Venue.objects.filter(pk__in=job.created_venues or [], studies__isnull=True).delete()
        ReviewItem.objects.filter(job=job, status=ReviewStatus.OPEN).delete()
        job.status = JobStatus.UNDONE
        job.undone_at = timezone.now()
        job.undone_by = user if getattr(user, "is_authenticated", False) else None
        job.save(update_fields=["status", "undone_at", "undone_by"])
    return job


# --------------------------------------------------------------------------- the pipelined writer

@dataclass
class Ahead:
    """What the chunk being written will change in the database, as the next chunk's decisions need it:
    its new studies (candidates known by their entry), the studies it merges into as they will read
    after the merge (replacing the stored versions among the candidates), and the claims on both."""
    candidates: list
    claims: dict
    replaces: set

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
        return cls(candidates, claims, replaces)


def merged_view(stored: dict, author_keys: tuple, p: Prepared, policy) -> tuple[dict, tuple]:
    """The matching values (``matching.STUDY_VALUES``) and first-author keys a stored study will have
    once ``p`` is merged into it: :meth:`Importer.changes` for the values duplicate detection reads."""
    fill = policy == Policy.FILL
    out = dict(stored)
    values = p.fields
    for name in ("title", "subtitle", "doi", "pmid", "isbn", "pages", "edition", "chapter", "volume", "source_key"):
        value = values.get(name)
        if not _is_empty(value) and not (fill and not _is_empty(out.get(name))):
            out[name] = value
    if values.get("year") is not None and (out.get("year") is None or not fill):
        out["year"] = values["year"]
    if not fill and values.get("study_type"):
        out["study_type"] = values["study_type"]
    if out["title"] != stored.get("title") or out["subtitle"] != stored.get("subtitle"):
        out["title_key"] = title_key(out["title"], out["subtitle"])
    if p.authors and (not author_keys or not fill):
        author_keys = tuple(family_key(a["family_name"]) for a in p.authors)
    return out, author_keys


@dataclass
class ChunkResult:
    decisions: list
    stale: bool = False       # not written: another worker had moved the job on
    fell_back: bool = False   # written, but some outcomes differ from the decisions (entry by entry, ...)

    @property
    def redo(self) -> bool:
        return self.stale or self.fell_back


class ChunkWriter:
    """A thread with its own database connection that writes one chunk at a time (``Importer.write_chunk``)
    while the importer's thread decides the next; PostgreSQL works on one while Python works on the other.
    Leaving the ``with`` block lets the chunk being written finish (committed or rolled back as a whole)."""

    def __init__(self, importer: Importer, counts: Counter):
        self.importer, self.counts = importer, counts
        self.inbox: queue.Queue = queue.Queue(maxsize=1)
        self.results: queue.Queue = queue.Queue(maxsize=1)
        self.ahead: Ahead | None = None
        context = contextvars.copy_context()  # e.g. the audit context of the caller
        self.thread = threading.Thread(target=context.run, args=(self._work,), name="bibtex-writer", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.inbox.put(None)
        self.thread.join()

    def _work(self):
        try:
            while (decisions := self.inbox.get()) is not None:
                try:
                    result = self.importer.write_chunk(decisions, self.counts)
                except BaseException as exc:  # handed to the importer's thread, which raises it
                    log.warning("imports: job %s: writing a chunk failed: %s", self.importer.job.pk, exc)
                    result = exc
                self.results.put(result)
        finally:
            connection.close()  # this thread's own connection

    def submit(self, decisions):
        self.ahead = Ahead.of(decisions, self.importer.job.policy)
        self.inbox.put(decisions)

    def wait(self) -> ChunkResult | None:
        """The result of the chunk being written (None if there is none); its error is raised here."""
        if self.ahead is None:
            return None
        self.ahead = None
        result = self.results.get()
        if isinstance(result, BaseException):
            raise result
        return result
