"""What the RIS and MEDLINE readers share: a streaming line reader, tagged records, names, pages, dates.

Both formats are line-based: ``TAG  - value`` lines, with untagged lines continuing the previous tag.
The readers (:mod:`biblio.ris`, :mod:`biblio.medline`) group lines into records and map tags to a
:class:`~biblio.model.Record`; this module streams the lines (in any encoding
:func:`biblio.encoding.incremental_decoder` reads, with LF, CRLF or CR line ends and memory that stays
flat) and holds the helpers both mappings use. No Django imports.
"""
from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from typing import Iterator

from apps.common import collector

from .encoding import DecodedFile
from .model import Entry, Person, ReadResult, Record
from .names import parse_name
from .normalize import normalize_pages

_READ_SIZE = 1 << 20
_NEWLINE = re.compile(r"\r\n|\r|\n")


def open_source(source):
    """(binary or text file object, we_opened_it) for a path, bytes, str or file object."""
    if isinstance(source, (str, os.PathLike)):
        return open(source, "rb"), True
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source)), True
    return source, False


class LineReader:
    """``(line number, line)`` pairs of a file, decoded; ``encoding`` and ``warnings`` once the first block is read.

    Line numbers count LF, CRLF and a lone CR alike (as editors do); a BOM (also one repeated at a
    line's start, as concatenated exports have) is dropped."""

    def __init__(self):
        self.encoding = ""
        self.encoding_guessed = False  # no byte-order mark decided, and not plain UTF-8
        self.warnings: list[str] = []

    def lines(self, f) -> Iterator[tuple[int, str]]:
        text = DecodedFile(f, _READ_SIZE)
        self.encoding, self.encoding_guessed = text.encoding, text.guessed
        self.warnings.extend(text.warnings)
        buf, number = text.first, 1
        while True:
            buf += text.more()
            eof = text.eof
            if eof and text.stray:  # bytes further on were not UTF-8
                self.encoding_guessed = True
                self.warnings.append(text.stray)
            if eof:
                cut = len(buf)
            else:  # up to the last complete line; a CR at the very end may be the first half of a CRLF
                cut = max(buf.rfind("\n"), buf.rfind("\r", 0, len(buf) - 1)) + 1
            if cut:
                parts = _NEWLINE.split(buf[:cut])
                if not eof or parts[-1] == "":
                    parts.pop()
                for line in parts:
                    if "\ufeff" in line:
                        line = line.replace("\ufeff", "")
                    yield number, line
                    number += 1
                buf = buf[cut:]
            if eof:
                return


@dataclass
class TaggedRecord:
    """One record's lines: ``tags`` holds ``[tag, [values], line]`` in file order (a repeated tag has
    one item per occurrence); ``lines`` the raw text."""

    line: int
    lines: list[str] = field(default_factory=list)
    tags: list = field(default_factory=list)
    end_line: int = 0

    def add(self, tag: str, value: str, number: int, raw: str):
        self.tags.append([tag, [value], number])
        self.lines.append(raw)
        self.end_line = number

    def _by_tag(self) -> dict:
        index = self.__dict__.get("_index")
        if index is None or index[0] != len(self.tags):  # built once the record is complete
            by_tag: dict[str, list] = {}
            for item in self.tags:
                by_tag.setdefault(item[0], []).append(item[1])
            index = self.__dict__["_index"] = (len(self.tags), by_tag)
        return index[1]

    def values(self, *tags: str) -> list[str]:
        """Every non-empty value of these tags (in file order for one tag; tag by tag for several)."""
        by_tag = self._by_tag()
        return [v for t in tags for vs in by_tag.get(t, ()) for v in vs if v]

    def first(self, *tags: str) -> str:
        """The first non-empty value of the first of ``tags`` that has one (preference order)."""
        by_tag = self._by_tag()
        for tag in tags:
            for vs in by_tag.get(tag, ()):
                text = vs[0] if len(vs) == 1 else joined(tag, vs)
                if text:
                    return text
        return ""

    @property
    def raw(self) -> str:
        return "\n".join(self.lines)


#: Tags whose untagged continuation lines are further values (one keyword, name or address a line).
LIST_TAGS = frozenset(("KW", "AU", "A1", "A2", "A3", "A4", "ED", "AD", "SN", "UR", "L1", "L2"))
#: Tags whose continuation lines keep their line breaks (paragraphs of abstracts and notes).
TEXT_TAGS = frozenset(("AB", "N1", "N2"))


def joined(tag: str, values: list[str]) -> str:
    sep = "\n" if tag in TEXT_TAGS else " "
    return sep.join(v for v in values if v).strip()


# --------------------------------------------------------------------------- shared value helpers

_INITIALS_ONLY = re.compile(r"^[A-Z]{1,4}$")
_TRAILING_INITIALS = re.compile(r"^(?P<family>\S.*?)\s+(?P<initials>(?:[A-Z]\.?-?){1,4})$")
_CORPORATE = re.compile(r"\b(?:organi[sz]ation|group|collaborat\w*|committee|society|association|institute|agency|"
                        r"council|consortium|network|investigators|working|centre|center|university|ministry|"
                        r"department|foundation|board|trialists|panel|task force)\b", re.I)


def dotted(initials: str) -> str:
    """``"JA"`` -> ``"J. A."`` (MEDLINE and Web of Science print initials without dots)."""
    return " ".join(c + "." for c in initials)


def person(value: str, corporate: bool = False) -> Person | None:
    """A printed name of a RIS or MEDLINE file -> a Person.

    ``Family, Given`` and ``Given Family`` as in BibTeX (particles too); ``Adler D.G.`` (Embase) and
    ``Smith JA`` (MEDLINE ``AU``) as family name and initials; initials without dots get dots; a name
    without a comma that reads like a body (``World Health Organization``) is corporate."""
    value = " ".join(value.replace("{", "").replace("}", "").replace("\\", "").split()).strip(" ;,")
    if not value:
        return None
    if corporate or ("," not in value and _CORPORATE.search(value) and len(value.split()) > 2):
        return Person(family=value, corporate=True, printed=value)
    if "," not in value:
        m = _TRAILING_INITIALS.match(value)
        if m and not m.group("family").endswith("."):
            initials = m.group("initials")
            given = dotted(initials) if _INITIALS_ONLY.match(initials) else initials
            return Person(family=m.group("family"), given=given, printed=value)
    p = parse_name(value)
    if p is not None and p.given and _INITIALS_ONLY.match(p.given) and p.given != p.given.lower():
        p.given = dotted(p.given)
    return p


def people(values: list[str], warnings: list[str], label: str) -> list[Person]:
    out: list[Person] = []
    for v in values:
        p = person(v)
        if p is None:
            continue
        if out and printed_key(out[-1]) == printed_key(p):
            warnings.append(f"{label} {v!r} repeated right after itself: listed once")
            continue
        out.append(p)
    return out


def printed_key(p: Person) -> tuple:
    return p.family.lower(), p.given.lower()


_QUALIFIER = re.compile(r"/\*?[a-z]")


def subject_heading(value: str) -> str:
    """A MeSH (or PsycINFO) heading -> the keyword kb keeps: ``Boswellia/*chemistry`` -> ``Boswellia``,
    ``*Body Image`` -> ``Body Image`` (the star marks a major topic, the lower-case parts after ``/`` are
    qualifiers); ``HIV/AIDS`` stays as it is."""
    value = value.strip().lstrip("*").strip()
    m = _QUALIFIER.search(value)
    return value[:m.start()].strip() if m else value


_PAGES = re.compile(r"^\s*(\d+)\s*[-\u2010-\u2015]+\s*(\d+)\s*$")


def pages(first: str, last: str = "") -> str:
    """``SP``/``EP`` or MEDLINE ``PG`` -> kb's pages; an abbreviated end (``349-69``) is written out
    (``349–369``) so the same article compares equal across formats; text without a digit is dropped."""
    first, last = first.strip(), last.strip()
    if last and not any(c.isdigit() for c in last):
        last = ""
    if not any(c.isdigit() for c in first):
        return ""
    value = f"{first}-{last}" if last and last != first and "-" not in first else first
    m = _PAGES.match(value)
    if m:
        a, b = m.groups()
        if len(b) < len(a) and int(a[-len(b):]) < int(b):  # 349-69 -> 349-369 (but not 12-3)
            b = a[:len(a) - len(b)] + b
        value = f"{a}-{b}"
    return normalize_pages(value)


_YMD = re.compile(r"(?<!\d)(\d{4})(?:[/\-](\d{1,2})?(?:[/\-](\d{1,2}))?)?")


def year_month_day(value: str) -> tuple[int | None, int | None, int | None]:
    """``2019``, ``2019//``, ``2019/03/15/``, ``2011/05/11`` -> (year, month, day)."""
    m = _YMD.search(value or "")
    if not m:
        return None, None, None
    year, month, day = (int(g) if g else None for g in m.groups())
    if month is not None and not 1 <= month <= 12:
        month = day = None
    if day is not None and not 1 <= day <= 31:
        day = None
    return year, month, day


class TaggedStream:
    """Iterate over a RIS or MEDLINE file in chunks of Entries (like :class:`biblio.reader.BibtexStream`).

    Subclasses give ``records(lines)`` (TaggedRecords, file warnings through ``self.warnings``) and
    ``entry(index, record)``. ``entries_read``, ``encoding`` and ``warnings`` are complete once the
    iteration ends."""

    format_name = ""
    no_records = "no records found"

    def __init__(self, source, chunk_entries: int = 1000):
        self.source = source
        self.chunk_entries = max(1, int(chunk_entries))
        self.encoding = ""
        self.encoding_guessed = False
        self.warnings: list[str] = []
        self.entries_read = 0

    def records(self, lines) -> Iterator[TaggedRecord]:  # pragma: no cover - abstract
        raise NotImplementedError

    def entry(self, index: int, record: TaggedRecord) -> Entry:  # pragma: no cover - abstract
        raise NotImplementedError

    def build(self, index: int, record: TaggedRecord) -> Entry:
        try:
            return self.entry(index, record)
        except Exception as exc:  # a bug must cost one record, never the file
            return Entry(index=index, key="", entry_type="", line=record.line, raw=record.raw, fields={},
                         record=None, error=f"internal error while reading this record: {type(exc).__name__}: {exc}")

    def __iter__(self) -> Iterator[list[Entry]]:
        f, opened = open_source(self.source)
        reader = LineReader()

        def entries():  # many small acyclic objects, as in the BibTeX reader: built with the GC paused
            for record in self.records(reader.lines(f)):
                entry = self.build(self.entries_read, record)
                self.entries_read += 1
                yield entry

        try:
            yield from collector.chunks(entries(), self.chunk_entries)
            self.encoding, self.encoding_guessed = reader.encoding, reader.encoding_guessed
            self.warnings[:0] = reader.warnings
            if self.entries_read == 0:
                self.warnings.append(self.no_records)
        finally:
            if opened:
                f.close()


def read_all(stream: TaggedStream) -> ReadResult:
    """A whole file (bytes or str) at once: for a retried record and for tests."""
    entries = [e for chunk in stream for e in chunk]
    return ReadResult(entries=entries, encoding=stream.encoding, warnings=stream.warnings)


def new_record(entry_type: str, study_type: str) -> Record:
    return Record(entry_type=entry_type, study_type=study_type)
