"""The merge policy: what merging an entry into a study it matches changes (``fill``, ``skip``,
``overwrite``; docs/imports.md). One rule, read by the writer (:func:`changes`, the values it writes)
and by the pipelined decider (:func:`merged_view`, the values duplicate detection will see once a
chunk being written is committed).

* Nothing is ever blanked: an empty value in the entry changes nothing.
* ``fill`` writes a value only where the study has none; ``overwrite`` writes every value that differs.
* The date moves as one: a new year brings its month and day; a month only under the same year.
* Authors: the entry's list replaces the study's when the study has none (``fill``) or differs
  (``overwrite``).
"""
from __future__ import annotations

from typing import Callable

from apps.studies.keys import family_key, title_key
from apps.studies.models import Study

from .models import Policy
from .prepare import Prepared

#: Fields a merge may copy one by one (besides the date, the type, the venue, the source and authors).
MERGE_FIELDS = ("title", "subtitle", "abstract", "language", "volume", "issue", "pages", "publisher", "edition",
                "chapter", "doi", "pmid", "pmcid", "isbn", "url", "keywords")
#: Fields another study may already hold (unique columns): not copied then.
UNIQUE_FIELDS = ("doi", "pmid")
#: What the writer reads of a study it merges into.
MERGE_LOAD = ("id", "year", "month", "day", "study_type", "venue_id", "updated_at", "updated_by_id", "source_entry",
              "source_key") + MERGE_FIELDS


def is_empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _takes(value, old, fill: bool) -> bool:
    return not is_empty(value) and value != old and not (fill and not is_empty(old))


def merge_plan(stored: Callable[[str], object], p: Prepared, policy: str, *, venue_id=None,
               author_names: list | None = None, has_authors: bool = False) -> dict:
    """The values merging ``p`` writes into a study: field -> new value (``"venue"``: an id, ``"authors"``:
    the entry's authors). ``stored(name)`` reads the study's value; ``author_names`` are its printed
    authors (None when unknown: then only ``has_authors`` counts)."""
    fill = policy == Policy.FILL
    values = p.fields
    new = {name: values[name] for name in MERGE_FIELDS if _takes(values.get(name), stored(name), fill)}
    y, m, dd = values.get("year"), values.get("month"), values.get("day")
    year, month, day = stored("year"), stored("month"), stored("day")
    if y is not None:
        if year is None or (not fill and year != y):
            new.update({"year": y, "month": m, "day": dd})
        elif year == y and m is not None:
            if month is None or (not fill and month != m):
                new.update({"month": m, "day": dd})
            elif month == m and dd is not None and (day is None or (not fill and day != dd)):
                new["day"] = dd
    for k, old in (("year", year), ("month", month), ("day", day)):
        if k in new and new[k] == old:
            del new[k]
    if not fill and values.get("study_type") and values["study_type"] != stored("study_type"):
        new["study_type"] = values["study_type"]
    old_venue = stored("venue_id")
    if venue_id and venue_id != old_venue and (old_venue is None or not fill):
        new["venue"] = venue_id
    for name in ("source_entry", "source_key"):
        value, old = values.get(name) or "", stored(name)
        if value and value != old and (not fill or not old):
            new[name] = value
    has_authors = bool(author_names) if author_names is not None else has_authors
    same_names = author_names is not None and [a["name"] for a in p.authors] == author_names
    if p.authors and not same_names and (not has_authors or not fill):
        new["authors"] = p.authors
    return new


def changes(study, authors: list[dict], p: Prepared, policy: str, venue_id=None, check_unique=True):
    """(changes, previous values, warnings) of merging ``p`` into ``study`` (a row with ``MERGE_LOAD``)
    whose authors are ``authors``."""
    new = merge_plan(lambda name: getattr(study, name), p, policy, venue_id=venue_id,
                     author_names=[a["name"] for a in authors])
    warnings = []
    if check_unique:
        for name in UNIQUE_FIELDS:
            if name in new and Study.objects.filter(**{name: new[name]}).exclude(pk=study.id).exists():
                warnings.append(f"{name.upper()} {new[name]} belongs to another study: not copied")
                del new[name]
    previous = {}
    for name in new:
        if name == "venue":
            previous[name] = study.venue_id
        elif name == "authors":
            previous[name] = authors
        else:
            previous[name] = getattr(study, name)
    return new, previous, warnings


def merged_view(stored: dict, author_keys: tuple, p: Prepared, policy: str) -> tuple[dict, tuple]:
    """The matching values (``matching.STUDY_VALUES``) and first-author keys a stored study will have
    once ``p`` is merged into it (:func:`merge_plan`, limited to what duplicate detection reads)."""
    new = merge_plan(stored.get, p, policy, has_authors=bool(author_keys))
    out = dict(stored)
    out.update((name, value) for name, value in new.items() if name in stored)
    if out["title"] != stored.get("title") or out["subtitle"] != stored.get("subtitle"):
        out["title_key"] = title_key(out["title"], out["subtitle"])
    if "authors" in new:
        author_keys = tuple(family_key(a["family_name"]) for a in p.authors)
    return out, author_keys
