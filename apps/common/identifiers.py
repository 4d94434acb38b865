"""Identifiers for the API and the models, on top of the one implementation in
``apps.imports.bibtex.identifiers``.

The importer wants ``""`` for anything invalid; a form or an API client wants to be told what is
wrong. So ``normalize_*`` here return the canonical form when the value is valid and the trimmed
input otherwise, and ``is_valid_*`` say which it was.
"""

import re

from apps.imports.bibtex import identifiers as canonical


def _keep(value, normalized):
    return normalized or " ".join((value or "").split())


def normalize_doi(value: str) -> str:
    """``https://doi.org/10.1000/ABC`` -> ``10.1000/abc``; ``""`` stays ``""``."""
    return _keep(value, canonical.normalize_doi(value))


def is_valid_doi(value: str) -> bool:
    return canonical.is_valid_doi(value)


def normalize_pmid(value: str) -> str:
    return _keep(re.sub(r"^pmid:?\s*", "", (value or "").strip(), flags=re.IGNORECASE),
                 canonical.normalize_pmid(value))


def is_valid_pmid(value: str) -> bool:
    return bool(value) and value.isdigit() and canonical.normalize_pmid(value) == value


def normalize_isbn(value: str) -> str:
    """The ISBN-13 form of a valid ISBN-10 or ISBN-13, or ``""`` when it is not valid."""
    return canonical.normalize_isbn(value)


def normalize_issn(value: str) -> str:
    """``0029-2001`` for a valid ISSN, ``""`` otherwise."""
    return canonical.normalize_issn(value)


def normalize_orcid(value: str) -> str:
    return _keep(value, canonical.normalize_orcid(value)).upper()


def is_valid_orcid(value: str) -> bool:
    return canonical.is_valid_orcid(value)
