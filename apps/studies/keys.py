"""Normalized keys for duplicate detection and author matching (pure Python, no Django).

* ``fold("Ødegård")`` -> ``"odegard"``: Nordic letters and accents folded, case folded; letters of
  other scripts (Greek, Cyrillic, CJK) are kept, so a non-Latin title still has a key.
* ``title_key(title, subtitle)``: folded words of title and subtitle joined by single spaces, so
  ``"Rus og {P}sykisk helse: en studie"`` and ``"Rus og psykisk helse - En studie"`` share a key.
* ``family_key("van der Berg")`` -> ``"vanderberg"``; ``initials("Kari M.")`` -> ``"km"``.
"""
from __future__ import annotations

import re
from functools import lru_cache

from apps.common.text import strip_accents

_NOT_WORD = re.compile(r"[\W_]+")
_ASCII_WORDS = re.compile(r"[^a-z0-9]+")

TITLE_KEY_LENGTH = 200
FAMILY_KEY_LENGTH = 100


def fold(text: str) -> str:
    """Lower-case text without accents; æ -> ae, ø -> o, å -> a (as Norwegian names are written in ASCII)."""
    if not text:
        return ""
    if text.isascii():
        return text.lower()
    return strip_accents(text).casefold()


def title_key(title: str, subtitle: str = "") -> str:
    """The words of title and subtitle, folded, joined by single spaces (never longer than 200)."""
    text = f"{title or ''} {subtitle or ''}"
    folded = fold(text)
    if folded.isascii():
        key = " ".join(_ASCII_WORDS.split(folded)).strip()
    else:
        key = " ".join(_NOT_WORD.split(folded)).strip()
    return key[:TITLE_KEY_LENGTH]


def full_title_key(title: str, subtitle: str = "") -> str:
    """Like :func:`title_key` without the length limit (for comparing titles)."""
    folded = fold(f"{title or ''} {subtitle or ''}")
    pattern = _ASCII_WORDS if folded.isascii() else _NOT_WORD
    return " ".join(pattern.split(folded)).strip()


@lru_cache(maxsize=50_000)
def family_key(family: str) -> str:
    """``"Ødegård"`` / ``"Odegard"`` / ``"{\\O}deg{\\aa}rd"`` decoded -> ``"odegard"``."""
    return _NOT_WORD.sub("", fold(family or ""))[:FAMILY_KEY_LENGTH]


def initials(given: str) -> str:
    """``"Kari Marie"`` / ``"K. M."`` / ``"K.M."`` / ``"Kari-Marie"`` -> ``"km"``."""
    return "".join(part[0] for part in _NOT_WORD.split(fold(given or "")) if part)


def first_given(given: str) -> str:
    """The first given name when it is written out (``"Kari"`` of ``"Kari M."``), else ``""``."""
    parts = [p for p in re.split(r"[\s.\-]+", given or "") if p]
    if not parts:
        return ""
    word = _NOT_WORD.sub("", fold(parts[0]))
    return word if len(word) > 1 else ""
