"""Keeping the search index in line with the database, through a durable outbox.

``mark_dirty`` records pending work inside the caller's transaction and asks for a drain after
commit. ``drain`` hands due work to the backend in batches; on failure the rows stay, with a
growing back-off, and the periodic beat task (or the next change) tries again.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections import defaultdict
from contextlib import contextmanager

from django.db import transaction
from django.utils import timezone

from .models import PendingIndex

log = logging.getLogger(__name__)
BATCH = 500
MAX_BACKOFF = 600  # seconds

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


def mark_dirty(kind: str, ids) -> None:
    if getattr(_local, "paused", False):
        return
    pairs = {(kind, int(i)) for i in ids if i is not None}
    if not pairs:
        return
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
    if not any(isinstance(entry[1], _DrainAfterCommit) and not entry[1].done for entry in connection.run_on_commit):
        transaction.on_commit(_DrainAfterCommit())  # once per transaction


class _DrainAfterCommit:
    """The after-commit callback; ``done`` tells a later write in the same transaction it has run."""

    def __init__(self):
        self.done = False

    def __call__(self):
        self.done = True
        schedule_drain()


def schedule_drain():
    """Ask a worker to drain the outbox. If the broker is down the rows wait for the beat task."""
    from .tasks import drain_outbox

    try:
        drain_outbox.delay()
    except Exception as exc:  # the outbox keeps the work; never fail the request for it
        log.warning("search: could not enqueue the index drain (%s); the periodic task will retry", exc)


def drain(backend=None, limit_batches=None) -> dict:
    """Index every due outbox row. Returns counts; raises nothing (failures are recorded on the rows)."""
    from .backends import get_backend

    backend = backend or get_backend()
    done = failed = batches = 0
    while limit_batches is None or batches < limit_batches:
        now = timezone.now()
        rows = list(PendingIndex.objects.filter(next_attempt_at__lte=now).order_by("next_attempt_at", "id")[:BATCH])
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
                _postpone(kind_rows, exc)
                continue
            progressed = True
            done += len(kind_rows)
            for row in kind_rows:  # delete only if the object did not change again meanwhile
                PendingIndex.objects.filter(pk=row.pk, enqueued_at=row.enqueued_at).delete()
        if not progressed:
            break
    return {"indexed": done, "failed": failed, "pending": PendingIndex.objects.count()}


def _postpone(rows, exc):
    message = f"{type(exc).__name__}: {exc}"[:1000]
    log.warning("search: indexing %d %s failed, will retry: %s", len(rows), rows[0].kind, message)
    now = timezone.now()
    for row in rows:
        attempts = row.attempts + 1
        delay = min(MAX_BACKOFF, 2 ** min(attempts, 10))
        PendingIndex.objects.filter(pk=row.pk).update(
            attempts=attempts, last_error=message, next_attempt_at=now + datetime.timedelta(seconds=delay))


def retry_now():
    """Make every pending row due at once (after an outage is over)."""
    return PendingIndex.objects.update(next_attempt_at=timezone.now())
