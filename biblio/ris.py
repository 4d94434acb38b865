"""RIS reader: :func:`iter_ris` (streaming) and :func:`read_ris` (whole file).

Invariant (as for BibTeX): one :class:`~biblio.model.Entry` per record, in file order, each with a
``record`` or an ``error``, its first line and its raw text; ``key`` is the record's ``ID``. Nothing
here raises on bad input.

A record runs from ``TY  - `` to ``ER  - ``. What real exports do besides (files in /work/shared/formats):
untagged lines continue the previous tag (a further keyword, name or address for the list tags, more
text for the others); text between records (Ovid's ``1.`` lines) is skipped, and so are tags after an
``ER`` that no ``TY`` opens (Ovid's ``NL``, with a warning) unless an ``ER`` closes them: then they are
a record without ``TY``, which fails naming its line. ``TY`` lines repeated before any other tag
(JabRef's test file) are one record, and so is a ``TY`` after other tags without an ``ER`` before it (with a warning): the ``ER`` lines count the records, as every exporter writes them. Why kb reads RIS itself rather than with ``rispy``: docs/imports.md.
"""
from __future__ import annotations

import re
from typing import Iterator

from apps.common.identifiers import doi_from_url, find_isbns, find_issns, normalize_doi, normalize_pmid

from .model import Entry, ReadResult, Record
from .normalize import language_code
from .tagged import TaggedRecord, TaggedStream, joined, pages, people, read_all, subject_heading, year_month_day

__all__ = ["RisStream", "iter_ris", "read_ris", "RIS_TYPES"]

_TAG = re.compile(r"^([A-Z][A-Z0-9])  -(?:[ \t](.*))?$")

#: RIS type (``TY``) -> kb study type; long names as some exporters write them.
RIS_TYPES = {
    "JOUR": "article", "JFULL": "article", "EJOUR": "article", "MGZN": "article", "NEWS": "article",
    "INPR": "article", "ABST": "article", "SER": "article", "BOOK": "book", "EBOOK": "book", "EDBOOK": "book",
    "CHAP": "book_chapter", "ECHAP": "book_chapter", "THES": "thesis", "RPRT": "report", "GOVDOC": "report",
    "CONF": "conference_paper", "CPAPER": "conference_paper", "DATA": "dataset", "DBASE": "dataset",
    "ELEC": "web_page", "WEB": "web_page", "BLOG": "web_page", "STAND": "guideline",
    "JOURNAL ARTICLE": "article", "MAGAZINE ARTICLE": "article", "NEWSPAPER ARTICLE": "article",
    "BOOK SECTION": "book_chapter", "EDITED BOOK": "book", "THESIS": "thesis", "REPORT": "report",
    "CONFERENCE PAPER": "conference_paper", "CONFERENCE PROCEEDINGS": "conference_paper",
    "WEB PAGE": "web_page", "DATASET": "dataset",
}
#: Where the venue's name is, by study type, in order of preference.
VENUE_TAGS = {"article": ("JF", "T2", "JO", "JA", "J2", "J1"), "book_chapter": ("BT", "T2", "T3"),
              "conference_paper": ("T2", "BT", "JF", "JO", "T3")}
OTHER_VENUE_TAGS = ("T2", "JF", "JO", "JA", "T3")
#: Tags the mapping uses; the others are kept in ``Record.extra`` (lower-case).
USED = frozenset(("TY", "ER", "ID", "TI", "T1", "CT", "BT", "ST", "AB", "N2", "AU", "A1", "A2", "ED", "PY", "Y1",
                  "DA", "VL", "VO", "IS", "CP", "SP", "EP", "DO", "DI", "SN", "LA", "UR", "KW", "PB", "N1",
                  "JF", "JO", "JA", "J1", "J2", "T2", "T3", "ET", "AN", "DB", "DP"))
_PUBMED_DB = re.compile(r"pubmed|medline|nlm", re.I)


class RisStream(TaggedStream):
    """``for chunk in iter_ris(path): ...`` yields lists of up to ``chunk_entries`` Entries."""

    format_name = "RIS"
    no_records = "no RIS records found: no line starts with 'TY  - '"

    def records(self, lines) -> Iterator[TaggedRecord]:
        rec: TaggedRecord | None = None      # opened by TY
        orphan: TaggedRecord | None = None   # tags no TY opened (after an ER, or at the start)
        last = None                          # the tag item untagged lines continue
        for number, line in lines:
            m = _TAG.match(line)
            if m is None:
                target = rec or orphan
                if target is not None:
                    target.lines.append(line)
                    text = line.strip()
                    if text and last is not None:
                        last[1].append(text)
                continue
            tag, value = m.group(1), (m.group(2) or "").strip()
            if tag == "TY":
                if rec is not None and any(t != "TY" for t, _, _ in rec.tags):
                    self.warnings.append(f"line {number}: a 'TY  - ' line inside the record of line {rec.line} "
                                         f"(no 'ER  - ' before it?): read as part of that record")
                if orphan is not None:
                    self._ignored(orphan)
                    orphan = None
                if rec is None:
                    rec = TaggedRecord(line=number)
                rec.add(tag, value, number, line)
                last = rec.tags[-1]
            elif tag == "ER":
                done = rec or orphan
                if done is None:
                    continue  # a stray ER closes nothing
                done.lines.append(line)
                done.end_line = number
                yield done
                rec = orphan = last = None
            else:
                if rec is None and orphan is None:
                    orphan = TaggedRecord(line=number)
                target = rec or orphan
                target.add(tag, value, number, line)
                last = target.tags[-1]
        if rec is not None:
            self.warnings.append(f"line {rec.line}: the last record has no 'ER  - ' line; read to the end of the file")
            yield rec
        elif orphan is not None:
            self._ignored(orphan)

    def _ignored(self, orphan: TaggedRecord) -> None:
        tags = ", ".join(dict.fromkeys(t for t, _, _ in orphan.tags))
        self.warnings.append(f"line {orphan.line}: tags outside a record ignored ({tags}): no 'TY  - ' line opens them")

    def entry(self, index: int, rec: TaggedRecord) -> Entry:
        warnings: list[str] = []
        key = (rec.values("ID") or [""])[0]
        types = rec.values("TY")
        ty = types[0] if types else ""
        entry = Entry(index=index, key=key, entry_type=ty.lower()[:40], line=rec.line, raw=rec.raw,
                      fields={}, record=None, warnings=warnings)
        if not types:
            entry.error = ("no 'TY  - ' line: a RIS record starts with its type"
                           + (f" (the record ends at line {rec.end_line})" if rec.end_line else ""))
            return entry
        if len(set(t.upper() for t in types)) > 1:
            warnings.append(f"{len(types)} TY lines: read as {ty!r}")
        entry.record = ris_record(rec, ty, warnings)
        if entry.record is None:
            entry.error = "no title, author or year"
        return entry


def ris_record(rec: TaggedRecord, ty: str, warnings: list[str]) -> Record | None:
    """A RIS record's tags -> a Record (None when it has no title, author or year)."""
    study_type = RIS_TYPES.get(ty.upper().strip())
    if study_type is None:
        warnings.append(f"RIS type {ty!r} is not one kb knows: read as 'other'")
        study_type = "other"
    r = Record(entry_type=ty.lower()[:40], study_type=study_type)
    titles = (rec.values("TI", "T1", "CT") or ([rec.first("BT")] if study_type == "book" and rec.first("BT") else [])
              or rec.values("ST"))
    if titles:
        r.title = " ".join(titles[0].split())
        others = {" ".join(t.split()) for t in titles[1:]} - {r.title}
        if others:
            warnings.append(f"{len(titles)} titles: kept the first ({', '.join(repr(t[:60]) for t in sorted(others))} "
                            f"left out)")
    r.abstract = rec.first("AB", "N2")
    for tag in VENUE_TAGS.get(study_type, OTHER_VENUE_TAGS):
        value = rec.first(tag)
        if value and not (study_type == "book" and tag == "BT"):
            r.venue = value
            break
    r.publisher = rec.first("PB")
    r.volume = rec.first("VL", "VO")
    r.issue = rec.first("IS", "CP")
    r.pages = pages(rec.first("SP"), rec.first("EP"))
    r.edition = rec.first("ET") if study_type in ("book", "book_chapter") else ""
    for tag in ("PY", "Y1", "DA"):
        year, month, day = year_month_day(rec.first(tag))
        if year is not None:
            r.year, r.month, r.day = year, month, day
            break
    if r.year is None and (rec.first("PY") or rec.first("Y1")):
        warnings.append(f"could not read the year {rec.first('PY', 'Y1')!r}")
    lang = rec.first("LA")
    if lang:
        r.language = language_code(lang)
        if not r.language:
            warnings.append(f"unknown language {lang!r}")

    # identifiers
    for value in rec.values("DO", "DI"):
        doi = normalize_doi(value)
        if doi:
            r.doi = doi
            break
        warnings.append(f"invalid DOI {value!r} left out")
    urls = [u for v in rec.values("UR") for u in v.replace(";", " ").split()]
    if urls:
        r.url = urls[0]
    if not r.doi:
        for u in urls + [u for v in rec.values("L2") for u in v.split()]:
            r.doi = doi_from_url(u)
            if r.doi:
                break
    for value in rec.values("SN"):
        isbns = find_isbns(value)
        issns = find_issns(value) if not isbns else []
        if isbns and not r.isbn:
            r.isbn = isbns[0]
        elif issns and not r.issn:
            r.issn = issns[0]
    accession = rec.first("AN")
    if accession and _PUBMED_DB.search(rec.first("DB") + " " + rec.first("DP")) and accession.isdigit():
        r.pmid = normalize_pmid(accession)

    keywords = []
    for value in rec.values("KW"):
        keywords.extend(subject_heading(k) for k in (value.split(";") if ";" in value else [value]))
    r.keywords = list(dict.fromkeys(k for k in keywords if k))

    r.authors = people(rec.values("AU", "A1"), warnings, "author")
    r.editors = people(rec.values("ED", "A2") if study_type in ("book", "book_chapter", "conference_paper")
                       else rec.values("ED"), warnings, "editor")
    r.note = rec.first("N1") if rec.first("AB") or not rec.first("N2") else ""
    extra = {}
    for tag, values, _ in rec.tags:
        if tag not in USED or (tag == "A2" and not r.editors and values):
            text = joined(tag, values)
            if text:
                extra[tag.lower()] = (extra[tag.lower()] + "; " + text) if tag.lower() in extra else text
    if len(urls) > 1:
        extra["ur"] = "; ".join(urls)
    r.extra = extra
    if not r.title and not r.authors and not r.editors and r.year is None:
        return None
    return r


def iter_ris(stream_or_path, chunk_entries: int = 1000) -> RisStream:
    """Streaming reader: ``for chunk in iter_ris(path): ...`` (lists of Entries)."""
    return RisStream(stream_or_path, chunk_entries)


def read_ris(data: bytes | str) -> ReadResult:
    """Read a whole RIS file (bytes in any supported encoding, or str)."""
    return read_all(RisStream(data.encode("utf-8") if isinstance(data, str) else bytes(data)))
