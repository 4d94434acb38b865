"""The OpenAPI schema is generated without warnings, and the running app honours it (schemathesis)."""

import pytest
import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, settings

from tests import factories

pytestmark = pytest.mark.smoke


@pytest.mark.django_db
def test_schema_generates_without_warnings(tmp_path, capsys):
    call_command("spectacular", "--file", str(tmp_path / "schema.yml"), "--fail-on-warn", "--validate")
    text = (tmp_path / "schema.yml").read_text()
    assert "/api/v1/studies/" in text and "/api/v1/researchers/" in text


@pytest.mark.django_db
def test_docs_page_works_offline(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html and "cdn.jsdelivr" not in html and "unpkg" not in html
    assert client.get("/api/schema/").status_code == 200


def _wsgi_app():
    from kb.wsgi import application

    return application


@pytest.fixture
def keep_test_connection():
    """Requests through the WSGI app must not close the test's database connection (the test client
    makes the same arrangement)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db(transaction=False)
def test_api_honours_its_schema(keep_test_connection):
    """No 5xx anywhere, and every response matches the schema (anonymous reads, rejected writes).

    Drives schemathesis directly (its pytest plugin does not support pytest 9 yet): every operation,
    with examples generated from the schema, against the WSGI app with real rows in the database.
    """
    from hypothesis import given

    topic = factories.topic()
    person = factories.researcher(institution=factories.institution())
    study = factories.study(topics=[topic], authors=[person, "Other, Person"], doi="10.1000/schema")
    factories.summary(studies=[study])
    api = schemathesis.openapi.from_wsgi("/api/schema/", _wsgi_app())
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) > 20
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            # A schema-valid request may still be refused for what it means (wrong password, unknown
            # id), so "positive data acceptance" does not apply; every other check does.
            with transaction.atomic():  # each request is its own transaction, as in production
                case.call_and_validate(excluded_checks=[positive_data_acceptance])

        check()
