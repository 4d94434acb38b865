"""Work done one step ahead in a background thread, with a stop signal.

The consumer waits for the database (or Elasticsearch) while the thread reads and prepares the next
items; the GIL is free during those waits. Used by the importer (BibTeX chunks) and the Elasticsearch
rebuild (index documents). ``close()`` (also at the end of the iteration, on leaving a ``with`` block,
or when the consumer stops early because it failed) stops the thread: it takes no further item, closes
the source (a generator runs its clean-up, e.g. ends a child process) and runs ``on_exit`` in the thread
(e.g. closes the thread's database connection). No thread outlives its consumer.
"""
from __future__ import annotations

import queue
import threading
from typing import Callable, Iterable


class ReadAhead:
    """``work(item)`` for each item of ``source``, computed up to ``depth`` items ahead in a thread
    started at once. A result of ``None`` is skipped. An error in the thread is raised to the consumer.
    Iterate once."""

    _done = object()

    def __init__(self, source: Iterable, work: Callable = lambda item: item, *, depth: int = 2,
                 name: str = "read-ahead", on_exit: Callable | None = None):
        self.source, self.work, self.on_exit = source, work, on_exit
        self.out: queue.Queue = queue.Queue(maxsize=depth)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._produce, name=name, daemon=True)
        self.thread.start()

    def _put(self, item) -> bool:
        """Hand ``item`` to the consumer; False once the consumer has stopped."""
        while not self.stop.is_set():
            try:
                self.out.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self):
        items = iter(self.source)
        try:
            for item in items:
                if self.stop.is_set():
                    return
                result = self.work(item)
                if result is not None and not self._put(result):
                    return
            self._put(self._done)
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put(exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
            if self.on_exit is not None:
                self.on_exit()

    def __iter__(self):
        try:
            while True:
                item = self.out.get()
                if item is self._done:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Stop the thread and wait for it (it finishes the item it is working on)."""
        self.stop.set()
        while self.thread.is_alive():
            try:
                self.out.get_nowait()
            except queue.Empty:
                self.thread.join(0.05)
