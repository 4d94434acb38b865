"""Study vectors: derived data like the search index (see docs/search.md, "Semantic search").

A vector is computed in the background, never in the request that changed the study:

- ``sync.mark_dirty("studies", ids)`` also writes ``("vectors", id)`` outbox rows while an embedder
  is configured, in the same transaction as the change; after commit a Celery task (or, without a
  broker, one background thread per process) runs ``embed_pending``.
- ``embed_pending`` takes due rows in batches, embeds only what changed (the digest names the
  model, its cut and the exact text), reuses the vector of a study with the same text, stores
  ``StudyVector`` rows and marks those studies for indexing: the index takes the vector as
  ordinary index work, so an engine outage only delays that step, and a rebuild carries the stored
  vectors without embedding again.
- A batch being embedded holds a lease (its rows are not due for ``LEASE``), so two workers never
  embed the same rows, and a crashed worker's rows come back after the lease.

Readers: ``vectors_for`` (the index documents) and ``matrix`` (exact search on the database backend).
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections import Counter
from functools import reduce
from operator import or_

from django.db import close_old_connections, connections, transaction
from django.db.models import Q
from django.utils import timezone

# Models and the sync layer are imported where used: the text functions and the byte format serve
# scripts that run without Django set up (the benchmarks' embedding cache).

log = logging.getLogger(__name__)

LEASE = datetime.timedelta(minutes=10)  # far above a batch's time (32 passages ~ 10 s on 2 cores)


def passage_text(title: str, abstract: str) -> str:
    """What a study's vector is made of: its title (with subtitle) and abstract."""
    title, abstract = (title or "").strip(), (abstract or "").strip()
    return f"{title}\n{abstract}" if abstract else title


def study_passage(title: str, subtitle: str, abstract: str) -> str:
    title, subtitle = (title or "").strip(), (subtitle or "").strip()
    return passage_text(f"{title}: {subtitle}" if subtitle else title, abstract)


from .vector_store import (  # noqa: F401  (the readers, re-exported for callers of this module)
    DTYPE, RECOUNT, VECTORS, _config, _embedder, configured, current_model, from_bytes, matrix, reset_matrix,
    to_bytes, vectors_for,
)


def pending_count() -> int:
    from .models import PendingIndex

    return PendingIndex.objects.filter(kind=VECTORS).count()


def embed_pending(limit: int | None = None, batch: int | None = None, progress=None) -> dict:
    """Compute the vectors the outbox asks for: due "vectors" rows, oldest first, ``batch`` at a time
    (default ``KB_EMBEDDINGS["BATCH"]``), at most ``limit`` rows. ``progress(n)`` is called after each
    batch. Without an embedder nothing happens and the rows wait. Returns counts."""
    result = {"taken": 0, "embedded": 0, "reused": 0, "unchanged": 0, "removed": 0, "failed": 0}
    embedder = _embedder()
    if embedder is None:
        result["pending"] = pending_count()
        return result
    batch = int(batch or _config().get("BATCH") or 32)
    while limit is None or result["taken"] < limit:
        rows = _claim(batch if limit is None else min(batch, limit - result["taken"]))
        if not rows:
            break
        result["taken"] += len(rows)
        try:
            counts = _embed_rows(embedder, rows)
        except Exception as exc:  # the model or the database failed
            counts = _one_by_one(embedder, rows) if len(rows) > 1 else _failed(rows, exc)
        for key, value in counts.items():
            result[key] += value
        if progress:
            progress(len(rows))
    result["pending"] = pending_count()
    return result


def _one_by_one(embedder, rows) -> Counter:
    """One bad text must not hold back the others: after a batch failed, embed its rows singly."""
    total = Counter()
    for row in rows:
        try:
            total.update(_embed_rows(embedder, [row]))
        except Exception as exc:
            total.update(_failed([row], exc))
    return total


def _failed(rows, exc) -> dict:
    """The rows stay in the outbox, with the error and a back-off."""
    from . import sync

    sync.postpone(rows, exc, doing="embedding")
    return {"failed": len(rows)}


def _claim(size):
    """Take up to ``size`` due rows and lease them (not due again for ``LEASE``)."""
    from .models import PendingIndex

    now = timezone.now()
    with transaction.atomic():
        rows = list(PendingIndex.objects.select_for_update(skip_locked=True)
                    .filter(kind=VECTORS, next_attempt_at__lte=now).order_by("next_attempt_at", "id")[:size])
        if rows:
            PendingIndex.objects.filter(pk__in=[r.pk for r in rows]).update(next_attempt_at=now + LEASE)
    return rows


def _passages(ids) -> dict[int, str]:
    from apps.studies.models import Study

    return {i: study_passage(title, subtitle, abstract) for i, title, subtitle, abstract in
            Study.objects.filter(id__in=list(ids)).values_list("id", "title", "subtitle", "abstract")}


def _embed_rows(embedder, rows) -> dict:
    from . import sync
    from .models import StudyVector

    texts = _passages(r.object_id for r in rows)
    prepared = {i: embedder.prepare(t) for i, t in texts.items()}
    digests = {i: embedder.digest(p) for i, p in prepared.items() if p}
    model = embedder.identity
    stored = dict(StudyVector.objects.filter(model=model, study_id__in=list(texts))
                  .values_list("study_id", "digest"))
    changed = [i for i in texts if stored.get(i) != digests.get(i)]
    text_of = {digests[i]: prepared[i] for i in changed if i in digests}
    found = _vectors_by_digest(model, set(text_of))
    missing = sorted(set(text_of) - set(found))
    if missing:
        for digest, vector in zip(missing, embedder.passages([text_of[d] for d in missing])):
            found[digest] = to_bytes(vector)
    with transaction.atomic():
        # a study edited while we embedded keeps its (re-enqueued) row and is embedded again
        now_texts = _passages(changed)
        current = [i for i in changed if now_texts.get(i) == texts[i]]
        _store(model, {i: (digests[i], found[digests[i]]) for i in current if i in digests})
        StudyVector.objects.filter(model=model, study_id__in=[i for i in current if i not in digests]).delete()
        sync.mark_dirty("studies", current, embed=False)
        _done(rows)
    reused = sum(1 for i in changed if i in digests) - len(missing)
    return {"embedded": len(missing), "reused": max(0, reused), "unchanged": len(texts) - len(changed),
            "removed": len(rows) - len(texts)}


def _vectors_by_digest(model, digests) -> dict[str, bytes]:
    from .models import StudyVector

    if not digests:
        return {}
    rows = StudyVector.objects.filter(model=model, digest__in=list(digests)).values_list("digest", "vector")
    return {digest: bytes(vector) for digest, vector in rows}


def _store(model, vectors: dict[int, tuple[str, bytes]]):
    from .models import StudyVector

    if not vectors:
        return
    now = timezone.now()
    StudyVector.objects.bulk_create(
        [StudyVector(study_id=i, model=model, digest=d, vector=v, updated_at=now) for i, (d, v) in vectors.items()],
        update_conflicts=True, unique_fields=["study", "model"], update_fields=["digest", "vector", "updated_at"])


def _done(rows):
    """Delete the rows, except those enqueued again meanwhile (the same rule as the index drain)."""
    from .models import PendingIndex

    PendingIndex.objects.filter(reduce(or_, (Q(pk=r.pk, enqueued_at=r.enqueued_at) for r in rows))).delete()


def mark_all(missing_only: bool = True) -> int:
    """Enqueue every study for embedding, or (``missing_only``) those without a vector of the current
    model for their present text (this computes digests, so it loads the model). Returns the count."""
    from apps.studies.models import Study

    from . import sync

    ids = list(Study.objects.order_by("id").values_list("id", flat=True))
    if missing_only:
        embedder = _embedder()
        if embedder is None:
            return 0
        ids = [i for start in range(0, len(ids), 1000) for i in _missing(embedder, ids[start:start + 1000])]
    with sync.batched():
        sync.mark_dirty(VECTORS, ids)
    return len(ids)


def _missing(embedder, ids):
    from .models import StudyVector

    texts = _passages(ids)
    stored = dict(StudyVector.objects.filter(model=embedder.identity, study_id__in=ids)
                  .values_list("study_id", "digest"))
    for i, text in texts.items():
        prepared = embedder.prepare(text)
        if stored.get(i) != (embedder.digest(prepared) if prepared else None):  # (no text: no vector)
            yield i


# --- the background runner (no broker) ---------------------------------------------------------------
_runner_lock = threading.Lock()
_runner: dict = {"thread": None, "again": False}


def run_in_background() -> None:
    """Embed the pending rows in this process's one background thread (started if not running)."""
    with _runner_lock:
        thread = _runner["thread"]
        if thread is not None and thread.is_alive():
            _runner["again"] = True  # rows committed after its last look: it goes round once more
            return
        _runner["again"] = False
        thread = threading.Thread(target=_background, name="kb-embed", daemon=True)
        _runner["thread"] = thread
        thread.start()


def _background():
    try:
        while True:
            close_old_connections()
            embed_pending()
            with _runner_lock:
                if not _runner["again"]:
                    _runner["thread"] = None
                    return
                _runner["again"] = False
    except Exception:  # the rows stay in the outbox for the next run
        log.exception("search: background embedding stopped")
        with _runner_lock:
            _runner["thread"] = None
    finally:
        connections.close_all()


def background_thread():
    """The running background thread, if any (for tests and diagnostics)."""
    return _runner["thread"]
