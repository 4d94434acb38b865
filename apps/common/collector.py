"""The one place kb adjusts Python's cyclic garbage collector (process-wide state).

Building many small acyclic objects (a BibTeX file's entries, a co-author graph, an import's rows)
makes the collector scan every live object again and again; reference counting frees those objects
anyway. Two adjustments, both counted, so that overlapping users (two threads, two import jobs in one
process) never switch the collector back on, or restore its settings, while another still needs them:

* :func:`paused` (or :func:`pause` / :func:`resume` around a generator's ``yield``): no cyclic
  collection at all, for a short burst of allocation;
* :func:`tuned`: the youngest generation collected only every ``threshold`` allocations and the
  objects alive at the start frozen (never scanned again; :func:`freeze` freezes later long-lived ones),
  for as long as a long job runs. Cycles are still collected, only less often.
"""
from __future__ import annotations

import gc
import threading
from contextlib import contextmanager

_lock = threading.Lock()
_state = {"paused": 0, "was_enabled": True, "tuned": 0, "threshold": None}


def pause() -> None:
    """Switch the cyclic collector off (until the matching :func:`resume` of the last user)."""
    with _lock:
        if _state["paused"] == 0:
            _state["was_enabled"] = gc.isenabled()
            gc.disable()
        _state["paused"] += 1


def resume() -> None:
    with _lock:
        _state["paused"] -= 1
        if _state["paused"] == 0 and _state["was_enabled"]:
            gc.enable()


@contextmanager
def paused():
    pause()
    try:
        yield
    finally:
        resume()


@contextmanager
def tuned(threshold: int = 50_000):
    """Collect the youngest generation every ``threshold`` allocations (at least; never more often than
    before) and freeze the objects alive now, until the last user leaves."""
    with _lock:
        if _state["tuned"] == 0:
            old = gc.get_threshold()
            _state["threshold"] = old
            gc.set_threshold(max(old[0], threshold), old[1], old[2])
        _state["tuned"] += 1
        gc.freeze()
    try:
        yield
    finally:
        with _lock:
            _state["tuned"] -= 1
            if _state["tuned"] == 0:
                gc.set_threshold(*_state["threshold"])
                _state["threshold"] = None
                gc.unfreeze()


def freeze() -> None:
    """Exempt the objects alive now from collection until the last :func:`tuned` block ends."""
    gc.freeze()
