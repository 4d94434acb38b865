"""Celery tasks of the search index. They take no model instances, only what to look up again."""

import logging

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
