"""Faults a scenario injects into the running stack. Each one undoes itself when its block ends, also
when the block fails, so the next scenario starts from a whole installation.

To add a fault (the drills of issue 18): write a context manager here that breaks one thing the
stack can reach and restores it in ``finally``, then a scenario in scenarios.py that uses it.
Elasticsearch node loss is drilled by scripts/drills/es_node_loss.py on nodes of its own (the shared
one serves other runs); a scenario here would point KB_SMOKE_ELASTICSEARCH_URL at such nodes
(scripts/services/es-cluster.sh url) and kill and start them like the private Redis below.
"""

from __future__ import annotations

import time
from contextlib import contextmanager


@contextmanager
def redis_outage(stack):
    """The broker (and the cache) is gone: scripts/services/redis.sh stop on the private Redis.
    Yields the time it went down; Redis is started again when the block ends."""
    stack.redis("stop")
    try:
        yield time.monotonic()
    finally:
        stack.redis("start")


@contextmanager
def worker_killed(stack):
    """SIGKILL the worker and its children at once (OOM killer, lost machine): no warm shutdown, no
    acknowledgement, no clean-up. A new worker is started when the block ends (wait for it with
    ``stack.wait_worker_ready``)."""
    stack.procs["worker"].kill()
    try:
        yield
    finally:
        stack.start_role("worker")
