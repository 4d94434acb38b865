"""The child process of :mod:`apps.imports.reader_process`: read and prepare a job's stored files.

    python -m apps.imports.prepare_worker START CHUNK_SIZE FORMAT PATH [PATH ...]

Writes frames to its standard output (anything else the process prints goes to standard error).
"""
from __future__ import annotations

import os
import sys
import traceback


def main(argv: list[str]) -> int:
    start, chunk_size, fmt, paths = int(argv[0]), int(argv[1]), argv[2], argv[3:]
    out = os.fdopen(os.dup(1), "wb", buffering=1 << 20)
    os.dup2(2, 1)  # stray prints must not corrupt the frames
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kb.settings")

    import django

    django.setup()
    from biblio.formats import open_stream
    from apps.imports.reader_process import job_tuning, write_frame
    from apps.imports.entries import prepare_entries

    try:
        with job_tuning():
            stream = open_stream(fmt, paths, chunk_entries=chunk_size)
            for chunk in stream:
                todo = [e for e in chunk if e.index >= start]
                if todo:
                    write_frame(out, "chunk", prepare_entries(todo))
            write_frame(out, "end", {"entries_read": stream.entries_read, "encoding": stream.encoding,
                                     "encoding_guessed": stream.encoding_guessed,
                                     "warnings": [str(w) for w in stream.warnings]})
    except BrokenPipeError:  # the importer stopped listening
        return 1
    except Exception as exc:
        traceback.print_exc()
        try:
            write_frame(out, "error", f"{type(exc).__name__}: {exc}")
        except BrokenPipeError:
            pass
        return 1
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
