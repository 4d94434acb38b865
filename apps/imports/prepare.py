"""One read BibTeX entry -> the values a Study would get, checked against the columns.

A value the database cannot hold (a year of 3000, a 60-character volume, a language kb does not
list) is left out of the study with a warning; it stays in the study's raw ``source_entry``.
Nothing here touches the database.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from apps.common.text import clean_text, squash
from apps.studies.keys import TITLE_KEY_LENGTH, family_key, full_title_key
from apps.studies.models import LANGUAGE_CHOICES, StudyType
from biblio.model import Entry, Record
from biblio.names import name_parts, person_json, printed_name

LANGUAGES = frozenset(code for code, _ in LANGUAGE_CHOICES if code)
STUDY_TYPES = frozenset(StudyType.values)
MAX_LENGTHS = {"volume": 50, "issue": 50, "pages": 50, "edition": 50, "chapter": 50, "publisher": 300,
               "doi": 255, "pmid": 12, "pmcid": 16, "isbn": 13, "url": 1000, "source_key": 255}
MAX_KEYWORD = 200
MAX_KEYWORDS = 200
MAX_VENUE = 500
MAX_NAME, MAX_FAMILY, MAX_GIVEN = 300, 200, 200
COMPARE_CHARS = 400  # titles are compared on their first 400 folded characters

_url_ok = URLValidator(schemes=["http", "https", "ftp", "ftps"])

#: Study fields an import may write (besides authors and venue).
STUDY_FIELDS = ("title", "subtitle", "abstract", "language", "year", "month", "day", "study_type", "volume",
                "issue", "pages", "publisher", "edition", "chapter", "doi", "pmid", "pmcid", "isbn", "url",
                "keywords", "source_entry", "source_key")


#: The per-entry warning of an entry without a title (the import report shows it; docs/imports.md).
UNTITLED_WARNING = ("title: the entry has no title: imported as an incomplete draft, which cannot be published "
                    "until a curator gives it a title")


class EntryFailed(Exception):
    """The entry cannot become a study; the message says why (shown to curators)."""


@dataclass
class Prepared:
    """An entry ready to be written: JSON-friendly (review items store it as it is)."""

    index: int
    key: str
    line: int | None
    entry_type: str
    raw: str
    fields: dict
    venue: dict | None
    authors: list[dict]
    source: dict
    warnings: list[str] = field(default_factory=list)
    ambiguous_authors: list[dict] = field(default_factory=list)

    # matching features (derived from ``fields``/``authors``, see ``features``)
    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Prepared":
        return cls(**data)


def _date(rec: Record, warnings: list[str]) -> tuple[int | None, int | None, int | None]:
    year, month, day = rec.year, rec.month, rec.day
    if year is not None and not 1500 <= year <= 2100:
        warnings.append(f"year {year} is outside 1500-2100: left out of the study (kept in the raw entry)")
        year = None
    if month is not None and not 1 <= month <= 12:
        month = None
    if day is not None and not 1 <= day <= 31:
        day = None
    if year is None:
        month = day = None
    if month is None:
        day = None
    return year, month, day


def _venue_kind(study_type: str) -> str:
    return {"article": "journal", "conference_paper": "proceedings", "book": "series", "report": "series",
            "thesis": "series"}.get(study_type, "other")


def prepare(entry: Entry) -> Prepared:
    """Raise :class:`EntryFailed` when the entry cannot become a study."""
    rec = entry.record
    if rec is None:
        raise EntryFailed(entry.error or "the entry could not be read")
    warnings = [clean_text(w) for w in entry.warnings]
    title = squash(rec.title)
    if not title:  # real references of old literature: kept as an incomplete draft (apps.studies.models.GAPS)
        warnings.append(UNTITLED_WARNING)
    year, month, day = _date(rec, warnings)
    study_type = rec.study_type if rec.study_type in STUDY_TYPES else "other"
    language = rec.language if rec.language in LANGUAGES else ""
    if rec.language and not language:
        warnings.append(f"language {rec.language!r} is not one kb lists: left out of the study")
    fields = {
        "title": title, "subtitle": squash(rec.subtitle), "abstract": clean_text(rec.abstract).strip(),
        "language": language, "year": year, "month": month, "day": day, "study_type": study_type,
        "volume": squash(rec.volume), "issue": squash(rec.issue), "pages": squash(rec.pages),
        "publisher": squash(rec.publisher), "edition": squash(rec.edition), "chapter": squash(rec.chapter),
        "doi": squash(rec.doi), "pmid": squash(rec.pmid), "pmcid": squash(rec.pmcid), "isbn": squash(rec.isbn),
        "url": squash(rec.url), "source_key": squash(entry.key), "source_entry": clean_text(entry.raw),
    }
    for name, limit in MAX_LENGTHS.items():
        if len(fields[name]) > limit:
            warnings.append(f"{name} is {len(fields[name]):,} characters (at most {limit}): left out of the study")
            fields[name] = ""
    if fields["url"]:
        try:
            _url_ok(fields["url"])
        except ValidationError:
            warnings.append(f"url {fields['url'][:200]!r} is not a web address: left out of the study")
            fields["url"] = ""
    keywords = []
    for kw in rec.keywords:
        kw = squash(kw)
        if kw and len(kw) <= MAX_KEYWORD and len(keywords) < MAX_KEYWORDS:
            keywords.append(kw)
        elif kw:
            warnings.append(f"keyword {kw[:60]!r}... left out (too long or too many keywords)")
    fields["keywords"] = keywords

    venue = None
    venue_name = squash(rec.venue)
    if venue_name:
        if len(venue_name) > MAX_VENUE:
            warnings.append(f"venue name is {len(venue_name):,} characters (at most {MAX_VENUE}): left out")
        else:
            venue = {"name": venue_name, "issn": rec.issn or "", "kind": _venue_kind(study_type)}

    people, editors_as_authors = rec.authors, False
    if not people and rec.editors:
        people, editors_as_authors = rec.editors, True
    authors = []
    for p in people:
        name = printed_name(p)
        family, given = name_parts(p)
        if not name:
            continue
        if len(name) > MAX_NAME or len(family) > MAX_FAMILY or len(given) > MAX_GIVEN:
            warnings.append(f"author name {name[:60]!r}... is too long: shortened")
        authors.append({"name": name[:MAX_NAME], "family_name": family[:MAX_FAMILY], "given_name": given[:MAX_GIVEN],
                        "orcid": p.orcid, "corporate": p.corporate, "researcher": None})
    if editors_as_authors and authors:
        warnings.append("no authors: the editors are listed as the study's authors")

    # the authors' parts are kept only when the authorship rows cannot tell them (particles, suffixes,
    # corporate names, ORCIDs); editors always (a study has no editor rows)
    special = any(p.von or p.suffix or p.corporate or p.orcid for p in rec.authors)
    source = {"entry_type": entry.entry_type, "authors": [person_json(p) for p in rec.authors] if special else [],
              "editors": [person_json(p) for p in rec.editors], "editors_as_authors": editors_as_authors,
              "et_al": rec.authors_et_al, "note": clean_text(rec.note),
              "extra": {k: clean_text(v) for k, v in rec.extra.items()}}
    for name in ("eprint", "issn"):
        if getattr(rec, name):
            source[name] = getattr(rec, name)
    if rec.language and not language:
        source["language"] = rec.language
    return Prepared(index=entry.index, key=squash(entry.key)[:255], line=entry.line,
                    entry_type=entry.entry_type[:40], raw=clean_text(entry.raw), fields=fields, venue=venue,
                    authors=authors, source=source, warnings=warnings)


# --------------------------------------------------------------------------- features for matching

@dataclass
class Features:
    """What duplicate detection compares, the same for a prepared entry and a stored study."""

    title: str            # folded title + subtitle, first COMPARE_CHARS characters
    title_key: str        # the indexed key (first 200 characters)
    year: int | None
    authors: tuple        # family keys of all authors, in order
    doi: str = ""
    pmid: str = ""
    isbn: str = ""
    pages: str = ""
    edition: str = ""
    chapter: str = ""
    volume: str = ""
    study_type: str = ""
    numbers: tuple = ()   # the numbers in the title ("part 2", "2019") must agree
    abstract: str = ""    # as written (compared only when two works otherwise match: see matching)
    raw: str = ""         # the raw BibTeX text (entries of the file only): identical text is the same entry
    key: str = ""         # the citation key (a study's source_key)

    @property
    def first_author(self) -> str:
        return self.authors[0] if self.authors else ""


_DIGITS = re.compile(r"\d+")
_EDITION_WORDS = {"first": "1", "second": "2", "third": "3", "fourth": "4", "fifth": "5", "sixth": "6",
                  "seventh": "7", "eighth": "8", "ninth": "9", "tenth": "10", "forste": "1", "andre": "2",
                  "tredje": "3", "fjerde": "4", "femte": "5"}


_DASHES = re.compile(r"[\s\u2010-\u2015\-]+")


def _norm_simple(value: str) -> str:
    if not value:
        return ""
    return _DASHES.sub("-", value.strip().lower())


def norm_edition(value: str) -> str:
    if not value:
        return ""
    v = value.strip().lower()
    m = _DIGITS.search(v)
    if m:
        return m.group(0).lstrip("0") or "0"
    for word, number in _EDITION_WORDS.items():
        if v.startswith(word):
            return number
    return v


def features(fields: dict, author_families: list[str] = (), author_keys: tuple | None = None) -> Features:
    full = full_title_key(fields.get("title", ""), fields.get("subtitle", ""))
    if author_keys is None:
        author_keys = tuple(family_key(f) for f in author_families)
    return Features(
        title=full[:COMPARE_CHARS], title_key=full[:TITLE_KEY_LENGTH],
        year=fields.get("year"), authors=author_keys,
        doi=(fields.get("doi") or "").lower(), pmid=fields.get("pmid") or "", isbn=fields.get("isbn") or "",
        pages=_norm_simple(fields.get("pages")), edition=norm_edition(fields.get("edition")),
        chapter=_norm_simple(fields.get("chapter")), volume=_norm_simple(fields.get("volume")),
        study_type=fields.get("study_type") or "", numbers=tuple(sorted(_DIGITS.findall(full))),
        key=fields.get("source_key") or "", abstract=fields.get("abstract") or "",
    )


def prepared_features(p: Prepared) -> Features:
    f = features(p.fields, [a["family_name"] for a in p.authors])
    f.raw = entry_digest(p.raw)
    return f


def entry_digest(text: str) -> str:
    """Identical entry text (whitespace aside) is the same entry: a digest compares as well as the text."""
    return hashlib.blake2b(" ".join((text or "").split()).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
