"""Which reader reads a file (BibTeX, RIS, MEDLINE), and reading several files as one.

    fmt = detect_format(head_bytes, "export.txt")       # "medline"
    stream = open_stream(fmt, [f1, f2], chunk_entries=1000)
    for chunk in stream: ...                             # Entries; entry.source = the file's position

The content decides before the name: the first line that starts a BibTeX entry (``@article{``), a
RIS record (``TY  - ``) or a MEDLINE record (``PMID- ``, or MEDLINE's four-character tags) wins, so
a MEDLINE export saved as ``.txt`` or a RIS file named ``.bib`` is read right; the extension
(``.bib``, ``.ris``, ``.nbib``/``.medline``) decides only when the content says nothing.

Several files are one import: their entries are numbered on (``index``), each keeps its own line
numbers and carries its file's position in ``Entry.source``. BibTeX files are read as one text, so
``@string`` definitions and ``crossref`` parents of one file serve the entries of the files after it
(and crossref parents those before it, as in one file); each file is decoded on its own.
"""
from __future__ import annotations

import bisect
import codecs
import itertools
import re

from .encoding import DecodedFile, sniff
from .medline import MedlineStream
from .reader import BibtexStream
from .ris import RisStream
from .tagged import open_source

FORMATS = ("bibtex", "ris", "medline")
LABELS = {"bibtex": "BibTeX", "ris": "RIS", "medline": "MEDLINE"}
EXTENSIONS = {".bib": "bibtex", ".bibtex": "bibtex", ".ris": "ris", ".nbib": "medline", ".medline": "medline"}

_STARTS = {
    "bibtex": re.compile(r"^[ \t]*@[ \t]*(?!(?:string|preamble|comment)\b)[A-Za-z]+[ \t]*[{(]", re.M | re.I),
    "ris": re.compile(r"^\ufeff?[ \t]*TY  - ", re.M),
    "medline": re.compile(r"^\ufeff?(?:PMID- ?\d|(?:STAT|OWN |DCOM|FAU |TI  |DP  )- )", re.M),
}
_RECORD_END = {"ris": re.compile(rb"^\s?(?:\xef\xbb\xbf)?ER  -", re.M), "medline": re.compile(rb"^PMID-", re.M)}


def _head_text(head: bytes) -> str:
    encoding, bom, _ = sniff(head)
    try:
        return head[bom:].decode(encoding or "utf-8", "replace")
    except LookupError:
        return head.decode("utf-8", "replace")


def detect_format(head: bytes, name: str = "") -> str | None:
    """The format of a file from its first bytes (64 KB is plenty), else from its name; None if neither tells."""
    text = _head_text(head[:65536])
    found = [(m.start(), fmt) for fmt, rx in _STARTS.items() if (m := rx.search(text))]
    if found:
        return min(found)[1]
    lower = (name or "").lower()
    for ext, fmt in EXTENSIONS.items():
        if lower.endswith(ext):
            return fmt
    return None


_ENTRY_START = re.compile(r"^[ \t]*@[ \t]*(?!(?:string|preamble|comment)\b)[A-Za-z]", re.M | re.I)
_ENTRY_START_BYTES = re.compile(_ENTRY_START.pattern.encode(), re.M | re.I)


def estimate(fmt: str, f) -> int:
    """A fast count of a stored file's entries (BibTeX: the lines that start one) or records (RIS, MEDLINE:
    their ``ER`` / ``PMID`` lines), for progress; the reader's count is exact. ``f`` is left where it was."""
    start = f.tell()
    rx = _RECORD_END.get(fmt)
    if rx is not None:
        count = count_line_matches(iter(lambda: f.read(1 << 20), b""), rx)
    else:
        head = f.read(8192)
        f.seek(start)
        encoding, bom, _ = sniff(head)
        if encoding and encoding.startswith(("utf-16", "utf-32")):
            decoder = codecs.getincrementaldecoder(encoding)("replace")
            f.read(bom)
            text = itertools.chain((decoder.decode(block) for block in iter(lambda: f.read(1 << 20), b"")),
                                   [decoder.decode(b"", final=True)])
            count = count_line_matches(text, _ENTRY_START)
        else:
            count = count_line_matches(iter(lambda: f.read(1 << 20), b""), _ENTRY_START_BYTES)
    f.seek(start)
    return count


def count_line_matches(blocks, rx) -> int:
    """The matches of ``rx`` (a line-anchored pattern) in a file read in ``blocks`` (all bytes or all str),
    each line searched in one piece."""
    count, carry = 0, None
    for block in blocks:
        data = block if carry is None else carry + block
        cut = data.rfind(b"\n" if isinstance(data, bytes) else "\n") + 1
        count += len(rx.findall(data, 0, cut))
        carry = data[cut:]
    return count + (len(rx.findall(carry)) if carry else 0)


def single_stream(fmt: str, source, chunk_entries: int = 1000):
    if fmt == "ris":
        return RisStream(source, chunk_entries)
    if fmt == "medline":
        return MedlineStream(source, chunk_entries)
    return BibtexStream(source, chunk_entries)


def open_stream(fmt: str, sources: list, chunk_entries: int = 1000):
    """One stream over the files ``sources`` (paths, bytes or binary file objects), in that order."""
    if len(sources) == 1:
        return single_stream(fmt, sources[0], chunk_entries)
    if fmt == "bibtex":
        return JoinedBibtexStream(sources, chunk_entries)
    return ChainedStream([single_stream(fmt, s, chunk_entries) for s in sources])


class ChainedStream:
    """RIS or MEDLINE files one after the other: indexes numbered on, ``source`` set, warnings named by file."""

    def __init__(self, streams: list):
        self.streams = streams
        self.entries_read = 0
        self.encoding = ""
        self.encoding_guessed = False
        self.warnings: list[str] = []

    def __iter__(self):
        encodings = []
        for position, stream in enumerate(self.streams):
            offset = self.entries_read
            for chunk in stream:
                for e in chunk:
                    e.index += offset
                    e.source = position
                yield chunk
            self.entries_read += stream.entries_read
            encodings.append(stream.encoding)
            self.encoding_guessed = self.encoding_guessed or stream.encoding_guessed
            self.warnings.extend(f"file {position + 1}: {w}" for w in stream.warnings)
        self.encoding = ", ".join(dict.fromkeys(e for e in encodings if e))


class _JoinedText:
    """Several binary files as one seekable text file (each decoded by its own sniffed encoding, a
    newline between them); remembers the line each file starts on."""

    def __init__(self, sources: list):
        self.sources = sources
        self.encodings: list[str] = [""] * len(sources)
        self.guessed: list[bool] = [False] * len(sources)
        self.warnings: list[list[str]] = [[] for _ in sources]
        self.first_lines: list[int] = [1] * len(sources)
        self._reset()

    def _reset(self):
        self._part, self._file, self._opened, self._text = -1, None, False, None
        self._newlines, self._pos, self._pending = 0, 0, ""

    def seekable(self):
        return True

    def tell(self):
        return self._pos

    def seek(self, pos, whence=0):
        if pos != 0 or whence != 0:
            raise OSError("only seek(0) is supported")
        self.close()
        self._reset()
        return 0

    def close(self):
        if self._file is not None and self._opened:
            self._file.close()
        self._file = None

    def _next_part(self) -> bool:
        self.close()
        self._part += 1
        if self._part >= len(self.sources):
            return False
        self._file, self._opened = open_source(self.sources[self._part])
        if hasattr(self._file, "seek"):
            try:
                self._file.seek(0)
            except (OSError, ValueError):
                pass
        self.first_lines[self._part] = self._newlines + 1
        self._text = DecodedFile(self._file)
        self.encodings[self._part], self.warnings[self._part] = self._text.encoding, self._text.warnings
        self.guessed[self._part] = self._text.guessed
        self._pending = self._text.first
        return True

    def read(self, size=-1) -> str:
        out = []
        wanted = size if size and size > 0 else 1 << 62
        got = 0
        while got < wanted:
            if self._pending:
                piece = self._pending[:wanted - got]
                self._pending = self._pending[len(piece):]
            elif self._file is not None:
                text = self._text.more()
                if not self._text.eof:
                    self._pending = text
                    continue
                if self._text.stray:  # bytes further on were not UTF-8
                    self.guessed[self._part] = True
                    self.warnings[self._part].append(self._text.stray)
                self.close()
                self._pending = text + "\n"  # each file ends its last line
                continue
            elif not self._next_part():
                break
            else:
                continue
            out.append(piece)
            got += len(piece)
            self._newlines += piece.count("\n")
        text = "".join(out)
        self._pos += len(text)
        return text

    def locate(self, line: int) -> tuple[int, int]:
        """A line of the joined text -> (file position, line in that file)."""
        position = max(0, bisect.bisect_right(self.first_lines, line) - 1)
        return position, line - self.first_lines[position] + 1


class JoinedBibtexStream:
    """BibTeX files read as one (``@string`` and crossrefs across them), entries placed in their own file."""

    def __init__(self, sources: list, chunk_entries: int = 1000):
        self.text = _JoinedText(sources)
        self.inner = BibtexStream(self.text, chunk_entries)
        self.entries_read = 0
        self.encoding = ""
        self.encoding_guessed = False
        self.warnings: list[str] = []

    def __iter__(self):
        try:
            for chunk in self.inner:
                for e in chunk:
                    e.source, e.line = self.text.locate(e.line)
                yield chunk
        finally:
            self.text.close()
        self.entries_read = self.inner.entries_read
        self.encoding = ", ".join(dict.fromkeys(e for e in self.text.encodings if e))
        self.encoding_guessed = any(self.text.guessed)
        self.warnings = [w for i, ws in enumerate(self.text.warnings) for w in (f"file {i + 1}: {x}" for x in ws)]
        self.warnings += [self._place(w) for w in self.inner.warnings]

    def _place(self, warning: str) -> str:
        """``line 812: ...`` of the joined text -> ``file 2, line 12: ...``."""
        m = re.match(r"line (\d+)", warning)
        if not m:
            return warning
        position, line = self.text.locate(int(m.group(1)))
        return f"file {position + 1}, line {line}{warning[m.end():]}"


def read_references(data: bytes | str, fmt: str):
    """A whole file (one record's corrected text, for a retry) -> ReadResult."""
    from .medline import read_medline
    from .reader import read_bibtex
    from .ris import read_ris
    return {"ris": read_ris, "medline": read_medline}.get(fmt, read_bibtex)(data)


__all__ = ["FORMATS", "LABELS", "detect_format", "estimate", "open_stream", "read_references",
           "ChainedStream", "JoinedBibtexStream"]
