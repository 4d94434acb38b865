"""Duplicate detection: is this entry a study kb already holds (or an earlier entry of the same file)?

Rules, in order (the first that applies decides):

1. **Identifiers.** The same DOI (compared lower-case), PMID or ISBN-13 is the same work. An ISBN
   names a book, so it decides only between two entries that are not chapters (the chapters of a
   book share its ISBN). A DOI and a PMID that point at two different studies make the match
   uncertain (review).
2. **Exact.** The same folded title (and subtitle), the same year and the same authors' family names
   in the same order (needs an author, or a year and a title that is not weak: see below); or the
   same citation key, title and year; or the very same BibTeX text as an earlier entry of the file or
   as the study's stored source entry.
3. **Fuzzy.** Candidates share the indexed title key, or the first author's folded family name with a
   year at most one apart. The title similarity is ``rapidfuzz.fuzz.ratio`` of the folded titles
   (0-100). A candidate is the same work when the similarity is at least ``UPPER`` (92), the first
   authors' family names are equal, the years are at most one apart and the numbers in the titles
   agree ("part 1" is not "part 2"). From ``LOWER`` (80) upward, or at ``UPPER`` with a missing year or
   author, the match is *uncertain* and goes to the review queue.

Vetoes (a fuzzy or exact match is impossible): different DOI, PMID or ISBN; different pages,
edition or chapter; a different volume (except between two journal articles, where the volume is
a detail of the same work's printing).

A title alone is not enough evidence. Without authors on both sides, the same title and year are
certain only for a title of more than ``WEAK_TITLE_WORDS`` words ("Summary", "Corresponding author",
"Editorial" are uncertain), and so is the same citation key and title without a year (citation keys
such as ``noauthor_summary`` are made of the title). **Clearly different abstracts** (both at least
``ABSTRACT_MIN_WORDS`` words, sharing less than ``ABSTRACT_SHARED`` of the shorter one's words) veto a
match, except where the rest of the evidence is strong (the same identifier, or the same first author
and a year at most one apart on both sides): then the match is uncertain (review). An entry without a
title (an incomplete draft) is the same work only by identifier, by the very same BibTeX text, or as
another entry without a title with the same citation key, authors, year and type; the same first
author, year and pages make it a candidate for review.
"""
from __future__ import annotations

from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field

from django.db import connection
from rapidfuzz import fuzz, process

from apps.studies.keys import full_title_key
from apps.studies.models import Authorship, Study

from .prepare import Features, entry_digest, features

UPPER = 92.0
LOWER = 80.0
AUTHOR_SIMILAR = 90.0  # first authors whose family names are this similar make a match uncertain, not impossible
WEAK_TITLE_WORDS = 3   # a title of at most this many words is no evidence without authors
# Abstracts: words of 4+ letters of the first ABSTRACT_CHARS characters; measured on the 127 abstracts of the
# shared RIS files (docs/imports.md): two different abstracts share at most 40% of the shorter one's words
# (p99 28%), an abstract and a cut, relabelled or re-punctuated copy of it at least 95%.
ABSTRACT_CHARS = 3000
ABSTRACT_MIN_WORDS = 8
ABSTRACT_SHARED = 0.5

STUDY_VALUES = ("id", "title", "subtitle", "year", "doi", "pmid", "isbn", "pages", "edition", "chapter", "volume",
                "study_type", "source_key", "title_key", "abstract")
IN_BATCH = 500


class Candidate:
    """A study (``study_id``) or an entry of this file not written yet (``entry_index``) to compare with.

    Stored studies come with their raw values; their :class:`Features` (folded title etc.) are computed
    only when an entry is actually compared with them.
    """

    __slots__ = ("study_id", "entry_index", "_features", "_fields", "_authors")

    def __init__(self, features: Features | None = None, study_id: int | None = None,
                 entry_index: int | None = None, fields: dict | None = None, author_keys: tuple = ()):
        self.study_id, self.entry_index = study_id, entry_index
        self._features, self._fields, self._authors = features, fields, author_keys

    @property
    def features(self) -> Features:
        if self._features is None:
            self._features = features(self._fields, author_keys=self._authors)
        return self._features

    def index_keys(self):
        """(doi, pmid, isbn, title_key, first author, year, citation key) without computing the features."""
        if self._features is not None:
            f = self._features
            return f.doi, f.pmid, f.isbn, f.title_key, f.first_author, f.year, f.key
        d = self._fields
        return ((d["doi"] or "").lower(), d["pmid"] or "", d["isbn"] or "", d["title_key"],
                self._authors[0] if self._authors else "", d["year"], d["source_key"] or "")


@dataclass
class Match:
    candidate: Candidate
    rule: str
    certain: bool
    score: float | None = None
    reasons: list[str] = field(default_factory=list)


def _batches(values, size=IN_BATCH):
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i:i + size]


def load_candidates(wanted: list[Features], blocks: "AuthorBlocks | None" = None) -> list[Candidate]:
    """Every stored study that might match one of ``wanted``, found through indexes only: DOI, PMID, ISBN
    and title key directly; and through the first author's family key (see :class:`AuthorBlocks`) the
    studies of a year at most one apart whose title is not too different."""
    dois = {f.doi for f in wanted if f.doi}
    pmids = {f.pmid for f in wanted if f.pmid}
    isbns = {f.isbn for f in wanted if f.isbn}
    title_keys = {f.title_key for f in wanted if f.title_key}
    untitled_keys = {f.key for f in wanted if not f.title and f.key}
    db = _lookups()
    rows = {}
    for column, values in (("doi", dois), ("pmid", pmids), ("isbn", isbns), ("title_key", title_keys)):
        if values:
            rows.update((row[0], row) for row in db.studies_by(column, values))
    if untitled_keys:  # incomplete drafts have no title to find them by: their citation key does
        for batch in _batches(untitled_keys):
            rows.update((row[0], row) for row in Study.objects.incomplete().filter(source_key__in=batch)
                        .order_by().values_list(*STUDY_VALUES))
    raws = {}
    untitled_texts = {f.raw for f in wanted if not f.title and not f.key and f.raw}
    if untitled_texts:  # neither a title nor a key: the very same entry text (a file imported again) finds them
        for row in (Study.objects.incomplete().filter(source_key="").order_by()
                    .values_list(*STUDY_VALUES, "source_entry").iterator(chunk_size=1000)):
            digest = entry_digest(row[-1])
            if digest in untitled_texts:
                rows[row[0]], raws[row[0]] = row[:-1], digest
    ids = [i for i in (blocks or AuthorBlocks()).candidates(wanted) if i not in rows]
    if ids:
        rows.update((row[0], row) for row in db.studies_by("id", ids))
    if not rows:
        return []
    families = dict(db.author_keys(list(rows)))
    out = [Candidate(study_id=row[0], fields=dict(zip(STUDY_VALUES, row)), author_keys=families.get(row[0], ()))
           for row in rows.values()]
    for c in out:
        if c.study_id in raws:
            c.features.raw = raws[c.study_id]
    return out


PREFILTER = LOWER - 10  # on the indexed 200-character title keys, before the full comparison


class AuthorBlocks:
    """Stored studies by their first author's folded family name and year: (id, title key) per block.

    Two ways to fill it, chosen by the importer:

    * :meth:`preload` reads every block in one query (a large file against a database of moderate
      size: a 50k-entry file touches most names anyway, and one scan is far cheaper than a lookup per
      chunk; memory grows with the database, not with the file);
    * otherwise a block (family key, year) is looked up the first time an entry needs it (on PostgreSQL
      the partial index on the first author's family key and study year, ``authorship_first_block``) and kept
      for the rest of the job, least recently used names dropped beyond ``MAX_ROWS``.

    An entry needs the blocks of its year and the years next to it. Studies the job writes are added
    as it goes; the blocks of a name whose studies the job changed are looked up again. Only studies
    whose title keys are at least ``PREFILTER`` similar are fetched for the full comparison.
    """

    MAX_ROWS = 50_000  # lazily filled: least recently used names are dropped beyond this

    def __init__(self):
        self.by_key: OrderedDict[str, dict] = OrderedDict()  # family key -> year -> [(study id, title key)]
        self.rows = 0
        self.complete = False  # every block is loaded (preload): a missing block is an empty one
        self.stale: set[str] = set()  # names forgotten after a preload: looked up again when needed

    def preload(self):
        by_key = self.by_key
        by_key.clear()
        self.rows = 0
        for key, study_id, year, tkey in _lookups().all_first_authors():
            years = by_key.get(key)
            if years is None:
                years = by_key[key] = {}
            block = years.get(year)
            if block is None:
                years[year] = [(study_id, tkey)]
            else:
                block.append((study_id, tkey))
            self.rows += 1
        self.complete, self.stale = True, set()

    def _loaded(self, key, year) -> bool:
        years = self.by_key.get(key)
        if years is not None and year in years:
            return True
        return self.complete and key not in self.stale

    def candidates(self, wanted: list[Features]) -> set[int]:
        needed = {(f.first_author, y) for f in wanted if f.first_author and f.year is not None
                  for y in (f.year - 1, f.year, f.year + 1)}
        by_key = self.by_key
        missing = {b for b in needed if not self._loaded(*b)}
        if not self.complete:
            for key in {k for k, _ in needed} & by_key.keys():
                by_key.move_to_end(key)
        if missing:
            for key, year in missing:
                by_key.setdefault(key, {})[year] = []
            for key, study_id, year, tkey in _lookups().first_author_studies(missing):
                by_key[key][year].append((study_id, tkey))
                self.rows += 1
            names = {k for k, _ in needed}
            while not self.complete and self.rows > self.MAX_ROWS and len(by_key) > len(names):
                _, years = by_key.popitem(last=False)
                self.rows -= sum(len(rows) for rows in years.values())
        ids = set()
        empty = {}
        for f in wanted:
            if not f.first_author or f.year is None:
                continue
            years = by_key.get(f.first_author, empty)
            for year in (f.year - 1, f.year, f.year + 1):
                rows = years.get(year)
                if not rows:
                    continue
                if not f.title_key:  # an entry without a title is compared by author, year and pages
                    ids.update(study_id for study_id, _ in rows)
                    continue
                # a common name's block holds hundreds of studies a year at 1M: compare in one C call
                for _, _, i in process.extract(f.title_key, [tkey for _, tkey in rows], scorer=fuzz.ratio,
                                               score_cutoff=PREFILTER, limit=None):
                    ids.add(rows[i][0])
        return ids

    def add(self, key: str, study_id: int, year, tkey: str):
        if year is None:
            return
        years = self.by_key.get(key)
        rows = years.get(year) if years is not None else None
        if rows is None and self.complete and key not in self.stale:
            rows = self.by_key.setdefault(key, {}).setdefault(year, [])
        if rows is not None:  # a block not loaded yet will find the study in the database
            rows.append((study_id, tkey))
            self.rows += 1

    def forget(self, key: str):
        years = self.by_key.pop(key, None)
        if years is not None:
            self.rows -= sum(len(rows) for rows in years.values())
        if self.complete:
            self.stale.add(key)


def _lookups():
    return _PostgresLookups() if connection.vendor == "postgresql" else _OrmLookups()


class _OrmLookups:
    """Candidate queries through the ORM (SQLite and other databases), in batches of ``IN_BATCH`` values."""

    def studies_by(self, column, values):
        for batch in _batches(values):
            qs = Study.objects.filter(**{f"{column}__in": batch}).order_by()
            if column in ("doi", "pmid", "isbn"):
                qs = qs.exclude(**{column: ""})
            yield from qs.values_list(*STUDY_VALUES)

    def first_author_studies(self, blocks):
        """(family key, study id, year, title key) of the studies in the (family key, year) ``blocks``."""
        blocks = set(blocks)
        for batch in _batches({key for key, _ in blocks}):
            for row in (Authorship.objects.filter(position=1, family_key__in=batch).order_by()
                        .values_list("family_key", "study_id", "study__year", "study__title_key")):
                if (row[0], row[2]) in blocks:
                    yield row

    def all_first_authors(self):
        return (Authorship.objects.filter(position=1, study__year__isnull=False).order_by()
                .values_list("family_key", "study_id", "study__year", "study__title_key").iterator(chunk_size=5000))

    def author_keys(self, ids):
        keys = defaultdict(list)
        for batch in _batches(ids):
            for study_id, key in (Authorship.objects.filter(study_id__in=batch).order_by("study_id", "position")
                                  .values_list("study_id", "family_key")):
                keys[study_id].append(key)
        return [(study_id, tuple(k)) for study_id, k in keys.items()]


class _PostgresLookups:
    """The same queries on PostgreSQL with one array parameter each (``= ANY(...)``) instead of thousands
    of ``IN`` placeholders, which cost more to build and send than the lookups themselves."""

    SEP = "\x1f"  # keys and identifiers never hold control characters (prepare.clean_text)

    def _any(self, values, cast="text"):
        return f"= ANY(string_to_array(%s, chr(31))::{cast}[])", self.SEP.join(str(v) for v in values)

    def _fetch(self, sql, params):
        with connection.cursor() as cursor:
            cursor.execute(sql, params if isinstance(params, list) else [params])
            return cursor.fetchall()

    def studies_by(self, column, values):
        if not values:
            return []
        op, param = self._any(values, "bigint" if column == "id" else "text")
        extra = f' AND "{column}" <> \'\'' if column in ("doi", "pmid", "isbn") else ""  # the partial indexes
        cols = ", ".join(f'"{c}"' for c in STUDY_VALUES)
        return self._fetch(f'SELECT {cols} FROM "{Study._meta.db_table}" WHERE "{column}" {op}{extra}', param)

    def first_author_studies(self, blocks):
        # ``authorship_first_block`` (family key, the study's year; a first author's row only) covers the
        # study's id and title key, which triggers keep on that row (migrations studies/0007 and 0008): each
        # (name, year) block is one contiguous range of the index, read without touching a table. Joining
        # the study for its year read every study of the name (10x slower at 100k studies); joining it for
        # its title key cost one random read per candidate (at 1M: 210-320 ms per 300 entries, now 20 ms).
        keys, years = zip(*blocks) if blocks else ((), ())
        return self._fetch(
            f'SELECT a."family_key", a."study_id", a."study_year", a."study_title_key" '
            f'FROM unnest(string_to_array(%s, chr(31)), string_to_array(%s, chr(31))::smallint[]) AS b(k, y) '
            f'JOIN "{Authorship._meta.db_table}" a ON a."position" = 1 AND a."family_key" = b.k '
            f'AND a."study_year" = b.y',
            [self.SEP.join(keys), self.SEP.join(str(y) for y in years)])

    def all_first_authors(self):
        with connection.cursor() as cursor:
            cursor.execute(
                f'SELECT "family_key", "study_id", "study_year", "study_title_key" FROM "{Authorship._meta.db_table}" '
                f'WHERE "position" = 1 AND "study_year" IS NOT NULL')
            while rows := cursor.fetchmany(5000):
                yield from rows

    def author_keys(self, ids):
        op, param = self._any(ids, "bigint")
        rows = self._fetch(f'SELECT "study_id", array_agg("family_key" ORDER BY "position") '
                           f'FROM "{Authorship._meta.db_table}" WHERE "study_id" {op} GROUP BY "study_id"', param)
        return [(study_id, tuple(keys)) for study_id, keys in rows]


def isbn_decides(a: Features, b: Features) -> bool:
    return "book_chapter" not in (a.study_type, b.study_type) and not (a.chapter or b.chapter) \
        and not (a.pages and b.pages and a.pages != b.pages)


def _veto(f: Features, g: Features) -> str | None:
    if {f.study_type, g.study_type} == {"book", "book_chapter"}:
        return "type"  # a chapter and its book share title words, editors and year
    for name in ("doi", "pmid", "isbn", "pages", "edition", "chapter"):
        a, b = getattr(f, name), getattr(g, name)
        if a and b and a != b:
            return name
    if f.volume and g.volume and f.volume != g.volume and not (f.study_type == g.study_type == "article"):
        return "volume"
    return None


def _abstract_words(text: str) -> frozenset:
    return frozenset(w for w in full_title_key(text[:ABSTRACT_CHARS]).split() if len(w) >= 4)


def abstracts_differ(f: Features, g: Features) -> str | None:
    """Why the two abstracts are clearly not the same text (None when they are alike, or either is missing
    or too short to tell)."""
    if not f.abstract or not g.abstract or f.abstract == g.abstract:  # (a file imported again: equal)
        return None
    a, b = _abstract_words(f.abstract), _abstract_words(g.abstract)
    if len(a) < ABSTRACT_MIN_WORDS or len(b) < ABSTRACT_MIN_WORDS:
        return None
    shared = len(a & b) / min(len(a), len(b))
    return f"the abstracts differ (they share {shared:.0%} of their words)" if shared < ABSTRACT_SHARED else None


def _weak_title(title: str) -> bool:
    return title.count(" ") < WEAK_TITLE_WORDS  # at most WEAK_TITLE_WORDS folded words


def _compare_untitled(f: Features, g: Features) -> Match | None:
    """One side has no title (an incomplete draft): a title cannot be evidence. Identifiers were compared
    before (:meth:`CandidateIndex.find`); the very same entry text is the same entry, and so is an entry
    without a title with the same citation key, authors and year (e.g. kb's own export of it read back);
    the same first author, year and pages are worth a curator's look."""
    if f.raw and f.raw == g.raw:
        return Match(Candidate(g), "exact", True, 100.0, ["the same BibTeX entry"])
    if not f.title and not g.title and f.key and f.key == g.key and f.authors == g.authors and f.year == g.year \
            and f.study_type == g.study_type and not abstracts_differ(f, g):
        return Match(Candidate(g), "exact", True, 100.0, ["no titles: same citation key, authors and year"])
    if f.first_author and f.first_author == g.first_author and f.year is not None and f.year == g.year \
            and f.pages and f.pages == g.pages and not abstracts_differ(f, g):
        return Match(Candidate(g), "fuzzy", False, None, ["no title to compare: same first author, year and pages"])
    return None


def compare(f: Features, g: Features) -> Match | None:
    """How ``f`` (an entry) relates to ``g`` (a candidate): certain, uncertain, or no match (None)."""
    if _veto(f, g):
        return None
    if not f.title or not g.title:
        return _compare_untitled(f, g)
    reasons = []
    if f.year is not None and g.year is not None:
        if abs(f.year - g.year) > 1:
            return None
        year_ok = True
        if f.year != g.year:
            reasons.append(f"years differ by one ({f.year}, {g.year})")
    else:
        year_ok = None
        reasons.append("a year is missing")
    if f.first_author and g.first_author:
        if f.first_author == g.first_author:
            author_ok = True
        elif fuzz.ratio(f.first_author, g.first_author) >= AUTHOR_SIMILAR:
            author_ok = None
            reasons.append(f"first authors' names are similar, not equal ({f.first_author}, {g.first_author})")
        else:
            return None
    else:
        author_ok = None
        if f.first_author or g.first_author:
            reasons.append("one has no authors")
    score = 100.0 if f.title == g.title else round(fuzz.ratio(f.title, g.title), 1)
    if score < LOWER:
        return None
    if f.raw and f.raw == g.raw:
        return Match(Candidate(g), "exact", True, 100.0, ["the same BibTeX entry"])
    same_type = f.study_type == g.study_type or not (f.study_type and g.study_type)
    if not same_type:
        reasons.append(f"types differ ({f.study_type}, {g.study_type})")
    # evidence besides the title: authors, or (without authors) a year with a title that says something
    telling = bool(f.authors) or (f.year is not None and not _weak_title(f.title))
    if same_type and f.title == g.title and f.year == g.year and f.authors == g.authors and telling:
        return _unless_abstracts_differ(Match(Candidate(g), "exact", True, 100.0, ["same title, year and authors"]),
                                        f, g, strong=bool(year_ok and author_ok))
    if same_type and f.key and f.key == g.key and f.title == g.title and f.year == g.year \
            and (f.year is not None or f.authors or g.authors or not _weak_title(f.title)):
        match = Match(Candidate(g), "exact", True, 100.0, ["same citation key, title and year"])
        return _unless_abstracts_differ(match, f, g, strong=bool(year_ok and author_ok))
    numbers_ok = f.numbers == g.numbers
    if not numbers_ok:
        reasons.append("the numbers in the titles differ")
    if score >= UPPER and year_ok and author_ok and numbers_ok and same_type:
        return _unless_abstracts_differ(
            Match(Candidate(g), "fuzzy", True, score, reasons or ["similar title, same first author and year"]),
            f, g, strong=True)
    if score < UPPER:
        reasons.append(f"titles are similar, not the same ({score:.0f}/100)")
    elif not (f.authors or g.authors) and _weak_title(f.title):
        reasons.append("a short title and no authors: the title alone is not enough")
    return _unless_abstracts_differ(Match(Candidate(g), "fuzzy", False, score, reasons), f, g,
                                    strong=bool(year_ok and author_ok))


def _unless_abstracts_differ(m: Match, f: Features, g: Features, strong: bool) -> Match | None:
    """Clearly different abstracts: no match, or (``strong``: the rest of the evidence is strong) an
    uncertain one for a curator."""
    why = abstracts_differ(f, g)
    if why is None:
        return m
    if not strong:
        return None
    m.certain = False
    m.rule = "fuzzy" if m.rule == "exact" else m.rule
    m.reasons = [*m.reasons, why]
    return m


class CandidateIndex:
    """Candidates by identifier, title key and (first author, year), for one chunk (or a dry run)."""

    def __init__(self, candidates=()):
        self.by_doi, self.by_pmid, self.by_isbn = {}, {}, defaultdict(list)
        self.by_title = defaultdict(list)
        self.by_author = defaultdict(list)
        self.untitled_by_key = defaultdict(list)  # entries and studies without a title, by citation key
        self.untitled_by_text = defaultdict(list)  # ... and without a key, by the digest of their text
        for c in candidates:
            self.add(c)

    def add(self, c: Candidate):
        doi, pmid, isbn, title_key, first_author, year, key = c.index_keys()
        if doi:
            self.by_doi.setdefault(doi, c)
        if pmid:
            self.by_pmid.setdefault(pmid, c)
        if isbn:
            self.by_isbn[isbn].append(c)
        if title_key:
            self.by_title[title_key].append(c)
        elif key:
            self.untitled_by_key[key].append(c)
        elif (c._features is not None or c.study_id is None) and c.features.raw:
            self.untitled_by_text[c.features.raw].append(c)
        if first_author and year is not None:
            self.by_author[(first_author, year)].append(c)

    def find(self, f: Features) -> Match | None:
        """The best match for ``f``: a certain one if there is any, else the best uncertain one."""
        by_doi = self.by_doi.get(f.doi) if f.doi else None
        by_pmid = self.by_pmid.get(f.pmid) if f.pmid else None
        if by_doi is not None and by_pmid is not None and not _same(by_doi, by_pmid):
            return Match(by_doi, "doi", False, None, [
                f"the DOI {f.doi} and the PMID {f.pmid} belong to two different studies or entries"])
        if by_doi is not None:
            return _unless_abstracts_differ(Match(by_doi, "doi", True, None, [f"same DOI {f.doi}"]),
                                            f, by_doi.features, strong=True)
        if by_pmid is not None:
            return _unless_abstracts_differ(Match(by_pmid, "pmid", True, None, [f"same PMID {f.pmid}"]),
                                            f, by_pmid.features, strong=True)
        if f.isbn:
            same = [c for c in self.by_isbn.get(f.isbn, ()) if isbn_decides(f, c.features)]
            if same:
                best = max(same, key=lambda c: (fuzz.ratio(f.title, c.features.title), -_order(c)))
                return _unless_abstracts_differ(Match(best, "isbn", True, None, [f"same ISBN {f.isbn}"]),
                                                f, best.features, strong=True)
        seen = set()
        pool = list(self.by_title.get(f.title_key, ()) if f.title_key else self.untitled_by_key.get(f.key, ())
                    if f.key else self.untitled_by_text.get(f.raw, ()))
        if f.first_author and f.year is not None:
            for y in (f.year - 1, f.year, f.year + 1):
                pool.extend(self.by_author.get((f.first_author, y), ()))
        best = None
        for c in pool:
            if id(c) in seen:
                continue
            seen.add(id(c))
            m = compare(f, c.features)
            if m is None:
                continue
            m.candidate = c
            rank = (m.certain, m.rule == "exact", m.score or 0.0, -_order(c))
            if best is None or rank > best[0]:
                best = (rank, m)
        return best[1] if best else None


def _same(a: Candidate, b: Candidate) -> bool:
    if a.study_id is not None or b.study_id is not None:
        return a.study_id == b.study_id
    return a.entry_index == b.entry_index


def _order(c: Candidate) -> int:
    """Prefer stored studies (lowest id first), then earlier entries of the file."""
    if c.study_id is not None:
        return c.study_id
    return 10**15 + (c.entry_index or 0)
