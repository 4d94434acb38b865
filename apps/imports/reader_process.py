"""Reading and preparing a large file in a second process, so the importer uses both cores.

Reading (scanner, LaTeX decoding) and preparing (names, identifiers, features) an entry cost about as
much Python time as deciding and writing it, and one interpreter runs one thread at a time. For a large
file (``SUBPROCESS_MIN_ENTRIES``) the importer therefore starts ``python -m apps.imports.prepare_worker``
on the stored files (in the job's format); the child reads and prepares chunk after chunk and sends them through a pipe
(length-prefixed pickles), while the importer decides and writes the previous chunk. The child
touches no database and keeps no state the importer needs: if it dies, the job fails with a message
and running it again resumes after the last written chunk. Small files (and storages without a local
path) are read in the importer's own process.

Frames: ``("chunk", [Decision, ...])``, then ``("end", {"entries_read", "encoding", "encoding_guessed",
"warnings"})`` or
``("error", message)``.
"""
from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
from contextlib import contextmanager

from django.conf import settings

from apps.common import collector

#: Files with at least this many entries (still to import) are read and prepared in a child process.
SUBPROCESS_MIN_ENTRIES = 5_000
_HEADER = struct.Struct(">I")


def _quicker_switches(interval: float) -> float:
    saved = sys.getswitchinterval()
    sys.setswitchinterval(min(saved, interval))
    return saved


_switches = collector.CountedSetting(_quicker_switches, sys.setswitchinterval)


@contextmanager
def job_tuning(threshold: int = 50_000, switch_interval: float = 0.0005):
    """Interpreter settings while import jobs run in this process: less cyclic garbage collection, and
    quicker hand-overs between threads.

    * An import allocates millions of short-lived containers (entries, decisions, rows), which reference
      counting frees; yet every 700 allocations the collector ran, and its older generations scanned
      every live object, Django's and the job's preloaded author blocks included. Measured on 20k
      entries: unpickling a chunk took 70-80 µs per entry with the default collector, 15-17 µs without
      those scans. Hence :func:`apps.common.collector.tuned` for the job (``collector.freeze`` freezes
      later long-lived objects, e.g. the preloaded blocks).
    * The importer's threads wait for the database many times per chunk and must get the interpreter
      back quickly after each answer: the switch interval drops from 5 ms to ``switch_interval``.

    Both are process-wide: with two jobs in one process (tasks run in-process) the first to start saves
    the settings and the last to finish restores them.
    """
    with collector.tuned(threshold), _switches.held(switch_interval):
        yield


def local_path(fieldfile) -> str | None:
    """The stored file's path on this machine, or None (e.g. an object storage)."""
    try:
        path = fieldfile.path
    except (NotImplementedError, AttributeError, ValueError):
        return None
    return path if os.path.isfile(path) else None


def write_frame(out, kind: str, payload) -> None:
    data = pickle.dumps((kind, payload), protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_HEADER.pack(len(data)))
    out.write(data)
    out.flush()


def _read_exactly(pipe, n: int) -> bytes:
    data = pipe.read(n)
    while data is not None and len(data) < n:
        more = pipe.read(n - len(data))
        if not more:
            break
        data += more
    return data or b""


class ChildPreparer:
    """Iterate over prepared chunks (lists of ``Decision``) made by a child process.

    Like :class:`~biblio.reader.BibtexStream`, ``entries_read``, ``encoding`` and
    ``warnings`` are complete once the iteration ends.
    """

    def __init__(self, paths, start: int = 0, chunk_size: int = 1000, fmt: str = "bibtex"):
        self.paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
        self.start, self.chunk_size, self.fmt = start, chunk_size, fmt
        self.entries_read = 0
        self.encoding = ""
        self.encoding_guessed = False
        self.warnings: list[str] = []

    def command(self) -> list[str]:
        return [sys.executable, "-m", "apps.imports.prepare_worker", str(self.start), str(self.chunk_size), self.fmt,
                *map(str, self.paths)]

    def __iter__(self):
        env = dict(os.environ, DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "kb.settings"))
        proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                cwd=str(settings.BASE_DIR), env=env, bufsize=1 << 20)
        finished = False
        try:
            while True:
                header = _read_exactly(proc.stdout, _HEADER.size)
                if len(header) < _HEADER.size:
                    break
                data = _read_exactly(proc.stdout, _HEADER.unpack(header)[0])
                kind, payload = pickle.loads(data)
                if kind == "chunk":
                    yield payload
                elif kind == "end":
                    self.entries_read = payload["entries_read"]
                    self.encoding = payload["encoding"]
                    self.encoding_guessed = payload["encoding_guessed"]
                    self.warnings = payload["warnings"]
                    finished = True
                    break
                elif kind == "error":
                    raise RuntimeError(f"reading the file failed: {payload}")
            if not finished:
                code = proc.wait()
                raise RuntimeError(f"the process reading the file stopped early (exit code {code})")
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
            proc.wait()
