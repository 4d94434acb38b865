"""Who is acting: set by the middleware for each request, and by commands, tasks and imports.

    from apps.audit.context import acting_as

    with acting_as(user, action="import", via="bibtex"):
        ...  # every study/summary/researcher created or changed here is logged as an import by ``user``

The actor of a request is read lazily from ``request.user`` when an entry is written, so users
authenticated by DRF (token) inside the view are seen too. Context variables keep concurrent
requests (threads or asyncio tasks) apart.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class AuditContext:
    user: Any = None
    request: Any = None
    via: str = ""
    action: str | None = None    # e.g. "import": creates and updates in the block are logged as imports
    enabled: bool = True


_current: ContextVar[AuditContext | None] = ContextVar("kb_audit_context", default=None)


def current() -> AuditContext:
    return _current.get() or AuditContext()


@contextmanager
def _use(ctx):
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


@contextmanager
def acting_as(user, *, action=None, via=None):
    """Attribute every change inside the block to ``user`` (``action="import"`` marks imports)."""
    outer = current()
    with _use(replace(outer, user=user, action=action or outer.action,
                      via=via if via is not None else outer.via)):
        yield


@contextmanager
def for_request(request, via="api"):
    with _use(AuditContext(request=request, via=via)):
        yield


@contextmanager
def disabled():
    """Record nothing inside the block (bulk maintenance that is logged some other way)."""
    with _use(replace(current(), enabled=False)):
        yield


def actor(fallback=None):
    """The acting user: the one set with ``acting_as``, else the request's signed-in user, else ``fallback``."""
    ctx = current()
    if ctx.user is not None:
        return ctx.user if getattr(ctx.user, "is_authenticated", False) else None
    request_user = getattr(ctx.request, "user", None) if ctx.request is not None else None
    if request_user is not None and getattr(request_user, "is_authenticated", False):
        return request_user
    return fallback
