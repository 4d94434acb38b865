"""``GET /health/``: is kb able to serve? For load balancers and operators."""

import time

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from .views import check_database


def _timed(check):
    start = time.perf_counter()
    try:
        result = check()
    except Exception as exc:  # a health check reports failures, it never raises
        result = {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["ms"] = round((time.perf_counter() - start) * 1000, 1)
    return result


def check_broker():
    url = settings.CELERY_BROKER_URL
    if not url:
        return {"status": "ok", "mode": "eager (tasks run in-process)"}
    from kb.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return {"status": "ok", "mode": "broker"}


def check_search():
    from search.backends import get_backend

    return get_backend().health()


def vectors_state():
    """Semantic search's state: the model and the studies waiting for a vector, or why it is off.

    Information, not a check: pending vectors (or no model) never make kb unhealthy, since search
    stays lexical for the studies without a vector."""
    from search import vectors
    from search.embedders import unavailable_reason

    try:
        model = vectors.current_model()
        if model is None:
            return {"off": unavailable_reason() or "no embedder"}
        return {"model": model, "pending": vectors.pending_count()}
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}


@never_cache
def health(request):
    checks = {"database": _timed(check_database), "broker": _timed(check_broker), "search": _timed(check_search)}
    ok = all(c["status"] == "ok" for c in checks.values())
    return JsonResponse({"status": "ok" if ok else "degraded", "checks": checks, "vectors": vectors_state()},
                        status=200 if ok else 503)
