"""Normalization and validation of bibliographic identifiers.

Dependency-free (standard library only) so that model validators can import it.
Every ``normalize_*`` function returns the canonical form, or ``""`` when the value
is not a valid identifier of that kind; none of them raises on bad input.

* DOI   -> ``10.1234/abc`` lower-case, without ``https://doi.org/``, ``doi:`` or whitespace
* ISBN  -> 13 digits (ISBN-10 converted), checksum validated
* ISSN  -> ``1234-567X``, checksum validated
* PMID  -> digits
* PMCID -> ``PMC`` + digits
* ORCID -> ``0000-0002-1825-0097``, ISO 7064 11,2 checksum validated

The importer wants ``""`` for anything invalid; a form or an API client wants to be told what is
wrong. So ``clean_*`` (for typed input) return the canonical form when the value is valid and the
trimmed input otherwise, and ``is_valid_*`` say which it was.

The one implementation for the models, the API, search and the BibTeX codecs (``biblio``).
"""
from __future__ import annotations

import re
from urllib.parse import unquote

__all__ = [
    "normalize_doi", "doi_from_url", "is_valid_doi",
    "is_valid_isbn10", "is_valid_isbn13", "isbn10_to_isbn13", "normalize_isbn", "find_isbns",
    "is_valid_issn", "normalize_issn", "find_issns",
    "normalize_pmid", "normalize_pmcid",
    "orcid_checksum", "is_valid_orcid", "normalize_orcid",
    "clean_doi", "clean_pmid", "is_valid_pmid", "clean_orcid",
]

# --------------------------------------------------------------------------- typed input: shapes

#: What the API takes for each identifier: one regular expression both for its validation and for the OpenAPI
#: schema's ``pattern`` (``\Z`` is written ``$`` there; ASCII classes only, so that Python and ECMA-262 read
#: them alike). A value of the right shape whose check digit is wrong is refused with a 422
#: (``CHECKSUM`` below; apps.common.exceptions): no pattern can compute a check digit.
DOI_INPUT = r"^(https?://(dx\.|www\.)?doi\.org/|doi:)?10\.[0-9]{2,9}(\.[0-9]+)*/[!-$&-~]*[!-$&-+\-/-:<-~]\Z"
PMID_INPUT = r"^[1-9][0-9]{0,8}\Z"
ISBN_INPUT = r"^(([0-9][- ]?){9}[0-9Xx]|97[89]([- ]?[0-9]){10})\Z"
ORCID_INPUT = r"^(https?://(www\.)?orcid\.org/)?[0-9]{4}-?[0-9]{4}-?[0-9]{4}-?[0-9]{3}[0-9Xx]\Z"
ROR_INPUT = r"^0[0-9a-hjkmnp-tv-z]{6}[0-9]{2}\Z"  # 0, six of Crockford's base 32, two check digits

#: The validation error code of a wrong check digit (answered with a 422).
CHECKSUM = "checksum"

# --------------------------------------------------------------------------- DOI

_DOI_PREFIX = re.compile(
    r"^(?:(?:https?://)?(?:(?:dx\.|www\.)?doi\.org|doi\.acm\.org|dx\.medra\.org)/+|"
    r"(?:doi|info:doi/?)\s*[:/]\s*|doi\s+)",
    re.I,
)
_DOI_SHAPE = re.compile(r"^10\.\d{2,9}(?:\.\d+)*/\S+$")
_DOI_SIMPLE = re.compile(r"10\.\d{2,9}(?:\.\d+)*/[^\s%]*[^\s%.,;]$")
_DOI_IN_URL = re.compile(r"(?:https?://)?(?:dx\.|www\.)?doi\.org/+(10\.[^\s?#]+)", re.I)


def normalize_doi(value: str | None) -> str:
    """``https://doi.org/10.1000/ABC`` / ``doi:10.1000/abc`` / `` 10.1000/ABC `` -> ``10.1000/abc``."""
    if not value:
        return ""
    s = str(value)
    if s.startswith("10.") and _DOI_SIMPLE.match(s):  # fast path: already a bare DOI
        return s.lower()
    s = "".join(s.split())  # all whitespace, also inside (line-wrapped DOIs)
    for _ in range(3):  # "doi: https://doi.org/10..." happens
        new = _DOI_PREFIX.sub("", s)
        if new == s:
            break
        s = new
    if "%" in s:
        s = unquote(s)
    s = s.rstrip(".,;")
    s = s.lower()
    return s if _DOI_SHAPE.match(s) else ""


def is_valid_doi(value: str | None) -> bool:
    return bool(normalize_doi(value))


def doi_from_url(url: str | None) -> str:
    """The DOI in a ``https://doi.org/...`` / ``http://dx.doi.org/...`` URL, normalized; else ``""``."""
    if not url:
        return ""
    m = _DOI_IN_URL.search(url)
    return normalize_doi(m.group(1)) if m else ""


# --------------------------------------------------------------------------- ISBN

_ISBN_CLEAN = re.compile(r"[\s\-\u2010-\u2015.]")
_ISBN_CANDIDATE = re.compile(r"(?<![\dX])(?:97[89][\s\-]?)?(?:\d[\s\-]?){9}[\dXx](?![\dX])")


def _isbn_digits(value: str) -> str:
    s = _ISBN_CLEAN.sub("", str(value))
    s = re.sub(r"^(?i:isbn(?:-1[03])?):?", "", s)
    return s.upper()


def is_valid_isbn10(value: str | None) -> bool:
    if not value:
        return False
    s = _isbn_digits(value)
    if len(s) != 10 or not s[:9].isdigit() or not (s[9].isdigit() or s[9] == "X"):
        return False
    total = sum((10 - i) * int(c) for i, c in enumerate(s[:9]))
    total += 10 if s[9] == "X" else int(s[9])
    return total % 11 == 0


def is_valid_isbn13(value: str | None) -> bool:
    if not value:
        return False
    s = _isbn_digits(value)
    if len(s) != 13 or not s.isdigit() or not s.startswith(("978", "979")):
        return False
    return sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(s)) % 10 == 0


def isbn10_to_isbn13(value: str) -> str:
    """Convert a valid ISBN-10 to ISBN-13 (digits only). Raises ``ValueError`` if invalid."""
    if not is_valid_isbn10(value):
        raise ValueError(f"not a valid ISBN-10: {value!r}")
    core = "978" + _isbn_digits(value)[:9]
    check = (10 - sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(core)) % 10) % 10
    return core + str(check)


def normalize_isbn(value: str | None) -> str:
    """ISBN-10 or ISBN-13 in any spelling -> 13 digits; ``""`` when not a valid ISBN."""
    if not value:
        return ""
    s = _isbn_digits(value)
    if len(s) == 10 and is_valid_isbn10(s):
        return isbn10_to_isbn13(s)
    if len(s) == 13 and is_valid_isbn13(s):
        return s
    return ""


def find_isbns(text: str | None) -> list[str]:
    """All valid ISBNs in a free-text field (``"0-19-852663-6 (pbk.), 978-..."``), normalized, unique."""
    out: list[str] = []
    if not text:
        return out
    for m in _ISBN_CANDIDATE.finditer(str(text).upper()):
        n = normalize_isbn(m.group(0))
        if n and n not in out:
            out.append(n)
    return out


# --------------------------------------------------------------------------- ISSN

_ISSN_CANDIDATE = re.compile(r"(?<![\dX])(\d{4})\s*[-\u2010-\u2015]?\s*(\d{3}[\dXx])(?![\dX])")


def is_valid_issn(value: str | None) -> bool:
    return bool(normalize_issn(value))


def normalize_issn(value: str | None) -> str:
    """``03043975`` / ``0304-3975`` / ``ISSN 0304-3975`` -> ``0304-3975``; ``""`` when invalid."""
    if not value:
        return ""
    s = re.sub(r"^\s*(?i:e?issn(?:-l)?)\s*:?\s*", "", str(value)).strip()
    m = _ISSN_CANDIDATE.fullmatch(s)
    if not m:
        return ""
    digits = (m.group(1) + m.group(2)).upper()
    total = sum((8 - i) * int(c) for i, c in enumerate(digits[:7]))
    check = (11 - total % 11) % 11
    expected = "X" if check == 10 else str(check)
    return f"{digits[:4]}-{digits[4:]}" if digits[7] == expected else ""


def find_issns(text: str | None) -> list[str]:
    """All valid ISSNs in a free-text field (``"0304-3975 (print), 1879-2294 (electronic)"``)."""
    out: list[str] = []
    if not text:
        return out
    for m in _ISSN_CANDIDATE.finditer(str(text)):
        n = normalize_issn(m.group(1) + "-" + m.group(2))
        if n and n not in out:
            out.append(n)
    return out


# --------------------------------------------------------------------------- PubMed

_PMID = re.compile(r"^(?:pmid|pubmed)?\s*:?\s*(\d{1,9})$", re.I)
_PMID_URL = re.compile(r"(?:pubmed\.ncbi\.nlm\.nih\.gov|ncbi\.nlm\.nih\.gov/pubmed)/(\d{1,9})", re.I)
_PMCID = re.compile(r"^(?:pmcid\s*:?\s*)?(?:pmc)?\s*(\d{1,9})$", re.I)


def normalize_pmid(value: str | None) -> str:
    """``PMID: 12345678`` / ``https://pubmed.ncbi.nlm.nih.gov/12345678/`` -> ``12345678``."""
    if not value:
        return ""
    s = str(value).strip()
    m = _PMID_URL.search(s)
    if m:
        return m.group(1).lstrip("0") or ""
    m = _PMID.match(s)
    if not m:
        return ""
    digits = m.group(1).lstrip("0")
    return digits


def normalize_pmcid(value: str | None) -> str:
    """``pmc1234567`` / ``PMCID: PMC1234567`` / ``1234567`` -> ``PMC1234567``."""
    if not value:
        return ""
    s = str(value).strip()
    m = re.search(r"/(PMC\d{1,9})\b", s, re.I)
    if m:
        s = m.group(1)
    m = _PMCID.match(s)
    if not m:
        return ""
    digits = m.group(1).lstrip("0")
    return f"PMC{digits}" if digits else ""


# --------------------------------------------------------------------------- ORCID

_ORCID = re.compile(r"^(\d{4})-?(\d{4})-?(\d{4})-?(\d{3}[\dX])$")
_ORCID_PREFIX = re.compile(r"^(?:https?://)?(?:www\.|sandbox\.)?orcid\.org/|^orcid\s*:?\s*", re.I)


def orcid_checksum(base_digits: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 15 digits of an ORCID iD."""
    total = 0
    for c in base_digits:
        total = (total + int(c)) * 2
    result = (12 - total % 11) % 11
    return "X" if result == 10 else str(result)


def normalize_orcid(value: str | None) -> str:
    """``https://orcid.org/0000-0002-1825-0097`` -> ``0000-0002-1825-0097``; ``""`` if invalid."""
    if not value:
        return ""
    s = _ORCID_PREFIX.sub("", str(value).strip()).strip().upper()
    m = _ORCID.match(s)
    if not m:
        return ""
    digits = "".join(m.groups())
    if orcid_checksum(digits[:15]) != digits[15]:
        return ""
    return "-".join(m.groups())


def is_valid_orcid(value: str | None) -> bool:
    return bool(normalize_orcid(value))


# --------------------------------------------------------------------------- typed input (forms, API)

def _keep(value, normalized):
    return normalized or " ".join((value or "").split())


def clean_doi(value: str) -> str:
    """``https://doi.org/10.1000/ABC`` -> ``10.1000/abc``; not a DOI: the trimmed input."""
    return _keep(value, normalize_doi(value))


def clean_pmid(value: str) -> str:
    return _keep(re.sub(r"^pmid:?\s*", "", (value or "").strip(), flags=re.IGNORECASE), normalize_pmid(value))


def is_valid_pmid(value: str) -> bool:
    return bool(value) and value.isdigit() and normalize_pmid(value) == value


def clean_orcid(value: str) -> str:
    return _keep(value, normalize_orcid(value)).upper()
