"""crossref / xdata inheritance with biblatex's default rules.

Works on field dicts with lower-case names whose values are macro-resolved but not yet
LaTeX-decoded.  Child fields always win.  A parent ``title`` becomes the child's
``booktitle`` (book -> inbook, collection -> incollection, proceedings -> inproceedings),
``maintitle`` for multi-volume parents (mvbook, mvcollection, mvproceedings), and
``journaltitle`` for a periodical -> article.  Missing parents and cycles give warnings.
"""
from __future__ import annotations

from typing import Callable

__all__ = ["NO_INHERIT", "inherit", "Resolver"]

NO_INHERIT = frozenset((
    "ids", "crossref", "xref", "xdata", "entryset", "entrysubtype", "execute", "label", "options",
    "presort", "related", "relatedoptions", "relatedstring", "relatedtype", "shorthand",
    "shorthandintro", "sortkey",
))
_TITLE_EXTRAS = frozenset(("shorttitle", "sorttitle", "indextitle", "indexsorttitle"))
_MAIN = {"title": ("maintitle",), "subtitle": ("mainsubtitle",), "titleaddon": ("maintitleaddon",)}
_BOOK = {"title": ("booktitle",), "subtitle": ("booksubtitle",), "titleaddon": ("booktitleaddon",)}

# (parent types, child types, field map, suppress title extras)
_RULES = (
    ({"mvbook", "book"}, {"inbook", "bookinbook", "suppbook"}, {"author": ("author", "bookauthor")}, False),
    ({"mvbook"}, {"book", "inbook", "bookinbook", "suppbook"}, _MAIN, True),
    ({"mvcollection", "mvreference"},
     {"collection", "reference", "incollection", "inreference", "suppcollection"}, _MAIN, True),
    ({"mvproceedings"}, {"proceedings", "inproceedings", "conference"}, _MAIN, True),
    ({"book"}, {"inbook", "bookinbook", "suppbook"}, _BOOK, True),
    ({"collection", "reference"}, {"incollection", "inreference", "suppcollection"}, _BOOK, True),
    ({"proceedings"}, {"inproceedings", "conference"}, _BOOK, True),
    ({"periodical"}, {"article", "suppperiodical"},
     {"title": ("journaltitle",), "subtitle": ("journalsubtitle",)}, True),
)
_rule_cache: dict[tuple[str, str], tuple[dict, bool]] = {}


def _rules_for(ptype: str, ctype: str) -> tuple[dict, bool]:
    key = (ptype, ctype)
    got = _rule_cache.get(key)
    if got is None:
        mapping: dict[str, tuple[str, ...]] = {}
        suppress = False
        for parents, children, fmap, supp in _RULES:
            if ptype in parents and ctype in children:
                for f, targets in fmap.items():
                    mapping[f] = tuple(dict.fromkeys(mapping.get(f, ()) + targets))
                suppress = suppress or supp
        got = _rule_cache[key] = (mapping, suppress)
    return got


def inherit(ptype: str, parent: dict[str, str], ctype: str, child: dict[str, str]) -> dict[str, str]:
    """The child's fields completed from its crossref parent (child fields win)."""
    mapping, suppress = _rules_for(ptype.lower(), ctype.lower())
    out = dict(child)
    # same-name fields first: a parent's own booktitle beats its title mapped to booktitle
    for f, v in parent.items():
        if f in NO_INHERIT or f in mapping or (suppress and f in _TITLE_EXTRAS):
            continue
        if f not in out:
            out[f] = v
    for f, targets in mapping.items():
        v = parent.get(f)
        if v is None:
            continue
        for t in targets:
            if t not in out:
                out[t] = v
    return out


def _split_keys(value: str) -> list[str]:
    return [k.strip() for k in value.replace(";", ",").split(",") if k.strip()]


class Resolver:
    """Resolves crossref/xdata chains. ``lookup(key)`` -> (type, fields) or None."""

    MAX_DEPTH = 64

    def __init__(self, lookup: Callable[[str], tuple[str, dict[str, str]] | None]):
        self._lookup = lookup
        self._memo: dict[str, tuple[str, dict[str, str], tuple[str, ...]]] = {}
        self._visiting: list[str] = []

    def resolve(self, key: str, etype: str, fields: dict[str, str], warnings: list[str]) -> dict[str, str]:
        if "crossref" not in fields and "xdata" not in fields:
            return fields
        self._visiting = [key.lower()] if key else []
        try:
            return self._resolve(etype, fields, warnings, 0)
        finally:
            self._visiting = []

    def _parent(self, ref: str, warnings: list[str], depth: int, what: str):
        lk = ref.lower()
        if lk in self._visiting:
            chain = " -> ".join(self._visiting + [lk])
            warnings.append(f"{what} cycle ignored: {chain}")
            return None
        got = self._memo.get(lk)
        if got is not None:
            warnings.extend(got[2])
            return got[0], got[1]
        found = self._lookup(ref)
        if found is None:
            warnings.append(f"{what} target {ref!r} not found")
            return None
        ptype, pfields = found
        if depth >= self.MAX_DEPTH:
            warnings.append(f"{what} chain deeper than {self.MAX_DEPTH}: stopped at {ref!r}")
            return found
        self._visiting.append(lk)
        inner: list[str] = []
        try:
            resolved = self._resolve(ptype, pfields, inner, depth + 1)
        finally:
            self._visiting.pop()
        inner = [w if ("cycle" in w or w.startswith("via ")) else f"via {ref!r}: {w}" for w in inner]
        warnings.extend(inner)
        self._memo[lk] = (ptype, resolved, tuple(inner))
        return ptype, resolved

    def _resolve(self, etype: str, fields: dict[str, str], warnings: list[str], depth: int) -> dict[str, str]:
        out = fields
        xd = fields.get("xdata")
        if xd:
            for ref in _split_keys(xd):
                got = self._parent(ref, warnings, depth, "xdata")
                if got is not None:
                    merged = dict(out)
                    for f, v in got[1].items():
                        if f not in NO_INHERIT and f not in merged:
                            merged[f] = v
                    out = merged
        cr = fields.get("crossref")
        if cr and cr.strip():
            got = self._parent(cr.strip(), warnings, depth, "crossref")
            if got is not None:
                out = inherit(got[0], got[1], etype, out)
        return out
