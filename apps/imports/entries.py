"""A read BibTeX entry on its way through an import: prepared values, then a decision and its outcome.

Nothing here touches the database, so the read-ahead thread and the reader process
(:mod:`apps.imports.reader_process`) prepare entries with :func:`prepare_entries` without loading the
rest of the import engine.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .models import Outcome
from .prepare import EntryFailed, Prepared, prepare, prepared_features

if TYPE_CHECKING:  # the matching rules need the database: not loaded by the reader process
    from .matching import Match

log = logging.getLogger(__name__)


@dataclass
class Decision:
    """One entry: its prepared values, what was decided for it, and (once written) its outcome.

    A chunk's decisions belong to one thread at a time: the decider fills them, then hands the whole
    chunk to the writer, which completes them (study ids, messages) and hands them back."""

    index: int
    key: str
    line: int | None
    entry_type: str
    raw: str
    outcome: str
    prepared: Prepared | None = None
    match: "Match | None" = None
    study_id: int | None = None
    rule: str = ""
    score: float | None = None
    duplicate_of: int | None = None
    message: str = ""
    warnings: list = field(default_factory=list)
    changed_fields: list = field(default_factory=list)
    previous: dict = field(default_factory=dict)
    study_updated_at: object = None
    features: object = None
    file_position: int = 0

    def reset(self):
        """Forget an earlier decision of this (prepared) entry."""
        self.outcome, self.match, self.study_id, self.rule, self.score = Outcome.FAILED, None, None, "", None
        self.duplicate_of, self.message, self.study_updated_at = None, "", None
        self.changed_fields, self.previous = [], {}
        self.warnings = []

    def to_outcome(self, job_id: int) -> dict:
        """The outcome row (attnames -> values) of this decision."""
        p = self.prepared
        keep_raw = self.outcome in (Outcome.FAILED, Outcome.REVIEW)  # the others: the study, or the stored file
        return {
            "job_id": job_id, "index": self.index, "key": self.key[:255], "line": self.line,
            "file_position": self.file_position,
            "entry_type": self.entry_type[:40], "outcome": self.outcome, "study_id": self.study_id,
            "rule": self.rule, "score": self.score, "duplicate_of": self.duplicate_of,
            "changed_fields": self.changed_fields, "previous": self.previous,
            "study_updated_at": self.study_updated_at, "message": self.message[:5000],
            "warnings": (self.warnings or (p.warnings if p else []))[:50],
            "ambiguous_authors": (p.ambiguous_authors if p else [])[:50], "raw": self.raw if keep_raw else "",
        }


def prepare_entries(entries) -> list[Decision]:
    """Read entries -> decisions with prepared values (not decided yet; no database)."""
    out = []
    for e in entries:
        d = Decision(index=e.index, key=e.key or "", line=e.line, entry_type=e.entry_type or "",
                     raw=e.raw or "", outcome=Outcome.FAILED, file_position=e.source)
        try:
            p = prepare(e)
        except EntryFailed as exc:
            d.message = f"Line {e.line}: {exc}"
            d.warnings = list(e.warnings)[:50]
        except Exception as exc:  # a bug costs one entry, never the file
            log.exception("imports: preparing entry %s failed", e.index)
            d.message = f"Line {e.line}: internal error while preparing the entry: {type(exc).__name__}: {exc}"
        else:
            d.prepared = p
            d.raw = p.raw
            d.features = prepared_features(p)
        out.append(d)
    return out
