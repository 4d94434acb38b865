"""Pipelined writing: a second thread writes chunk k while the importer's thread decides chunk k+1.

PostgreSQL works on one chunk while Python works on the other. Each thread owns its state: the
deciding thread its :class:`~apps.imports.decide.Decider`, the writer thread the job's
:class:`~apps.imports.write.Writer` from ``submit`` until the result is taken with ``wait`` (the
importer's thread touches the writer only when no chunk is being written). They exchange values:
the decisions of a chunk and the venue ids already known go one way; a frozen :class:`ChunkResult`
(with the author-block changes the decider must apply) comes back.
"""
from __future__ import annotations

import contextvars
import logging
import queue
import threading
from collections import Counter
from dataclasses import dataclass
from types import MappingProxyType

from django.db import connection, transaction

from .decide import Ahead
from .write import tune_transaction

log = logging.getLogger(__name__)

#: A file of at least this many entries is written by a second thread while the next chunk is decided.
PIPELINE_MIN_ENTRIES = 5_000
NO_VENUES = MappingProxyType({})


@dataclass(frozen=True)
class ChunkResult:
    decisions: tuple
    stale: bool = False          # not written: another worker had moved the job on
    fell_back: bool = False      # written, but some outcomes differ from the decisions (entry by entry, ...)
    done: int | None = None      # the job's progress after the chunk
    block_changes: tuple = ()    # for the decider's author blocks (``Writer.take_block_changes``)

    @property
    def redo(self) -> bool:
        return self.stale or self.fell_back


def can_pipeline(job, entries: int) -> bool:
    """A large file, really written, on PostgreSQL, not inside the caller's transaction (the writer's
    own connection could not see it)."""
    return (entries >= PIPELINE_MIN_ENTRIES and not job.dry_run and connection.vendor == "postgresql"
            and not connection.in_atomic_block)


def run_pipelined(importer, chunks, counts: Counter, progress=None):
    """Decide each chunk while a :class:`ChunkWriter` writes the one before it.

    The decisions of chunk k+1 cannot see chunk k in the database yet, so they are made against an
    in-memory view of it (:class:`~apps.imports.decide.Ahead`): its new studies and the studies it
    merged into (with the claims on them), exactly what the database would show once it is committed.
    Should chunk k turn out differently (written entry by entry after a failure, or another worker got
    further), chunk k+1 is decided again the ordinary way (``Importer.process_chunk``)."""
    job, decider = importer.job, importer.decider
    with ChunkWriter(importer, counts) as chunk_writer:
        for items in chunks:
            decider.link_authors(items)
            with transaction.atomic():  # reads only; settings for the many small lookups
                tune_transaction()
                decisions = decider.decide(items, ahead=chunk_writer.ahead)
                known = decider.known_venues(decisions)  # the writer creates only those still missing
            result = chunk_writer.wait()  # from here until submit the writer is idle
            if result is not None:
                decider.apply_block_changes(result.block_changes)
            if result is not None and result.redo:
                if result.stale:  # that chunk was not written: another worker had moved the job on
                    importer.process_chunk(list(result.decisions), counts)
                importer.process_chunk(items, counts)
                chunk_writer.idle_done = job.done
            else:
                chunk_writer.submit(decisions, known)
            if progress:
                done = chunk_writer.idle_done
                progress(done, max(job.total or 0, done))
        result = chunk_writer.wait()
        if result is not None:
            decider.apply_block_changes(result.block_changes)
            if result.stale:
                importer.process_chunk(list(result.decisions), counts)


class ChunkWriter:
    """A thread with its own database connection that writes one chunk at a time (``Importer.write_chunk``).
    Leaving the ``with`` block lets the chunk being written finish (committed or rolled back as a whole)."""

    def __init__(self, importer, counts: Counter):
        self.importer, self.counts = importer, counts
        self.policy = importer.job.policy
        self.inbox: queue.Queue = queue.Queue(maxsize=1)
        self.results: queue.Queue = queue.Queue(maxsize=1)
        self.ahead: Ahead | None = None
        self.idle_done = importer.job.done   # the job's progress as of the last chunk taken back
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
            while (work := self.inbox.get()) is not None:
                decisions, known_venues = work
                try:
                    result = self.importer.write_chunk(decisions, self.counts, known_venues)
                except BaseException as exc:  # handed to the importer's thread, which raises it
                    log.warning("imports: job %s: writing a chunk failed: %s", self.importer.job.pk, exc)
                    result = exc
                self.results.put(result)
        finally:
            connection.close()  # this thread's own connection

    def submit(self, decisions, known_venues=NO_VENUES):
        self.ahead = Ahead.of(decisions, self.policy)
        self.inbox.put((decisions, known_venues))

    def wait(self) -> ChunkResult | None:
        """The result of the chunk being written (None if there is none); its error is raised here."""
        if self.ahead is None:
            return None
        self.ahead = None
        result = self.results.get()
        if isinstance(result, BaseException):
            raise result
        if result.done is not None:
            self.idle_done = result.done
        return result
