"""Hybrid ranking: one fusion step shared by both backends.

Each backend produces two ranked lists for a study search, under the same filters:

- the lexical ranking (BM25 over the words typed and their vocabulary expansions), and
- the semantic side: the ``POOL`` studies whose vectors lie nearest the query's vector.

A hit of a hybrid search is a study in either: it matches the words (as a lexical search would find
it) or it is among the ``POOL`` nearest in meaning. Totals, facet counts and pages all describe that
one set (docs/search.md, "What a hit is").

Order (``hybrid()``): a linear mix of the two scores, each scaled to 0..1 within its own list
(min-max), over the first ``WINDOW`` lexical hits and the ``KNN_K`` best semantic hits (chosen with
pseudo-relevance feedback, below): ``LEXICAL_WEIGHT * lexical + (1 - LEXICAL_WEIGHT) * semantic``, a
side that did not find the study counting 0. Lexical hits beyond the window follow in their lexical
order, then the rest of the pool. Scaling within the list makes the mix independent of each engine's score range
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
# Pseudo-relevance feedback on the semantic side (Rocchio): the query's vector moves towards the mean
# vector of the first FEEDBACK_DOCS fused hits, and the candidates (the lexical window and the POOL
# nearest studies) are scored again by their similarity to the moved vector; the KNN_K best of them are
# the semantic list. It needs no second search (the candidates' vectors are read by id), and measured on
# the SciFact training split it does what a second kNN search of the moved vector did: English nDCG@10
# 0.736 -> 0.738, Recall@100 0.945 -> 0.950; Norwegian 0.555 -> 0.556, 0.807 -> 0.835. 0 turns it off.
FEEDBACK_WEIGHT = float(os.environ.get("KB_SEARCH_FEEDBACK_WEIGHT", "0.5"))
FEEDBACK_DOCS = 3
RELATED_LEXICAL_WEIGHT = float(os.environ.get("KB_RELATED_LEXICAL_WEIGHT", "0.5"))  # "related studies"
KNN_K = int(os.environ.get("KB_SEARCH_KNN_K", "120"))   # semantic hits ranked by the fusion
# The nearest studies a hybrid search looks up (k of the kNN search): they are hits, and with feedback
# they are the candidates the moved vector chooses its KNN_K from (100: Norwegian Recall@100 0.810, 200:
# 0.835, 300: 0.840 = a whole second kNN search; English 0.950-0.953 throughout).
POOL = max(KNN_K, int(os.environ.get("KB_SEARCH_KNN_POOL", "200")))
# The lexical hits that take part in the fusion (the rest follow in lexical order), and KNN_K above:
# SciFact training split, hybrid with feedback, English nDCG@10 / Recall@100 on Elasticsearch and on
# the database backend (offline over the lists each backend returns, confirmed through the API):
# window 100, 100 semantic -> 0.737 / 0.9495 and 0.738 / 0.9501; 200, 100 -> 0.737 / 0.9504 and 0.739 /
# 0.9501; 150, 120 (chosen) -> 0.738 / 0.9508 and 0.739 / 0.9514; Norwegian unchanged (0.54-0.56 / 0.83).
WINDOW = int(os.environ.get("KB_SEARCH_FUSION_WINDOW", "150"))


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


def hybrid(lexical: list[tuple[int, float]], nearest: list[tuple[int, float]], query_vector, vectors_of,
           weight: float) -> list[Fused]:
    """The hybrid order of a study search, the same on both backends.

    ``lexical``: the word matches (id, score), best first (it may run past the window); ``nearest``: the
    ``POOL`` studies nearest the query's vector (id, similarity), best first; ``vectors_of(ids)``: id ->
    vector for the studies that have one. Every study of either list has a place in the result: the
    fused head (the lexical window and the semantic list), then the lexical tail, then the rest of the
    pool in order of similarity.
    """
    semantic = nearest[:KNN_K]
    fused = fuse(lexical, semantic, weight=weight)
    if FEEDBACK_WEIGHT and fused:
        candidates = list(dict.fromkeys([i for i, _ in lexical[:WINDOW]] + [i for i, _ in nearest]))
        held = vectors_of(candidates)
        moved = feedback_vector(query_vector, [held[f.id] for f in fused[:FEEDBACK_DOCS] if f.id in held])
        if moved is not None:
            semantic = _rescored(moved, held)[:KNN_K]
            fused = fuse(lexical, semantic, weight=weight)
    placed = {f.id for f in fused}
    return fused + [Fused(i, 0.0, None, rank) for rank, (i, _) in enumerate(nearest, start=1) if i not in placed]


def _rescored(vector, held) -> list[tuple[int, float]]:
    """(id, similarity to ``vector``) of the held vectors, best first."""
    import numpy as np

    if not held:
        return []
    ids = list(held)
    similarity = np.vstack([np.asarray(held[i], dtype=np.float32) for i in ids]) @ np.asarray(vector, np.float32)
    order = np.argsort(-similarity, kind="stable")
    return [(ids[k], float(similarity[k])) for k in order]


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
