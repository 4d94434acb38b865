"""BM25 on the embedded default (SQLite FTS5): each word of a query is scored once.

A word is matched under every form kb indexes (itself, folded, its Norwegian and English stems), but
FTS5's BM25 sums over the tokens it is given: scored under all of them, a word found three ways
counted three times and drowned the rarer words of a long query (docs/benchmarks.md). These tests run
in the embedded-default stage of the test command (SQLite); elsewhere they are not collected.
"""

import pytest
from django.db import connection

from search.analysis import query_forms
from tests import factories
from tests.search.conftest import use_backend

pytestmark = pytest.mark.sqlite


@pytest.fixture
def backend(settings, db):
    b = use_backend(settings, "database")
    factories.study(title="Smokers who quit", abstract="Smoking cessation among smokers; smoke-free homes.")
    factories.study(title="Smokers and alcohol", abstract="Heavy smoking and drinking.")
    factories.study(title="Naltrexone for alcohol use disorder", abstract="A trial of naltrexone.")
    b.rebuild(["studies"])
    return b


def test_each_word_is_scored_under_the_one_form_most_studies_hold(backend):
    with connection.cursor() as cursor:
        terms = backend._scoring_terms(cursor, [query_forms("smoker"), query_forms("naltrexone"),
                                                query_forms("unheardofword")])
    assert len(terms) == 2  # one per word found; a word no study holds is not scored
    smoke_forms, naltrexone_forms = query_forms("smoker"), query_forms("naltrexone")
    assert terms[0] in smoke_forms and terms[0].startswith("0")  # the stem: "smoking" and "smokers" hold it
    assert terms[1] in naltrexone_forms

