"""Text helpers shared by every app (pure Python, no Django): safe-to-store text and ASCII folding.

``FOLDED_LETTERS`` is the one table of letters that Unicode decomposition does not fold to ASCII
(ø, æ, ß, ł, þ, ...); duplicate-detection keys (``apps.studies.keys``), the BibTeX codecs
(``biblio``) and the database search analysis (``search.analysis``) all fold with it.
"""
from __future__ import annotations

import re
import unicodedata

#: Letters without a Unicode decomposition to ASCII, and their ASCII spelling.
FOLDED_LETTERS = str.maketrans({
    "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "å": "a", "Å": "A", "ß": "ss", "đ": "d", "Đ": "D", "ł": "l",
    "Ł": "L", "þ": "th", "Þ": "TH", "ð": "d", "Ð": "D", "œ": "oe", "Œ": "OE", "ı": "i", "ŋ": "ng", "Ŋ": "NG",
})


def strip_accents(text: str) -> str:
    """``"Ødegård Skjærvø"`` -> ``"Odegard Skjaervo"``: the table above, then accents removed (case kept;
    letters of other scripts kept)."""
    if not text or text.isascii():
        return text or ""
    text = unicodedata.normalize("NFKD", text.translate(FOLDED_LETTERS))
    return "".join(c for c in text if not unicodedata.combining(c))


_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_BAD_CHARS = re.compile(r"[\x00\ud800-\udfff]")
_CONTROL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: str) -> str:
    """Text PostgreSQL can store: no NUL, no lone surrogates, no control characters but tab/newline."""
    if not value or value.isprintable() or not _UNSAFE.search(value):  # isprintable: a fast common case
        return value or ""
    if _BAD_CHARS.search(value):
        value = _BAD_CHARS.sub("\ufffd", value)
    if _CONTROL.search(value):
        value = _CONTROL.sub(" ", value)
    return value


_NEEDS_SQUASH = re.compile(r"\s\s|[^\S ]|^\s|\s$|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def squash(value: str) -> str:
    """Whitespace runs to one space, trimmed, and safe to store (see :func:`clean_text`)."""
    if not value:
        return ""
    # printable text holds no whitespace but the space and nothing unsafe: only double, leading or
    # trailing spaces can need work (this test is several times faster than the regular expression)
    if value.isprintable():
        if "  " not in value and value[0] != " " and value[-1] != " ":
            return value
    elif not _NEEDS_SQUASH.search(value):
        return value
    return " ".join(clean_text(value).split())
