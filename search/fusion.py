"""Hybrid ranking: one fusion step shared by both backends.

Each backend produces two ranked lists for a study search, under the same filters:

- the lexical ranking (BM25 over the words typed and their vocabulary expansions), and
- the semantic ranking: the ``KNN_K`` studies whose vectors lie nearest the query's vector.

A hit of a hybrid search is a study in either list: it matches the words (as a lexical search
would find it) or it is among the ``KNN_K`` nearest in meaning. Totals, facet counts and pages all
describe that one set (docs/search.md, "What a hit is").

Order: a linear mix of the two scores, each scaled to 0..1 within its own list (min-max), over the
first ``WINDOW`` lexical hits and the semantic hits: ``LEXICAL_WEIGHT * lexical + (1 - LEXICAL_WEIGHT)
* semantic``, a side that did not find the study counting 0. Lexical hits beyond the window follow in
their lexical order. Scaling within the list makes the mix independent of each engine's score range
(Lucene BM25, FTS5 BM25, PostgreSQL ts_rank; cosine similarity). Chosen on the SciFact training split
(bench/search_quality.py, docs/benchmarks.md): the mix at 0.5 gave nDCG@10 0.734 / Recall@100 0.948
where reciprocal rank fusion (k = 5..60, weights 0.5..2) reached at most 0.730 / 0.947.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

LEXICAL_WEIGHT = float(os.environ.get("KB_SEARCH_LEXICAL_WEIGHT", "0.5"))
# A query typed in Norwegian over a mostly English literature matches fewer words; the multilingual
# model carries more of it. Measured on the team's Norwegian SciFact claims: 0.5 -> nDCG@10 0.530,
# 0.4 -> 0.550 (offline, Elasticsearch lexical lists); English queries keep 0.5.
NORWEGIAN_LEXICAL_WEIGHT = float(os.environ.get("KB_SEARCH_NORWEGIAN_LEXICAL_WEIGHT", "0.4"))
# Pseudo-relevance feedback on the semantic side: the query's vector moves towards the mean vector of
# the first FEEDBACK_DOCS fused hits (Rocchio), and the nearest studies are looked up again. Measured on
# the SciFact training split: Recall@100 0.948 -> 0.952 (English), 0.832 -> 0.838 (Norwegian), nDCG@10
# -0.001 / -0.002; 0 turns it off.
FEEDBACK_WEIGHT = float(os.environ.get("KB_SEARCH_FEEDBACK_WEIGHT", "0.5"))
FEEDBACK_DOCS = 3
RELATED_LEXICAL_WEIGHT = float(os.environ.get("KB_RELATED_LEXICAL_WEIGHT", "0.5"))  # "related studies"
KNN_K = int(os.environ.get("KB_SEARCH_KNN_K", "100"))   # semantic hits per search
WINDOW = int(os.environ.get("KB_SEARCH_FUSION_WINDOW", "200"))  # lexical hits that take part in fusion


@dataclass(frozen=True)
class Fused:
    id: int
    score: float
    lexical_rank: int | None   # 1-based, None when the study did not match the words
    semantic_rank: int | None  # 1-based, None when it is not among the nearest


def fuse(lexical: list[tuple[int, float]], semantic: list[tuple[int, float]], window: int | None = None,
         weight: float | None = None) -> list[Fused]:
    """The hybrid order of ``lexical`` and ``semantic`` ((id, score) pairs, best first; the lexical list
    may run past the window)."""
    window = WINDOW if window is None else window
    weight = LEXICAL_WEIGHT if weight is None else weight
    lex_rank = {i: r for r, (i, _) in enumerate(lexical, start=1)}
    sem_rank = {i: r for r, (i, _) in enumerate(semantic, start=1)}
    lex_score = _scaled(lexical[:window])
    sem_score = _scaled(semantic)
    head = dict.fromkeys([i for i, _ in lexical[:window]])
    head.update(dict.fromkeys(i for i, _ in semantic))
    scored = [Fused(i, weight * lex_score.get(i, 0.0) + (1 - weight) * sem_score.get(i, 0.0),
                    lex_rank.get(i), sem_rank.get(i)) for i in head]
    scored.sort(key=lambda f: (-f.score, f.lexical_rank or 10**9, f.id))
    tail = [Fused(i, 0.0, lex_rank[i], None) for i, _ in lexical[window:] if i not in head]
    return scored + tail


def lexical_weight(query) -> float:
    """The lexical share of the fused score for this parsed query."""
    return NORWEGIAN_LEXICAL_WEIGHT if query.looks_norwegian() else LEXICAL_WEIGHT


def feedback_vector(query_vector, hit_vectors):
    """The query's vector moved towards the hits' mean vector (unit length), or None (no feedback)."""
    import numpy as np

    if not FEEDBACK_WEIGHT or not len(hit_vectors):
        return None
    moved = np.asarray(query_vector, dtype=np.float32) + FEEDBACK_WEIGHT * np.mean(
        np.asarray(hit_vectors, dtype=np.float32), axis=0)
    norm = float(np.linalg.norm(moved))
    return moved / norm if norm else None


def _scaled(pairs):
    """Scores scaled to 0..1 within the list (all equal: all 1)."""
    if not pairs:
        return {}
    values = [float(s or 0.0) for _, s in pairs]
    low, high = min(values), max(values)
    span = high - low
    return {i: ((float(s or 0.0) - low) / span if span else 1.0) for i, s in pairs}
