"""Data classes shared by the reader and the writers (no Django, no third-party imports)."""
from __future__ import annotations

from dataclasses import dataclass, field

STUDY_TYPES = (
    "article", "book", "book_chapter", "thesis", "report", "conference_paper",
    "guideline", "dataset", "web_page", "other",
)


@dataclass
class Person:
    """One author or editor.

    ``family`` is the full family name as it is cited, including a lower-case particle
    ("van Beethoven"); the particle alone is repeated in ``von``.  For corporate authors
    (``{{World Health Organization}}``) ``family`` holds the whole name and ``corporate`` is set.
    """

    family: str
    given: str = ""
    von: str = ""
    suffix: str = ""
    corporate: bool = False
    printed: str = ""
    orcid: str = ""

    @property
    def family_without_von(self) -> str:
        if self.von and self.family.startswith(self.von + " "):
            return self.family[len(self.von) + 1:]
        return self.family


@dataclass
class Record:
    """One normalized reference, ready to become a Study."""

    entry_type: str
    study_type: str
    title: str = ""
    subtitle: str = ""
    abstract: str = ""
    language: str = ""
    year: int | None = None
    month: int | None = None
    day: int | None = None
    venue: str = ""
    issn: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""
    publisher: str = ""
    edition: str = ""
    chapter: str = ""
    doi: str = ""
    pmid: str = ""
    pmcid: str = ""
    isbn: str = ""
    eprint: str = ""
    url: str = ""
    keywords: list[str] = field(default_factory=list)
    authors: list[Person] = field(default_factory=list)
    editors: list[Person] = field(default_factory=list)
    authors_et_al: bool = False
    note: str = ""
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class Entry:
    """One raw entry of the file and what became of it."""

    index: int
    key: str
    entry_type: str
    line: int
    raw: str
    fields: dict[str, str]
    record: Record | None
    error: str = ""
    warnings: list[str] = field(default_factory=list)
    source: int = 0  # the position of the entry's file among the files read as one (biblio.formats)

    @property
    def ok(self) -> bool:
        return self.record is not None


@dataclass
class ReadResult:
    entries: list[Entry]
    encoding: str
    warnings: list[str] = field(default_factory=list)
    preamble: list[str] = field(default_factory=list)
    comments: int = 0
    encoding_guessed: bool = False  # no byte-order mark or declaration decided, and not plain UTF-8

    @property
    def records(self) -> list[Record]:
        return [e.record for e in self.entries if e.record is not None]

    @property
    def failed(self) -> list[Entry]:
        return [e for e in self.entries if e.record is None]
