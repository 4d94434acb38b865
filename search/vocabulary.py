"""The bilingual ROP vocabulary: Norwegian <-> English equivalences that expand search queries.

A query for ``ruslidelser`` also finds "substance use disorder", ``housing first`` also finds
"bolig først". The pairs are rows of ``VocabularyEntry`` (curators edit them in the admin); this
module seeds them and answers, for the plain words of a query, which other-language terms to add.
The backends decide how the expansions are searched and weighted (less than the typed words).

Matching uses the database backend's rule (``search/analysis.py``): a typed word meets a term's
word when any of their forms (itself, folded, Norwegian and English stems) are equal, so
``ruslidelser`` meets "ruslidelse" and ``disorders`` meets "disorder". Stop words are ignored on
both sides (``quality of life`` is the term "quality life"). Several consecutive words match a
multi-word term; longer terms win and their words are not matched again on their own, so
``housing first`` gives "bolig først", not "bolig".

The active pairs are held in memory, one immutable lookup per process, so expanding costs no
database query. It is rebuilt when the vocabulary changes: at once in the process that saved the
change, within ``RECHECK_SECONDS`` in others that share Django's cache (a version key bumped after
commit), and within ``MAX_AGE_SECONDS`` everywhere (a per-process cache such as the embedded
default's local memory cannot tell other processes).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from .analysis import forms, words as analyzed_words

logger = logging.getLogger(__name__)

VOCABULARY_FILE = Path(__file__).resolve().parent / "data" / "vocabulary.tsv"
MAX_EXPANSIONS = 8
RECHECK_SECONDS = 5.0
MAX_AGE_SECONDS = 60.0
VERSION_KEY = "kb:search:vocabulary-version"


@dataclass(frozen=True)
class Expansion:
    """An other-language term to search besides the typed words ``source``."""

    source: tuple[str, ...]  # the typed words it stands for, e.g. ("housing", "first")
    text: str  # the other-language term, e.g. "bolig først"
    language: str  # the language of ``text``: "nb" or "en"


def apply_expansions(query, exclude: Iterable[str] = ()) -> list[Expansion]:
    """Expand a parsed query's plain words in place: each ``Term`` gets the other-language terms that
    stand for it as ``alternatives`` (a multi-word source such as "housing first" gives its expansion
    to each of its words, so an all-words query is satisfied by the expansion alone), and the query
    keeps the list as ``expansions`` for the response ("also searched")."""
    plain = query.plain_terms()
    found = expansions([t.text for t in plain], exclude=exclude)
    for term in plain:
        own = set(analyzed_words(term.text))
        term.alternatives = [e.text for e in found if own & set(e.source)]
    query.expansions = [e for e in found if any(e.text in t.alternatives for t in plain)]
    return query.expansions


def expansions(words: list[str], exclude: Iterable[str] = (), *, limit: int = MAX_EXPANSIONS) -> list[Expansion]:
    """The other-language terms for a query's plain words (lower-cased, as typed, in order).

    Longer matches come first, then the query's order; each matched term contributes its
    equivalents in turn (the first of every term before the second of any), at most ``limit`` in
    all. A term the query already contains, and any text in ``exclude`` (terms a user removed; any
    case), is left out.
    """
    typed = [w for word in words for w in analyzed_words(word)]
    if not typed or limit <= 0:
        return []
    lookup = _current_lookup()
    typed_forms = [frozenset(forms(w)) for w in typed]
    dropped = {_normal(text) for text in exclude}
    matched = _longest_matches(lookup, typed_forms)
    pending = [(tuple(typed[start:start + length]), iter(targets)) for start, length, targets in matched]
    out, seen = [], set()
    while pending and len(out) < limit:
        still = []
        for source, targets in pending:
            for target in targets:
                key = _normal(target.text)
                if key in seen or key in dropped or _contained(target.words, typed_forms):
                    continue
                seen.add(key)
                out.append(Expansion(source=source, text=target.text, language=target.language))
                still.append((source, targets))
                break
            if len(out) >= limit:
                break
        pending = still
    return out


# --- the in-memory lookup -------------------------------------------------------------------------

@dataclass(frozen=True)
class _Target:
    text: str
    language: str
    words: tuple[frozenset[str], ...]  # forms of each of its words


@dataclass(frozen=True)
class _Term:
    words: tuple[frozenset[str], ...]
    targets: tuple[_Target, ...]  # its equivalents in the other language, in the order of the rows


@dataclass(frozen=True)
class _Lookup:
    by_form: dict[str, tuple[_Term, ...]]  # a form of a term's first word -> the terms


@dataclass(frozen=True)
class _Loaded:
    lookup: _Lookup
    version: object
    loaded_at: float
    checked_at: float


_loaded: _Loaded | None = None


def _current_lookup() -> _Lookup:
    global _loaded
    loaded, now = _loaded, time.monotonic()
    if loaded is not None and now - loaded.checked_at < RECHECK_SECONDS:
        return loaded.lookup
    version = _shared_version()
    if loaded is not None and version == loaded.version and now - loaded.loaded_at < MAX_AGE_SECONDS:
        _loaded = _Loaded(loaded.lookup, version, loaded.loaded_at, now)
        return loaded.lookup
    lookup = _build_lookup()
    _loaded = _Loaded(lookup, version, now, now)
    return lookup


def _build_lookup() -> _Lookup:
    from .models import VocabularyEntry

    sides: dict[tuple[str, str], tuple[tuple[frozenset[str], ...], list[_Target]]] = {}
    pairs = VocabularyEntry.objects.filter(active=True).order_by("id").values_list("term_nb", "term_en")
    for nb, en in pairs:
        nb_words, en_words = _analyzed(nb), _analyzed(en)
        if not nb_words or not en_words:
            continue
        for text, term_words, language, target in ((nb, nb_words, "nb", _Target(en, "en", en_words)),
                                                   (en, en_words, "en", _Target(nb, "nb", nb_words))):
            side = sides.setdefault((language, _normal(text)), (term_words, []))
            side[1].append(target)
    by_form: dict[str, list[_Term]] = {}
    for term_words, targets in sides.values():
        term = _Term(term_words, tuple(targets))
        for form in term_words[0]:
            by_form.setdefault(form, []).append(term)
    return _Lookup({form: tuple(terms) for form, terms in by_form.items()})


def _longest_matches(lookup: _Lookup, typed_forms: list[frozenset[str]]):
    """(start, length, targets) of the terms found in the typed words: longest first, then leftmost;
    a word inside a longer match is not matched again."""
    found: dict[tuple[int, int], list[_Target]] = {}
    for start, first in enumerate(typed_forms):
        terms = {id(t): t for form in first for t in lookup.by_form.get(form, ())}
        for term in terms.values():
            length = len(term.words)
            span = typed_forms[start:start + length]
            if len(span) == length and all(a & b for a, b in zip(span, term.words)):
                found.setdefault((start, length), []).extend(term.targets)
    taken: set[int] = set()
    out = []
    for (start, length), targets in sorted(found.items(), key=lambda item: (-item[0][1], item[0][0])):
        positions = set(range(start, start + length))
        if positions & taken:
            continue
        taken |= positions
        out.append((start, length, targets))
    return out


def _contained(target_words, typed_forms) -> bool:
    """Whether every word of a term is already among the typed words."""
    return all(any(w & t for t in typed_forms) for w in target_words)


def _analyzed(text: str) -> tuple[frozenset[str], ...]:
    return tuple(frozenset(forms(w)) for w in analyzed_words(text))


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


# --- invalidation ---------------------------------------------------------------------------------

def _shared_version():
    try:
        return cache.get(VERSION_KEY)
    except Exception:  # a cache outage must not break searching: fall back to MAX_AGE_SECONDS
        logger.warning("Cannot read the vocabulary version from the cache", exc_info=True)
        return None


def invalidate() -> None:
    """Forget this process's lookup now, and tell the others (through the cache) after commit."""
    reset()
    transaction.on_commit(_publish_change)


def reset() -> None:
    """Forget this process's lookup (the next expansion reloads it). Tests call it between tests,
    whose rolled-back rows a lookup built inside them would otherwise remember."""
    global _loaded
    _loaded = None


def _publish_change() -> None:
    reset()  # a lookup rebuilt inside the transaction may hold rows that were rolled back
    try:
        cache.set(VERSION_KEY, time.time_ns(), None)
    except Exception:
        logger.warning("Cannot publish the vocabulary version to the cache", exc_info=True)


def _entry_changed(sender, **kwargs):
    invalidate()


def connect() -> None:
    from .models import VocabularyEntry

    post_save.connect(_entry_changed, sender=VocabularyEntry, dispatch_uid="kb-vocabulary-saved")
    post_delete.connect(_entry_changed, sender=VocabularyEntry, dispatch_uid="kb-vocabulary-deleted")


# --- seeding --------------------------------------------------------------------------------------

_PARTS = re.compile(r"\s*,\s*|\s+(?:og|and)\s+")


def seed(path: Path | str = VOCABULARY_FILE) -> int:
    """Add the missing pairs of the data file and of the topic labels; returns how many were added.

    Idempotent. Never changes an existing row: a pair a curator edited (its ``seeded_as`` keeps the
    seeded spelling) or deactivated stays as the curator left it. A deleted seeded pair comes back
    (deactivate it instead).
    """
    from .models import VocabularyEntry

    known = set()
    for nb, en, seeded_as in VocabularyEntry.objects.values_list("term_nb", "term_en", "seeded_as"):
        known.add(_pair_key(nb, en))
        if seeded_as:
            known.add(seeded_as)
    new = []
    for nb, en, source in [*read_file(path), *topic_pairs()]:
        key = _pair_key(nb, en)
        if key in known or _equivalent(nb, en):
            continue
        known.add(key)
        new.append(VocabularyEntry(term_nb=nb, term_en=en, source=source, seeded_as=key))
    if new:
        with transaction.atomic():
            VocabularyEntry.objects.bulk_create(new, ignore_conflicts=True)
            invalidate()  # bulk_create sends no post_save
    return len(new)


def read_file(path: Path | str = VOCABULARY_FILE) -> list[tuple[str, str, str]]:
    """(nb, en, source) of the data file: ``nb<TAB>en[<TAB>source]`` lines after a header line;
    ``#`` starts a comment, blank lines are skipped, ``source`` defaults to "curated"."""
    rows = []
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    header_seen = False
    for number, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if not header_seen:
            header_seen = True
            continue
        cells = [" ".join(c.split()) for c in line.split("\t")]
        if len(cells) not in (2, 3) or not cells[0] or not cells[1]:
            raise ValueError(f"{path}, line {number}: expected 'nb<TAB>en[<TAB>source]', got {line!r}")
        source = cells[2] if len(cells) == 3 and cells[2] else "curated"
        if source not in ("glossary", "curated"):
            raise ValueError(f"{path}, line {number}: unknown source {source!r}")
        rows.append((cells[0], cells[1], source))
    return rows


def topic_pairs() -> list[tuple[str, str, str]]:
    """(nb, en, "topic") from every topic's labels, as terms ("Bolig" -> "bolig"). A label listing
    several things ("Angst, depresjon og rusmiddelbruk" / "Anxiety, depression and substance use")
    also gives one pair per part when both labels have the same number of parts."""
    from apps.topics.models import Topic

    out = []
    for nb, en in Topic.objects.order_by("id").values_list("label_nb", "label_en"):
        out.append((_as_term(nb), _as_term(en), "topic"))
        if "(" in nb or "(" in en:
            continue
        nb_parts, en_parts = _PARTS.split(nb.strip()), _PARTS.split(en.strip())
        if len(nb_parts) > 1 and len(nb_parts) == len(en_parts):
            out.extend((_as_term(a), _as_term(b), "topic") for a, b in zip(nb_parts, en_parts) if a and b)
    return out


def _as_term(label: str) -> str:
    """A label's first letter lower-cased unless the first word is an acronym ("ADHD og ...")."""
    label = " ".join(label.split())
    first = label.split(" ", 1)[0]
    if len(first) > 1 and first[1:2].islower():
        return label[:1].lower() + label[1:]
    return label


def _pair_key(nb: str, en: str) -> str:
    return f"{_normal(nb)}\t{_normal(en)}"


def _equivalent(nb: str, en: str) -> bool:
    """Whether the two terms are the same words to the analyzer (such a pair never expands)."""
    a, b = _analyzed(nb), _analyzed(en)
    return not a or not b or (len(a) == len(b) and all(x & y for x, y in zip(a, b)))
