"""Keeping the search index in line with the database, through a durable outbox.

``mark_dirty`` records pending work inside the caller's transaction and asks for a drain after
commit. ``drain`` hands due work to the backend in batches; on failure the rows stay, with a
growing back-off, and the periodic beat task (or the next change) tries again.

The same outbox carries embedding work (kind ``"vectors"``, see ``search/vectors.py``): while an
embedder is configured, every study marked for indexing is also marked for embedding, in the same
write. The drain never touches those rows, so a slow model never delays indexing; they go to
their own task, and the index takes the vector later, as ordinary index work.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections import defaultdict
from contextlib import contextmanager

from django.db import transaction
from django.utils import timezone

from apps.common import pagecache

from .models import PendingIndex
from .vector_store import VECTORS

log = logging.getLogger(__name__)
BATCH = 500
MAX_BACKOFF = 600  # seconds
#: How ``last_error`` starts on rows postponed because the engine did not answer at all (down, unreachable,
#: no master): they are retried as soon as it answers again, not after their back-off.
UNREACHABLE = "unreachable: "

_local = threading.local()


def _buffer():
    return getattr(_local, "buffer", None)


@contextmanager
def batched():
    """Collect marks made inside the block and write them in one statement at its end (bulk work)."""
    outer = _buffer()
    if outer is not None:
        yield
        return
    _local.buffer = set()
    try:
        yield
        pairs = _local.buffer
    finally:
        _local.buffer = None
    if pairs:
        _write(pairs)


@contextmanager
def paused():
    """Record nothing inside the block (the caller takes care of indexing itself, e.g. a rebuild)."""
    previous = getattr(_local, "paused", False)
    _local.paused = True
    try:
        yield
    finally:
        _local.paused = previous


@contextmanager
def embedding_here():
    """Embedding work recorded inside the block is done by the caller itself (a management command,
    a benchmark): schedule no background embedding for it. Index work is scheduled as usual."""
    previous = getattr(_local, "embedding_here", False)
    _local.embedding_here = True
    try:
        yield
    finally:
        _local.embedding_here = previous


def mark_dirty(kind: str, ids, *, embed: bool = True) -> None:
    """Record that these objects must be (re)indexed. Studies are also marked for embedding while an
    embedder is configured, unless ``embed`` is False (the embedder itself marks what it changed)."""
    if getattr(_local, "paused", False):
        return
    pairs = {(kind, int(i)) for i in ids if i is not None}
    if not pairs:
        return
    if kind == "studies" and embed:
        from .vector_store import configured

        if configured():
            pairs |= {(VECTORS, i) for _, i in pairs}
    buffer = _buffer()
    if buffer is not None:
        buffer |= pairs
    else:
        _write(pairs)


def _write(pairs):
    now = timezone.now()
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        # One statement with two array parameters: an import marks thousands of studies at once, and
        # building a model instance per row costs more than the database's work. Sorted, so two
        # transactions marking overlapping rows lock them in the same order.
        kinds, ids = zip(*sorted(pairs))
        table = connection.ops.quote_name(PendingIndex._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (kind, object_id, enqueued_at, attempts, next_attempt_at, last_error) "
                "SELECT k, i, %s, 0, %s, '' FROM unnest(%s::text[], %s::bigint[]) AS t(k, i) "
                "ON CONFLICT (kind, object_id) DO UPDATE "
                "SET enqueued_at = EXCLUDED.enqueued_at, next_attempt_at = EXCLUDED.next_attempt_at",
                [now, now, list(kinds), list(ids)])
    else:
        PendingIndex.objects.bulk_create(
            [PendingIndex(kind=k, object_id=i, enqueued_at=now, next_attempt_at=now) for k, i in pairs],
            update_conflicts=True, unique_fields=["kind", "object_id"],
            update_fields=["enqueued_at", "next_attempt_at"], batch_size=1000,
        )
    kinds = {kind for kind, _ in pairs}
    if kinds - {VECTORS}:
        _once_after_commit(connection, pagecache.content_changed)  # the pages read from the database
        _once_after_commit(connection, schedule_drain)
    if VECTORS in kinds and not getattr(_local, "embedding_here", False):
        _once_after_commit(connection, schedule_embed)


def _once_after_commit(connection, action):
    """Run ``action`` after commit, once per transaction however many writes ask for it."""
    for entry in connection.run_on_commit:
        if isinstance(entry[1], _AfterCommit) and entry[1].action is action and not entry[1].done:
            return
    transaction.on_commit(_AfterCommit(action))


class _AfterCommit:
    """An after-commit callback; ``done`` tells a later write in the same transaction it has run."""

    def __init__(self, action):
        self.action = action
        self.done = False

    def __call__(self):
        self.done = True
        self.action()


#: Starts embedding in a background thread of this process (the embedded default, no broker). Set by
#: search.apps from search.vectors, which writes the outbox through this module.
background_embedder = None


def task(name):
    """A Celery task by its name: the sync layer asks for work without importing the task modules
    (which import the backends, which import this module)."""
    from celery import current_app

    return current_app.tasks[name]


def schedule_drain():
    """Ask a worker to drain the outbox. If the broker is down the rows wait for the beat task."""
    try:
        task("search.tasks.drain_outbox").delay()
    except Exception as exc:  # the outbox keeps the work; never fail the request for it
        log.warning("search: could not enqueue the index drain (%s); the periodic task will retry", exc)


def schedule_embed():
    """Ask for the pending embeddings to be computed, never in the request that wrote them.

    With a broker, a worker runs ``search.tasks.embed_pending``. Without one (the embedded default,
    where Celery tasks run eagerly, i.e. inline), one background thread per process does it, since
    embedding a study takes about a quarter of a second on a small machine.
    """
    from django.conf import settings

    if settings.CELERY_TASK_ALWAYS_EAGER:
        if background_embedder is not None:
            background_embedder()
        return
    try:
        task("search.tasks.embed_pending").delay()
    except Exception as exc:
        log.warning("search: could not enqueue embedding (%s); the periodic task will retry", exc)


def drain(backend=None, limit_batches=None) -> dict:
    """Index every due outbox row. Returns counts; raises nothing (failures are recorded on the rows).

    Embedding rows (kind ``"vectors"``) are not index work: they are left to ``vectors.embed_pending``."""
    from .backends import get_backend

    backend = backend or get_backend()
    resume_if_back(backend)
    done = failed = batches = 0
    while limit_batches is None or batches < limit_batches:
        now = timezone.now()
        rows = list(PendingIndex.objects.filter(next_attempt_at__lte=now).exclude(kind=VECTORS)
                    .order_by("next_attempt_at", "id")[:BATCH])
        if not rows:
            break
        batches += 1
        by_kind = defaultdict(list)
        for row in rows:
            by_kind[row.kind].append(row)
        progressed = False
        for kind, kind_rows in by_kind.items():
            try:
                backend.index(kind, [r.object_id for r in kind_rows])
            except Exception as exc:
                failed += len(kind_rows)
                postpone(kind_rows, exc, unreachable=backend.unreachable(exc))
                continue
            progressed = True
            done += len(kind_rows)
            for row in kind_rows:  # delete only if the object did not change again meanwhile
                PendingIndex.objects.filter(pk=row.pk, enqueued_at=row.enqueued_at).delete()
        if not progressed:
            break
    if done:
        announce_index_change(backend)
    return {"indexed": done, "failed": failed, "pending": PendingIndex.objects.exclude(kind=VECTORS).count()}


def announce_index_change(backend):
    """After writes to the index: once searches see them, drop the cached answers that may show the old
    state (the answers read from the database were dropped when the change was committed)."""
    try:
        backend.refresh()
    except Exception as exc:  # the cache is dropped all the same; the engine shows the writes within a second
        log.warning("search: could not refresh the index after writing (%s)", exc)
    pagecache.content_changed()


def resume_if_back(backend) -> int:
    """Work postponed while the engine did not answer is due again as soon as it answers (one cheap
    request, made only while such work waits): after an outage the index converges at the next drain,
    whatever back-off the rows reached during it. Returns the rows made due."""
    waiting = PendingIndex.objects.exclude(kind=VECTORS).filter(last_error__startswith=UNREACHABLE,
                                                                  next_attempt_at__gt=timezone.now())
    if not waiting.exists() or not backend.answers():
        return 0
    return waiting.update(next_attempt_at=timezone.now())


def postpone(rows, exc, doing="indexing", unreachable=False):
    """Keep failed rows with the error and an exponential back-off (2 s doubling, at most 10 min)."""
    message = ((UNREACHABLE if unreachable else "") + f"{type(exc).__name__}: {exc}")[:1000]
    log.warning("search: %s %d %s failed, will retry: %s", doing, len(rows), rows[0].kind, message)
    now = timezone.now()
    for row in rows:
        attempts = row.attempts + 1
        delay = min(MAX_BACKOFF, 2 ** min(attempts, 10))
        PendingIndex.objects.filter(pk=row.pk).update(
            attempts=attempts, last_error=message, next_attempt_at=now + datetime.timedelta(seconds=delay))


def retry_now():
    """Make every pending index row due at once (after an outage is over). Embedding rows keep their
    schedule: an engine outage does not concern them, and a row being embedded holds a lease."""
    return PendingIndex.objects.exclude(kind=VECTORS).update(next_attempt_at=timezone.now())
