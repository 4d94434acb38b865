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


class CountedSetting:
    """A process-wide setting changed by its first user and restored by its last (threads, jobs).

    ``change(*args)`` applies it (the first user's ``args``) and returns what to restore;
    ``restore(saved)`` undoes it."""

    def __init__(self, change, restore):
        self._change, self._restore = change, restore
        self._lock = threading.Lock()
        self._users, self._saved = 0, None

    def enter(self, *args) -> None:
        with self._lock:
            if self._users == 0:
                self._saved = self._change(*args)
            self._users += 1

    def leave(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                self._restore(self._saved)
                self._saved = None

    @contextmanager
    def held(self, *args):
        self.enter(*args)
        try:
            yield
        finally:
            self.leave()


def _disable():
    enabled = gc.isenabled()
    gc.disable()
    return enabled


def _enable_if(was_enabled):
    if was_enabled:
        gc.enable()


_paused = CountedSetting(_disable, _enable_if)


def pause() -> None:
    """Switch the cyclic collector off (until the matching :func:`resume` of the last user)."""
    _paused.enter()


def resume() -> None:
    _paused.leave()


def paused():
    return _paused.held()


def _raise_threshold(threshold):
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], threshold), old[1], old[2])
    return old


def _restore_threshold(old):
    gc.set_threshold(*old)
    gc.unfreeze()
    if _settled:
        settle()  # what start-up froze stays out of the full passes


_settled = False


def settle() -> None:
    """Once the process has started (modules, settings, URL patterns, the embedder loaded): collect, then
    freeze what is alive, so the collector's full passes stop scanning those long-lived objects.

    A web process calls it after start-up (kb/wsgi.py). Measured on hybrid searches at 100k studies
    (~215k objects alive at start): the full passes that stalled a request for up to 110-170 ms took
    28-35 ms."""
    global _settled
    gc.collect()
    gc.freeze()
    _settled = True


_tuning = CountedSetting(_raise_threshold, _restore_threshold)


@contextmanager
def tuned(threshold: int = 50_000):
    """Collect the youngest generation every ``threshold`` allocations (at least; never more often than
    before) and freeze the objects alive now, until the last user leaves."""
    with _tuning.held(threshold):
        gc.freeze()
        yield


def freeze() -> None:
    """Exempt the objects alive now from collection until the last :func:`tuned` block ends."""
    gc.freeze()


def chunks(items, size: int):
    """Lists of up to ``size`` of ``items`` (an iterator), pulled with the cyclic collector paused.

    For a reader that builds many small objects per chunk: the collector is on again while the caller
    holds a chunk (never keep the caller's GC off) and when the iteration ends, however it ends."""
    chunk: list = []
    pause()
    paused_now = True
    try:
        for item in items:
            chunk.append(item)
            if len(chunk) >= size:
                resume()
                paused_now = False
                yield chunk
                pause()
                paused_now = True
                chunk = []
        resume()
        paused_now = False
        if chunk:
            yield chunk
    finally:
        if paused_now:
            resume()
