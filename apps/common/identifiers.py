"""Normalizing and validating bibliographic and person identifiers (DOI, PMID, ISBN, ISSN, ORCID)."""

import re

_DOI_PREFIX = re.compile(r"^(?:https?://)?(?:dx\.)?(?:doi\.org/)|^doi:\s*", re.IGNORECASE)
_DOI_SHAPE = re.compile(r"^10\.\d{4,9}/\S+$")


def normalize_doi(value: str) -> str:
    """``https://doi.org/10.1000/ABC`` -> ``10.1000/abc``; ``""`` stays ``""``."""
    value = (value or "").strip()
    previous = None
    while previous != value:  # strip nested prefixes like "doi: https://doi.org/..."
        previous = value
        value = _DOI_PREFIX.sub("", value).strip()
    return value.lower()


def is_valid_doi(value: str) -> bool:
    return bool(_DOI_SHAPE.match(value))


def normalize_pmid(value: str) -> str:
    value = (value or "").strip()
    value = re.sub(r"^(?:pmid:?\s*)", "", value, flags=re.IGNORECASE)
    return value


def is_valid_pmid(value: str) -> bool:
    return value.isdigit() and 1 <= len(value) <= 9


def _isbn13_check(digits12: str) -> str:
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits12))
    return str((10 - total % 10) % 10)


def normalize_isbn(value: str) -> str:
    """Return the ISBN-13 form of a valid ISBN-10 or ISBN-13, or ``""`` when it is not valid."""
    raw = re.sub(r"[\s\-]", "", (value or "")).upper()
    raw = re.sub(r"^ISBN(?:-1[03])?:?", "", raw)
    if len(raw) == 10 and re.fullmatch(r"\d{9}[\dX]", raw):
        total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(raw))
        if total % 11:
            return ""
        body = "978" + raw[:9]
        return body + _isbn13_check(body)
    if len(raw) == 13 and raw.isdigit() and raw[:3] in ("978", "979"):
        return raw if _isbn13_check(raw[:12]) == raw[12] else ""
    return ""


def normalize_issn(value: str) -> str:
    raw = re.sub(r"[\s\-]", "", (value or "")).upper()
    if not re.fullmatch(r"\d{7}[\dX]", raw):
        return ""
    total = sum((8 - i) * int(c) for i, c in enumerate(raw[:7]))
    check = (11 - total % 11) % 11
    if ("X" if check == 10 else str(check)) != raw[7]:
        return ""
    return f"{raw[:4]}-{raw[4:]}"


_ORCID_SHAPE = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")


def normalize_orcid(value: str) -> str:
    value = (value or "").strip()
    value = re.sub(r"^(?:https?://)?(?:www\.)?orcid\.org/", "", value, flags=re.IGNORECASE)
    digits = value.replace("-", "").upper()
    if len(digits) == 16:
        value = "-".join(digits[i:i + 4] for i in range(0, 16, 4))
    return value.upper()


def is_valid_orcid(value: str) -> bool:
    """ORCID iD checksum (ISO 7064 11,2)."""
    if not _ORCID_SHAPE.match(value or ""):
        return False
    digits = value.replace("-", "")
    total = 0
    for c in digits[:-1]:
        total = (total + int(c)) * 2
    result = (12 - total % 11) % 11
    return digits[-1] == ("X" if result == 10 else str(result))
