"""apps/common/prepared.py: a query compiled once answers later calls with other ids as the ORM would."""

import datetime

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.common import prepared
from apps.studies.models import Study
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]


def _published(ids, newest_first):
    return (Study.objects.published().filter(prepared.InIds(F("id"), ids)).order_by("-year" if newest_first else "year")
            .values_list("id", "year", "keywords", "retracted", "published_at"))


def test_later_calls_run_the_compiled_query_with_their_own_ids():
    when = timezone.now() - datetime.timedelta(days=1)
    studies = [factories.study(year=2000 + i, keywords=[f"k{i}"], retracted=i % 2 == 0, published_at=when)
               for i in range(5)]
    draft = factories.study(status="draft")
    ids = [s.id for s in studies]
    for chosen in ([ids[0], ids[1]], [ids[3], ids[2]], [ids[4], draft.id], [ids[1], ids[2], ids[3]]):
        for newest_first in (True, False):
            got = prepared.rows(_published, chosen, newest_first)
            assert got == list(_published(chosen, newest_first)), (chosen, newest_first)
    # converted as the ORM converts: JSON to lists, booleans, aware datetimes
    [(_, year, keywords, retracted, published_at)] = prepared.rows(_published, [ids[2], draft.id], True)
    assert (year, keywords, retracted, published_at) == (2002, ["k2"], True, when)


def test_compiled_once_per_shape_and_length():
    def build(ids):  # a query of its own, compiled by this test only
        return _published(ids, True)

    ids = [factories.study().id for _ in range(3)]

    def compiled():
        return sum(key[0] is build for key in prepared._local.compiled)

    prepared.rows(build, ids[:2])
    with CaptureQueriesContext(connection) as ctx:
        prepared.rows(build, ids[1:])
    assert compiled() == 1 and len(ctx.captured_queries) == 1
    prepared.rows(build, ids)
    assert compiled() == 2
    assert prepared.rows(build, []) == []


def test_a_query_whose_ids_are_not_its_parameters_is_refused():
    def fixed(ids):
        return Study.objects.filter(id__in=[1, 2]).values_list("id")

    with pytest.raises(ValueError, match="0 of 2 ids"):
        prepared.rows(fixed, [5, 6])
