"""The query parser: what a user types becomes the clauses every backend translates."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search.query import MAX_QUERY_LENGTH, AnyOf, Phrase, QueryError, Term, parse


def test_plain_words_and_minimum_should_match():
    q = parse("integrated treatment for dual disorders")
    assert [c.text for c in q.clauses] == ["integrated", "treatment", "dual", "disorders"]  # "for" is a stop word
    # a long query (a pasted claim or question) is not cut off: any of its words makes a hit, BM25 ranks
    assert q.is_long and q.required_count() == 1
    assert parse("act fact").required_count() == 2
    assert parse("integrated dual treatment").required_count() == 3  # up to three words: all of them
    assert not parse("integrated dual treatment").is_long
    assert len(parse(" ".join(f"w{i}" for i in range(20))).plain_terms()) == 20
    assert parse(" ".join(f"w{i}" for i in range(20))).required_count() == 1


def test_phrases_or_not_fields_years_prefix_doi():
    q = parse('"assertive community" housing OR bolig -alcohol NOT cannabis title:fact author:"Ødegård" '
              'year:2015..2020 psyk* doi:https://doi.org/10.1000/ABC')
    kinds = [(type(c).__name__, getattr(c, "text", None), getattr(c, "field", None), c.negated) for c in q.clauses]
    assert kinds[0] == ("Phrase", "assertive community", None, False)
    assert isinstance(q.clauses[1], AnyOf) and [c.text for c in q.clauses[1].clauses] == ["housing", "bolig"]
    assert ("Term", "alcohol", None, True) in kinds and ("Term", "cannabis", None, True) in kinds
    assert ("Term", "fact", "title", False) in kinds and ("Term", "Ødegård", "author", False) in kinds
    assert (q.year_from, q.year_to) == (2015, 2020)
    assert any(isinstance(c, Term) and c.prefix and c.text == "psyk" for c in q.clauses)
    assert q.dois == ["10.1000/abc"]


@pytest.mark.parametrize("text,expected", [("year:2019", (2019, 2019)), ("year:..2010", (None, 2010)),
                                           ("year:2018..", (2018, None)), ("year:2020..2015", (2015, 2020))])
def test_year_forms(text, expected):
    q = parse(text)
    assert (q.year_from, q.year_to) == expected and q.is_empty


def test_degrades_instead_of_failing():
    q = parse('"unbalanced quote here')
    assert [c.text for c in q.clauses] == ["unbalanced", "quote", "here"] and q.warnings
    assert parse("OR treatment OR").clauses == [Term("treatment")]
    assert parse("treatment NOT").clauses == [Term("treatment")]
    assert [c.text for c in parse("x\x00y\x07z").clauses] == ["x", "y", "z"]
    assert parse("http://example.org/x").clauses  # not a field: text
    assert parse("year:soon").warnings


def test_hyphenated_words():
    assert parse("covid-19").clauses == [Term("covid"), Term("19")]
    assert parse("title:covid-19").clauses == [Phrase("covid 19", field="title")]


def test_too_long_is_an_error():
    with pytest.raises(QueryError):
        parse("x" * (MAX_QUERY_LENGTH + 1))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_parses(text):
    q = parse(text)
    assert len(q.clauses) <= 32


def test_a_query_typed_in_norwegian_is_recognised():
    assert parse("Røyking i svangerskapet øker risikoen for astma hos barn").looks_norwegian()
    assert parse("behandling av ruslidelser").looks_norwegian()
    assert not parse("Smoking during pregnancy increases the risk of asthma").looks_norwegian()
    assert not parse("Omnivores produce more trimethylamine N-oxide from dietary I-carnitine").looks_norwegian()
