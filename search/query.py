"""The query syntax of kb's search, parsed into a small tree that every backend translates.

    plain words        up to three words: all must match; a longer query finds every study that has any
                       of its words, ranked by BM25, so studies with most of them come first
    "quoted phrase"    the words in this order
    a OR b             either (binds the neighbouring clauses)
    -word, NOT word    must not match
    title: author: abstract: topic:   search one field (``title:"dual diagnosis"`` works too)
    doi:10.1000/xyz    an identifier
    year:2015..2020    a year or range (``year:2015``, ``year:..2010``, ``year:2018..``)
    treat*             words starting with "treat"

Malformed input never fails: an unbalanced quote becomes plain words, dangling operators are
dropped, control characters are removed, and an unknown ``field:`` is read as plain text.
"""

from __future__ import annotations

import dataclasses
import os
import re
import unicodedata
from dataclasses import dataclass, field

from .analysis import STOP_WORDS

MAX_QUERY_LENGTH = 1000
# Up to this many plain words, every word must match (a short query filters, and its counts are exact).
SHORT_QUERY = 3
# A longer query (a pasted title, claim or question) finds every study that has any of its words:
# the former cut-off (at least three words and 30 %) lost one relevant study in six from the first 100
# hits on SciFact. Precision comes from BM25 scoring alone: a bonus for studies with "most" of the
# words was measured and lowered nDCG@10 (bonus 0.3 x: 0.692 -> 0.683; 1.0 x: 0.680), see
# docs/benchmarks.md.
# A vocabulary expansion (ruslidelse -> "substance use disorder") counts this much of the typed word.
EXPANSION_WEIGHT = float(os.environ.get("KB_SEARCH_EXPANSION_WEIGHT", "0.5"))
MAX_CLAUSES = 32
FIELDS = {"title", "author", "abstract", "topic", "doi", "year", "keyword", "venue"}
FIELD_ALIASES = {"forfatter": "author", "tittel": "title", "sammendrag": "abstract", "tema": "topic",
                 "ti": "title", "au": "author", "ab": "abstract", "kw": "keyword", "år": "year"}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")
_TOKEN = re.compile(
    r'''(?P<neg>-)?(?:(?P<field>[^\W\d_][\w]*):)?(?:"(?P<phrase>[^"]*)"|(?P<word>[^\s"]+))|(?P<stray>")''',
    re.UNICODE,
)
_YEAR = re.compile(r"^(\d{4})?(?:(\.\.|-)(\d{4})?)?$")


_NORWEGIAN_ONLY = frozenset("""og i jeg det et den til er som på de med av ikke der så var seg men har om vi
hun nå over da ved fra ut sin dem opp kan hvor eller hva skal selv her alle vil bli ble blitt kunne inn når
være noen noe etter ned skulle denne mot å hos enn fordi før mange også slik vært både bare uten hvordan
ingen samme hvilke blant""".split())
_ENGLISH_ONLY = frozenset("""a an and are as at be but by if in into is it no not of on or such that the their
then there these they this to was will with from which were has have been""".split())


class QueryError(ValueError):
    """A query that cannot be read at all (too long). Everything else degrades instead."""


@dataclass
class Term:
    text: str
    field: str | None = None
    prefix: bool = False
    negated: bool = False
    #: other-language terms from the vocabulary that count as this word, with EXPANSION_WEIGHT
    alternatives: list[str] = dataclasses.field(default_factory=list)


@dataclass
class Phrase:
    text: str
    field: str | None = None
    negated: bool = False


@dataclass
class AnyOf:
    """A disjunction made with OR: at least one of the clauses matches."""

    clauses: list = field(default_factory=list)
    negated: bool = False


@dataclass
class ParsedQuery:
    raw: str = ""
    clauses: list = field(default_factory=list)  # Term | Phrase | AnyOf, combined with AND / min-should-match
    year_from: int | None = None
    year_to: int | None = None
    dois: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    expansions: list = field(default_factory=list)  # vocabulary.Expansion, shown as "also searched"

    @property
    def is_empty(self):
        return not self.clauses and not self.dois

    @property
    def positive(self):
        return [c for c in self.clauses if not c.negated]

    @property
    def negative(self):
        return [c for c in self.clauses if c.negated]

    def plain_terms(self):
        """Positive, unfielded, non-prefix words: the ones the minimum-should-match rule counts."""
        return [c for c in self.positive if isinstance(c, Term) and c.field is None and not c.prefix]

    @property
    def is_long(self):
        return len(self.plain_terms()) > SHORT_QUERY

    def required_count(self):
        """How many of the plain words must match: all of up to three words, one of a longer query."""
        n = len(self.plain_terms())
        return n if n <= SHORT_QUERY else min(n, 1)

    def semantic_text(self) -> str:
        """What a hybrid search embeds: the positive words and phrases as typed (not fields, ids or years)."""
        parts = []
        for clause in self.positive:
            for c in (clause.clauses if isinstance(clause, AnyOf) else [clause]):
                if c.field in (None, "title", "abstract", "topic", "keyword"):
                    parts.append(c.text.rstrip("*"))
        return " ".join(parts)

    def looks_norwegian(self) -> bool:
        """More Norwegian than English function words (or æ, ø, å) in what was typed: the lexical side of
        a hybrid search then counts less (search/fusion.py), since kb's literature is mostly English."""
        norwegian = english = 0
        for word in re.findall(r"[^\W\d_]+", self.raw):
            lower = word.lower()
            if word == "I":  # English "I", or "I-carnitine"; Norwegian "i" is written in lower case
                continue
            norwegian += lower in _NORWEGIAN_ONLY
            english += lower in _ENGLISH_ONLY
        norwegian += sum(self.raw.lower().count(c) for c in "æøå")
        return norwegian > english


def clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text or "")
    text = _CONTROL.sub(" ", text)
    return " ".join(text.split())


def _words(text):
    """Split free text into words the way the analyzers will (letters and digits)."""
    return re.findall(r"[^\W_]+", text)


def parse(raw: str) -> ParsedQuery:
    if raw is not None and len(raw) > MAX_QUERY_LENGTH:
        raise QueryError(f"The query is {len(raw)} characters long; the most is {MAX_QUERY_LENGTH}.")
    text = clean(raw)
    query = ParsedQuery(raw=text)
    if text.count('"') % 2:
        query.warnings.append("An unbalanced quote was ignored.")
        text = text.replace('"', " ")
    items = []  # ("OR",) / ("NOT",) / clause
    for m in _TOKEN.finditer(text):
        if m.group("stray"):
            continue
        negated = bool(m.group("neg"))
        fname = (m.group("field") or "").lower()
        fname = FIELD_ALIASES.get(fname, fname)
        phrase, word = m.group("phrase"), m.group("word")
        if m.group("field") and fname not in FIELDS:
            # "http://x" or "ratio:2" is text, not a field search
            word = f"{m.group('field')}:{word if word is not None else phrase}"
            fname, phrase = None, None
        if word in ("OR", "|", "||") and not fname and not negated:
            items.append(("OR",))
            continue
        if word in ("NOT", "AND", "&&") and not fname and not negated:
            items.append((word,))
            continue
        if fname == "year":
            if not _apply_year(query, (word or phrase or "").strip()):
                query.warnings.append(f"year:{word or phrase} is not a year or range; ignored.")
            continue
        if fname == "doi":
            from apps.common.identifiers import clean_doi

            value = clean_doi(word or phrase or "")
            if value:
                query.dois.append(value)
            continue
        if phrase is not None:
            words = _words(phrase)
            if not words:
                continue
            clause = Phrase(" ".join(words), field=fname or None, negated=negated) if len(words) > 1 else \
                Term(words[0], field=fname or None, negated=negated)
            items.append(clause)
            continue
        prefix = word.endswith("*") and len(word.strip("*")) >= 2
        words = _words(word)
        if not words:
            continue  # a lone "-" or "*" or punctuation
        if len(words) > 1:
            if fname or negated:  # title:covid-19, -covid-19: the parts in order
                items.append(Phrase(" ".join(words), field=fname or None, negated=negated))
            else:  # covid-19, 0-dimensional: the parts are words like any other
                items.extend(Term(w) for w in words if w.lower() not in STOP_WORDS)
            continue
        if not fname and not prefix and words[0].lower() in STOP_WORDS:
            continue  # "for", "the", "og": never indexed, so they must not count against the words required
        items.append(Term(words[0], field=fname or None, prefix=prefix, negated=negated))
    query.clauses = _combine(items)[:MAX_CLAUSES]
    return query


def _apply_year(query, value):
    m = _YEAR.match(value)
    if not m or not (m.group(1) or m.group(3)):
        return False
    start, sep, end = m.group(1), m.group(2), m.group(3)
    query.year_from = int(start) if start else None
    query.year_to = int(end) if end else (None if sep else int(start))
    if query.year_from and query.year_to and query.year_from > query.year_to:
        query.year_from, query.year_to = query.year_to, query.year_from
    return True


def _combine(items):
    """Apply NOT and OR; drop dangling operators."""
    out, pending_not, pending_or = [], False, False
    for item in items:
        if isinstance(item, tuple):
            if item[0] == "NOT":
                pending_not = True
            elif item[0] == "OR":
                pending_or = bool(out) and not out[-1].negated
            continue
        if pending_not:
            item.negated = True
            pending_not = False
        if pending_or and not item.negated:
            previous = out.pop()
            if isinstance(previous, AnyOf):
                previous.clauses.append(item)
                out.append(previous)
            else:
                out.append(AnyOf([previous, item]))
        else:
            out.append(item)
        pending_or = False
    return out
