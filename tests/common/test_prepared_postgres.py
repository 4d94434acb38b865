"""apps/common/prepared.py on PostgreSQL: one statement per shape, prepared on the server and kept."""

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext, override_settings

from apps.common import prepared
from apps.studies.models import Study
from tests import factories

pytestmark = pytest.mark.django_db


def _statements(text):
    with connection.cursor() as cursor:
        cursor.execute("SELECT generic_plans + custom_plans FROM pg_prepared_statements WHERE statement LIKE %s",
                       [f"%{text}%"])
        return [n for (n,) in cursor.fetchall()]


def _titles(ids, marker):
    # ``marker`` makes this test's statement its own (the SQL names it; no title is the marker)
    return (Study.objects.filter(prepared.InIds(F("id"), ids)).exclude(title=marker).order_by("id")
            .values_list("id", "title"))


def test_the_page_query_is_prepared_once_and_run_with_any_ids():
    assert connection.vendor == "postgresql"
    studies = [factories.study(title=f"Study {i}") for i in range(6)]
    ids = [s.id for s in studies]

    def build(chosen):
        return _titles(chosen, "kb-test-prepared-a")

    for chosen in (ids[:2], ids[2:4], [ids[5], ids[0]], [ids[1], 10 ** 12]):
        assert prepared.rows(build, chosen) == list(build(chosen)), chosen
    # one statement for every call with two ids, small or large, run four times; the ids are its only parameter
    [runs] = _statements("kb-test-prepared-a")
    assert runs == 4
    [compiled] = [c for key, c in prepared._local.compiled.items() if key[0] is build]
    assert "ANY(%s::bigint[])" in compiled.sql and compiled.sql.count("%s") == 1
    # still seen by Django's query log (debug toolbar, assertNumQueries)
    with CaptureQueriesContext(connection) as ctx:
        prepared.rows(build, ids[3:5])
    [logged] = ctx.captured_queries
    assert f"ANY('{{{ids[3]},{ids[4]}}}'" in logged["sql"], logged["sql"]


@override_settings(KB_DB_PREPARED_STATEMENTS=False)
def test_behind_a_pooler_nothing_is_prepared_and_the_answers_are_the_same():
    studies = [factories.study(title=f"Study {i}") for i in range(3)]
    ids = [s.id for s in studies]

    def build(chosen):
        return _titles(chosen, "kb-test-prepared-b")

    assert prepared.rows(build, ids[:2]) == [(ids[0], "Study 0"), (ids[1], "Study 1")]
    assert prepared.rows(build, ids[1:]) == [(ids[1], "Study 1"), (ids[2], "Study 2")]
    assert _statements("kb-test-prepared-b") == []


def test_a_prepared_statement_survives_a_rolled_back_transaction():
    from django.db import transaction

    study = factories.study(title="Kept")

    def build(chosen):
        return _titles(chosen, "kb-test-prepared-c")

    class Failed(Exception):
        pass

    with pytest.raises(Failed), transaction.atomic():
        assert prepared.rows(build, [study.id]) == [(study.id, "Kept")]
        raise Failed
    assert prepared.rows(build, [study.id]) == [(study.id, "Kept")]


def test_queries_sent_together_travel_in_one_pipeline_and_are_read_after_it():
    from psycopg import pq

    studies = [factories.study(title=f"Study {i}") for i in range(4)]
    ids = [s.id for s in studies]

    def first(chosen):
        return _titles(chosen, "kb-test-prepared-d")

    def second(chosen):
        return _titles(chosen, "kb-test-prepared-e")

    with prepared.together():
        assert connection.connection.pgconn.pipeline_status == pq.PipelineStatus.ON
        a = prepared.send(first, ids[:2])
        b = prepared.send(second, ids[2:])
        none = prepared.send(second, [])
    assert connection.connection.pgconn.pipeline_status == pq.PipelineStatus.OFF
    assert a() == [(ids[0], "Study 0"), (ids[1], "Study 1")]
    assert b() == [(ids[2], "Study 2"), (ids[3], "Study 3")] and none() == []


def test_a_failing_query_in_a_pipeline_is_djangos_error_and_the_connection_goes_on():
    from django.db import DataError, transaction
    from django.db.models.expressions import RawSQL

    study = factories.study(title="Still here")

    def failing(chosen):
        return (Study.objects.filter(prepared.InIds(F("id"), chosen))
                .annotate(bad=RawSQL("1 / (id - id)", [])).values_list("id", "bad"))

    def fine(chosen):
        return _titles(chosen, "kb-test-prepared-f")

    with pytest.raises(DataError), transaction.atomic(), prepared.together():  # as any failing query: a savepoint
        prepared.send(failing, [study.id])
    assert prepared.rows(fine, [study.id]) == [(study.id, "Still here")]
