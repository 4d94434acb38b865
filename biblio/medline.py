"""MEDLINE (PubMed ``.nbib``) reader: :func:`iter_medline` (streaming) and :func:`read_medline`.

Invariant (as for BibTeX): one :class:`~biblio.model.Entry` per record, in file order, each with a
``record`` or an ``error``, its first line and its raw text; ``key`` is the record's ``PMID``.

A record is a run of ``TAG - value`` lines (the tag padded to four characters; ``PMID-22664220``
without the space is read too) ended by a blank line; lines starting with spaces continue the
previous tag (PubMed wraps at 80 characters). A line that is neither, between records, is skipped
with a warning (JabRef's test file has one). Records without a ``PMID`` are records too.
"""
from __future__ import annotations

import re
from typing import Iterator

from apps.common.identifiers import find_isbns, find_issns, normalize_doi, normalize_pmcid, normalize_pmid

from .model import Entry, ReadResult, Record
from .normalize import language_code, parse_month
from .tagged import TaggedRecord, TaggedStream, pages, person, people, read_all, subject_heading

__all__ = ["MedlineStream", "iter_medline", "read_medline", "PUBLICATION_TYPES"]

_TAG = re.compile(r"^([A-Z][A-Z0-9]{1,3}) *-(?: ?(.*))?$")
_ID_KIND = re.compile(r"^(.*?)\s*\[(\w+)\]\s*$")
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")

#: Publication types (``PT``) that decide the study type, in order of precedence.
PUBLICATION_TYPES = (
    ("practice guideline", "guideline"), ("guideline", "guideline"), ("consensus development conference", "guideline"),
    ("dataset", "dataset"), ("congress", "conference_paper"), ("clinical conference", "conference_paper"),
    ("technical report", "report"), ("book", "book"), ("dissertation", "thesis"), ("academic dissertation", "thesis"),
)
#: Tags the mapping uses; the others are kept in ``Record.extra`` (lower-case).
USED = frozenset(("PMID", "TI", "BTI", "AB", "FAU", "AU", "CN", "FED", "ED", "DP", "TA", "JT", "VI", "IP", "PG",
                  "LID", "AID", "IS", "ISBN", "LA", "MH", "OT", "PT", "PMC", "PB", "EN", "CTI"))


class MedlineStream(TaggedStream):
    """``for chunk in iter_medline(path): ...`` yields lists of up to ``chunk_entries`` Entries."""

    format_name = "MEDLINE"
    no_records = "no MEDLINE records found: no line starts with a tag such as 'PMID- '"

    def records(self, lines) -> Iterator[TaggedRecord]:
        rec: TaggedRecord | None = None
        last = None
        for number, line in lines:
            if not line.strip():
                if rec is not None:
                    yield rec
                    rec = last = None
                continue
            if line[0] in " \t":
                if rec is not None and last is not None:
                    rec.lines.append(line)
                    last[1][-1] = (last[1][-1] + " " + line.strip()).strip()
                continue
            m = _TAG.match(line)
            if m is None:
                if rec is None:
                    self.warnings.append(f"line {number}: {line.strip()[:80]!r} is not a MEDLINE tag line: skipped")
                else:  # a wrapped line that lost its indentation
                    rec.lines.append(line)
                    if last is not None:
                        last[1][-1] = (last[1][-1] + " " + line.strip()).strip()
                continue
            tag, value = m.group(1), (m.group(2) or "").strip()
            if tag == "PMID" and rec is not None and any(t == "PMID" for t, _, _ in rec.tags):
                yield rec  # no blank line between two records
                rec = None
            if rec is None:
                rec = TaggedRecord(line=number)
            rec.add(tag, value, number, line)
            last = rec.tags[-1]
        if rec is not None:
            yield rec

    def entry(self, index: int, rec: TaggedRecord) -> Entry:
        warnings: list[str] = []
        key = rec.first("PMID")
        record = medline_record(rec, warnings)
        entry = Entry(index=index, key=key, entry_type=record.entry_type if record else "", line=rec.line,
                      raw=rec.raw, fields={}, record=record,
                      warnings=warnings)
        if record is None:
            entry.error = "no title, author or year"
        return entry


def _study_type(rec: TaggedRecord) -> tuple[str, str]:
    """(entry type, study type) from the publication types and the book tags."""
    types = [t.lower() for t in rec.values("PT")]
    for pt, study_type in PUBLICATION_TYPES:
        if pt in types:
            return pt, study_type
    if rec.first("BTI") and rec.first("TI"):
        return (types[0] if types else "book chapter"), "book_chapter"
    if rec.first("BTI"):
        return (types[0] if types else "book"), "book"
    return (types[0] if types else "journal article"), "article"


def medline_record(rec: TaggedRecord, warnings: list[str]) -> Record | None:
    """A MEDLINE record's tags -> a Record (None when it has no title, author or year)."""
    entry_type, study_type = _study_type(rec)
    r = Record(entry_type=entry_type[:40], study_type=study_type)
    titles = rec.values("TI") or rec.values("BTI")
    if titles:
        r.title = titles[0]
        if len(set(titles)) > 1:
            warnings.append(f"{len(titles)} titles (TI): kept the first")
    r.abstract = rec.first("AB")
    if study_type == "book_chapter":
        r.venue = rec.first("BTI")
    elif study_type != "book":
        r.venue = rec.first("JT", "TA")
    r.publisher = rec.first("PB")
    r.edition = rec.first("EN")
    r.volume = rec.first("VI")
    r.issue = rec.first("IP")
    r.pages = pages(rec.first("PG"))
    dp = rec.first("DP")
    m = _YEAR.search(dp)
    if m:
        r.year = int(m.group(1))
        rest = dp[m.end():].strip()
        if rest:
            month, day = parse_month(rest.split("-")[0].split()[0] if rest.split() else rest)
            if month is not None:
                r.month = month
                words = rest.split()
                if len(words) > 1 and words[1].isdigit() and 1 <= int(words[1]) <= 31:
                    r.day = int(words[1])
    elif dp:
        warnings.append(f"could not read the date {dp!r}")
    lang = rec.first("LA")
    if lang:
        r.language = language_code(lang)
        if not r.language:
            warnings.append(f"unknown language {lang!r}")

    pmid = rec.first("PMID")
    if pmid:
        r.pmid = normalize_pmid(pmid)
        if not r.pmid:
            warnings.append(f"invalid PMID {pmid!r}")
    pmc = rec.first("PMC")
    if pmc:
        r.pmcid = normalize_pmcid(pmc)
    for value in rec.values("LID", "AID"):
        m = _ID_KIND.match(value)
        ident, kind = (m.group(1), m.group(2).lower()) if m else (value, "doi" if "10." in value else "")
        if kind == "doi" and not r.doi:
            r.doi = normalize_doi(ident)
        elif kind == "pmc" and not r.pmcid:
            r.pmcid = normalize_pmcid(ident)
    for value in rec.values("IS"):
        issns = find_issns(value)
        if issns:
            r.issn = issns[0]
            break
    for value in rec.values("ISBN"):
        isbns = find_isbns(value)
        if isbns:
            r.isbn = isbns[0]
            break

    # MeSH headings as keywords: the descriptor without '*' (major topic) and '/qualifiers'; then OT terms
    keywords = [subject_heading(h) for h in rec.values("MH") + rec.values("OT")]
    seen: dict[str, str] = {}
    for k in keywords:
        if k and k.lower() not in seen:  # "Humans" (MeSH) and "humans" (OT) once
            seen[k.lower()] = k
    r.keywords = list(seen.values())

    fau, au = rec.values("FAU"), rec.values("AU")
    r.authors = people(fau if len(fau) >= len(au) else au, warnings, "author")
    r.authors += [p for p in (person(v, corporate=True) for v in rec.values("CN")) if p is not None]
    fed, ed = rec.values("FED"), rec.values("ED")
    r.editors = people(fed if len(fed) >= len(ed) else ed, warnings, "editor")
    extra = {}
    for tag, values, _ in rec.tags:
        if tag not in USED:
            text = "; ".join(v for v in values if v)
            if text:
                extra[tag.lower()] = (extra[tag.lower()] + "; " + text) if tag.lower() in extra else text
    r.extra = extra
    if not r.title and not r.authors and not r.editors and r.year is None:
        return None
    return r


def iter_medline(stream_or_path, chunk_entries: int = 1000) -> MedlineStream:
    """Streaming reader: ``for chunk in iter_medline(path): ...`` (lists of Entries)."""
    return MedlineStream(stream_or_path, chunk_entries)


def read_medline(data: bytes | str) -> ReadResult:
    """Read a whole MEDLINE file (bytes in any supported encoding, or str)."""
    return read_all(MedlineStream(data.encode("utf-8") if isinstance(data, str) else bytes(data)))
