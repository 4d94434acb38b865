"""The fusion step both backends share (search/fusion.py): pure functions over ranked lists."""

import numpy as np
import pytest

from search import fusion


def unit(*xs):
    v = np.asarray(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_a_study_found_both_ways_outranks_one_found_one_way():
    fused = fusion.fuse(lexical=[(1, 9.0), (2, 5.0), (3, 1.0)], semantic=[(2, 0.9), (4, 0.8), (5, 0.1)],
                        weight=0.5)
    assert fused[0].id == 2
    assert (fused[0].lexical_rank, fused[0].semantic_rank) == (2, 1)
    assert sorted(f.id for f in fused) == [1, 2, 3, 4, 5]


def test_lexical_hits_past_the_window_follow_in_lexical_order():
    lexical = [(i, 100.0 - i) for i in range(1, 8)]
    fused = fusion.fuse(lexical, semantic=[(50, 0.9)], window=3, weight=0.5)
    assert [f.id for f in fused[-4:]] == [4, 5, 6, 7]
    assert all(f.score == 0.0 and f.semantic_rank is None for f in fused[-4:])


@pytest.fixture
def space(monkeypatch):
    """A tiny vector space: the query points along x; studies 1-3 (the best word matches) and 9 point
    along y; 7 and 8 lie near the query. Two semantic hits are ranked, three studies are looked up."""
    monkeypatch.setattr(fusion, "KNN_K", 2)
    monkeypatch.setattr(fusion, "POOL", 3)
    monkeypatch.setattr(fusion, "FEEDBACK_DOCS", 3)
    vectors = {1: unit(0.2, 1, 0), 2: unit(0.2, 1, 0), 3: unit(0.2, 1, 0.1), 9: unit(0.3, 1, 0),
               7: unit(1, 0.1, 0), 8: unit(1, 0, 0.5), 6: unit(0.5, 0, 1)}
    query = unit(1, 0, 0)
    lexical = [(1, 9.0), (2, 8.0), (3, 7.0), (9, 1.0)]
    nearest = sorted(((i, float(vectors[i] @ query)) for i in (7, 8, 6)), key=lambda p: -p[1])
    return query, lexical, nearest, lambda ids: {i: vectors[i] for i in ids if i in vectors}


def test_every_hit_has_exactly_one_place(space):
    query, lexical, nearest, vectors_of = space
    fused = fusion.hybrid(lexical, nearest, query, vectors_of, weight=0.5)
    ids = [f.id for f in fused]
    assert len(ids) == len(set(ids))
    assert set(ids) == {i for i, _ in lexical} | {i for i, _ in nearest}


def test_feedback_lets_the_top_hits_choose_the_semantic_list(space, monkeypatch):
    query, lexical, nearest, vectors_of = space
    monkeypatch.setattr(fusion, "FEEDBACK_WEIGHT", 0.0)
    plain = {f.id: f for f in fusion.hybrid(lexical, nearest, query, vectors_of, weight=0.5)}
    monkeypatch.setattr(fusion, "FEEDBACK_WEIGHT", 5.0)
    moved = {f.id: f for f in fusion.hybrid(lexical, nearest, query, vectors_of, weight=0.5)}
    # without feedback the two nearest to the query are the semantic list; with it, the vector moves
    # towards the first hits, and the word matches most like them are the semantic hits instead
    assert {i for i, f in plain.items() if f.semantic_rank in (1, 2)} == {7, 8}
    assert {i for i, f in moved.items() if f.semantic_rank in (1, 2) and f.lexical_rank} == {9, 1}
    assert moved[9].score > plain[9].score
    # the studies of the pool that the moved vector leaves out are still hits, placed last
    assert set(moved) == set(plain)
    order = [f.id for f in fusion.hybrid(lexical, nearest, query, vectors_of, weight=0.5)]
    assert set(order[-3:]) == {6, 7, 8}


def test_studies_without_a_vector_take_no_part_in_the_feedback(space):
    query, lexical, nearest, _ = space
    fused = fusion.hybrid(lexical, nearest, query, lambda ids: {}, weight=0.5)
    assert [f.id for f in fused if f.semantic_rank == 1][0] == nearest[0][0]


def test_the_feedback_vector_is_a_unit_vector_or_none(monkeypatch):
    monkeypatch.setattr(fusion, "FEEDBACK_WEIGHT", 0.5)
    moved = fusion.feedback_vector(unit(1, 0), [unit(0, 1)])
    assert np.isclose(np.linalg.norm(moved), 1.0) and moved[1] > 0
    assert fusion.feedback_vector(unit(1, 0), []) is None
    monkeypatch.setattr(fusion, "FEEDBACK_WEIGHT", 0.0)
    assert fusion.feedback_vector(unit(1, 0), [unit(0, 1)]) is None
