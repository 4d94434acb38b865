"""The child process of :mod:`apps.imports.reader_process`: read and prepare a stored BibTeX file.

    python -m apps.imports.prepare_worker PATH START CHUNK_SIZE

Writes frames to its standard output (anything else the process prints goes to standard error).
"""
from __future__ import annotations

import os
import sys
import traceback


def main(argv: list[str]) -> int:
    path, start, chunk_size = argv[0], int(argv[1]), int(argv[2])
    out = os.fdopen(os.dup(1), "wb", buffering=1 << 20)
    os.dup2(2, 1)  # stray prints must not corrupt the frames
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kb.settings")

    import django

    django.setup()
    from biblio import iter_bibtex
    from apps.imports.reader_process import job_tuning, write_frame
    from apps.imports.entries import prepare_entries

    try:
        with open(path, "rb") as f, job_tuning():
            stream = iter_bibtex(f, chunk_entries=chunk_size)
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
