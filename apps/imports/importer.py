"""Running one import job: the file is read chunk by chunk, each chunk decided and written.

A job reads its stored file as a stream in chunks (``CHUNK`` entries). Each chunk is decided
(:mod:`apps.imports.decide`) and written (:mod:`apps.imports.write`) in one transaction together with
its outcomes and the job's progress, so a worker that dies loses at most the chunk it was writing, and
running the job again resumes after the last recorded entry: no entry is written twice and every entry
gets exactly one outcome. Within a chunk studies are written in bulk; if that fails, the chunk is
written again entry by entry, each in its own savepoint, and only the entries that cannot be saved
fail. Large files are read by a second process (:mod:`apps.imports.reader_process`) and written by a
second thread while the next chunk is decided (:mod:`apps.imports.pipeline`).
"""
from __future__ import annotations

import logging
from collections import Counter
from contextlib import ExitStack, contextmanager

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from apps.audit import context as audit_context
from apps.common import collector
from apps.common.readahead import ReadAhead
from biblio import read_bibtex
from biblio.formats import estimate, open_stream
from search.sync import batched

from . import pipeline, reader_process
from .decide import Decider
from .entries import Decision, prepare_entries
from .models import Format, ImportJob, JobStatus, Outcome
from .write import Writer, tune_transaction

log = logging.getLogger(__name__)

CHUNK = 1000


def job_files(job) -> list[tuple[str, object]]:
    """A job's files in reading order: (name, stored file). Jobs from before ImportFile have one."""
    files = [(f.file_name, f.file) for f in job.files.order_by("position")]
    return files or [(job.file_name, job.file)]


@contextmanager
def _open_stored(fieldfile):
    with fieldfile.storage.open(fieldfile.name, "rb") as stored:
        yield getattr(stored, "file", stored)


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


class Importer:
    """One job's run: a :class:`Decider` and a :class:`Writer`, and the loop that feeds them chunks."""

    def __init__(self, job: ImportJob, user=None):
        self.job = job
        self.writer = Writer(job, user)
        self.decider = Decider(job)

    @property
    def user(self):
        return self.writer.user

    @contextmanager
    def acting(self):
        """The audit context of this job's writes: the uploader, action "import", via the file."""
        with audit_context.acting_as(self.writer.user, action="import", via=self.writer.via):
            yield

    def prepare_entries(self, entries) -> list[Decision]:
        """Read entries -> prepared decisions with their authors linked to researchers."""
        items = prepare_entries(entries)
        self.decider.link_authors(items)
        return items

    def run(self, chunk_size=CHUNK, progress=None):
        job = self.job
        if job.dry_run and job.done:  # a dry run keeps its would-be studies in memory: start again
            job.outcomes.all().delete()
            job.done, job.counts = 0, {}
            job.save(update_fields=["done", "counts"])
        self.decider.forget_claims()
        counts = Counter(recount(job)) if job.done else Counter()
        if not job.file:
            raise RuntimeError("the job has no stored file")
        sources = job_files(job)
        with ExitStack() as opened:
            handles = [opened.enter_context(_open_stored(f)) for _, f in sources]
            if job.size == 0:
                return self._fail_file(["the file is empty" if len(sources) == 1 else "the files are empty"])
            if job.total is None:
                job.total = sum(estimate(job.format, h) for h in handles)
                job.save(update_fields=["total"])
            if progress:
                progress(job.done, job.total)
            todo = job.total - job.done
            paths = [reader_process.local_path(f) for _, f in sources] \
                if todo >= reader_process.SUBPROCESS_MIN_ENTRIES else []
            if paths and all(paths):  # a large file: read and prepared by a second process (apps.imports.reader_process)
                stream = reader_process.ChildPreparer(paths, start=job.done, chunk_size=chunk_size, fmt=job.format)
                prepare_chunk = None
            else:
                stream = open_stream(job.format, handles, chunk_entries=chunk_size)
                prepare_chunk = prepare_entries
            chunks = ReadAhead(stream, _after(job.done, prepare_chunk), name="bibtex-read-ahead")
            try:
                with reader_process.job_tuning():
                    self.decider.maybe_preload(todo)  # while the reader starts
                    collector.freeze()  # the preloaded blocks live as long as the job: never scanned again
                    if pipeline.can_pipeline(job, todo):
                        pipeline.run_pipelined(self, chunks, counts, progress)
                    else:
                        for items in chunks:
                            self.decider.link_authors(items)
                            self.process_chunk(items, counts)
                            if progress:
                                progress(job.done, max(job.total or 0, job.done))
            finally:
                chunks.close()
            total = stream.entries_read
        job.encoding = stream.encoding[:40]
        job.encoding_guessed = bool(stream.encoding_guessed)
        job.warnings = [str(w)[:500] for w in stream.warnings[:200]]
        if total == 0:
            diagnosis = self._diagnose() if job.format == Format.BIBTEX and len(sources) == 1 else []
            return self._fail_file(diagnosis + list(stream.warnings))
        with transaction.atomic():
            ImportJob.objects.select_for_update().filter(pk=job.pk).first()
            job.total = total
            job.counts = recount(job)
            job.status = JobStatus.DONE
            job.finished_at = timezone.now()
            job.save(update_fields=["total", "counts", "status", "finished_at", "encoding", "encoding_guessed",
                                    "warnings"])
        return job

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
            + " Upload a BibTeX (.bib), RIS (.ris) or MEDLINE (.nbib) file."
        job.warnings = [str(w)[:500] for w in warnings[:200]]
        job.save(update_fields=["total", "status", "finished_at", "error", "warnings", "encoding", "encoding_guessed"])
        return job

    def process_chunk(self, items, counts):
        """Decide and write one chunk in one transaction, with its outcomes and the job's progress."""
        job = self.job
        with transaction.atomic(), self.acting(), batched():
            tune_transaction()
            locked = ImportJob.objects.select_for_update().get(pk=job.pk)
            job.created_venues = sorted(set(locked.created_venues or []) | set(job.created_venues or []))
            if locked.done != job.done:  # another worker got further meanwhile
                job.done = locked.done
                self.decider.forget_claims()
                counts.clear()
                counts.update(recount(job))
                items = [i for i in items if i.index >= job.done]
                if not items:
                    return
            self.writer.record(self.decider.decide(items), counts)
        self.decider.apply_block_changes(self.writer.take_block_changes())

    def write_chunk(self, decisions, counts, known_venues=pipeline.NO_VENUES) -> "pipeline.ChunkResult":
        """The writer thread's part: one chunk in one transaction on the thread's own connection."""
        job = self.job
        with transaction.atomic(), self.acting(), batched():
            tune_transaction()
            locked = ImportJob.objects.select_for_update().get(pk=job.pk)
            if locked.done != job.done:
                return pipeline.ChunkResult(tuple(decisions), stale=True)
            job.created_venues = sorted(set(locked.created_venues or []) | set(job.created_venues or []))
            self.writer.record(decisions, counts, known_venues)
        return pipeline.ChunkResult(tuple(decisions), fell_back=self.writer.fell_back, done=job.done,
                                    block_changes=self.writer.take_block_changes())
