"""Celery tasks of the search index and the study vectors. They take no model instances, only what to
look up again."""

import logging
from contextlib import contextmanager

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def drain_outbox():
    """Index what the outbox holds. Idempotent: documents are rebuilt from the database every time."""
    from .sync import drain

    result = drain()
    if result["failed"]:
        log.warning("search: %s", result)
    return result


@shared_task(ignore_result=True)
def reconcile():
    """Periodic repair: compare the database with the index and fix missing, stale and orphan documents."""
    from .backends import get_backend
    from .sync import drain

    drain()
    return get_backend().reconcile()


#: rows one task run embeds before handing over to a fresh task (~2 minutes at 4 passages/s), so a
#: backlog of 50k studies does not hold one message for hours (the broker would redeliver it)
EMBED_RUN = 512
_EMBED_LOCK = 0x6B62_7665  # "kbve": PostgreSQL advisory lock key of the one running embedder


# Acknowledged when it starts, not when it ends (the project's default): a run takes minutes, and a
# broker that goes away meanwhile made kombu's late acknowledgement crash the worker (found by the
# production smoke test). Nothing is lost: the outbox rows are the durable record, and beat asks again.
@shared_task(ignore_result=True, acks_late=False)
def embed_pending():
    """Compute the pending study vectors (``search.vectors.embed_pending``); then, if more are due, ask
    for another run. One runs at a time across workers: embedding uses every core, and a second one
    would only slow the first and keep the index drain waiting for a worker."""
    from django.utils import timezone

    from .models import PendingIndex
    from .sync import VECTORS, schedule_embed
    from .vectors import embed_pending as run

    with _exclusive() as mine:
        if not mine:
            return {"skipped": "another embedder is running"}
        result = run(limit=EMBED_RUN)
    if result["failed"]:
        log.warning("search: embeddings %s", result)
    if result["taken"] and PendingIndex.objects.filter(kind=VECTORS, next_attempt_at__lte=timezone.now()).exists():
        schedule_embed()
    return result


@contextmanager
def _exclusive():
    """A session-level advisory lock on PostgreSQL (freed by the server if the worker dies); elsewhere
    always granted (the leases on the rows still keep two runners from embedding the same study)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_EMBED_LOCK])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_EMBED_LOCK])
