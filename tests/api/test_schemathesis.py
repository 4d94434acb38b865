"""The API honours its OpenAPI document: schemathesis (v4) over /api/schema/, every check, anonymous and as a
curator.

The same engine the ``st run`` command drives (its coverage phase, which tries each parameter's boundaries,
enum values, wrong types and missing required values, and its fuzzing phase), run against the WSGI app with
real rows in the database, a fixed seed and a bounded number of examples per operation, so it takes a
minute or two. A failure lists each check that failed with the request to reproduce it (docs/api.md).
"""

import tomllib
from pathlib import Path

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema

from tests import factories

pytestmark = [pytest.mark.smoke, pytest.mark.django_db(transaction=True)]

#: kb's schemathesis configuration, as the CLI runs of docs/api.md read it (the statuses that count as answers).
PROJECT_CONFIG = tomllib.loads((Path(__file__).resolve().parents[2] / "schemathesis.toml").read_text())

#: Fixed seed, bounded examples, no example database: the run is repeatable and takes a few minutes. (Hypothesis'
#: database in .hypothesis/ would replay the failing examples of earlier runs, so two runs of one commit could differ.)
CONFIG = {
    **PROJECT_CONFIG,
    "seed": 14,
    "workers": 1,
    "generation": {"max-examples": 6, "database": "none"},
    "phases": {"examples": {"enabled": False}, "stateful": {"enabled": False}},
}


#: No failure is accepted: the run fails on any. Rules a JSON Schema cannot state are answered with a documented 422
#: that schemathesis.toml expects for exactly those operations (a check digit; a search's parameters inside a body).


def _rows():
    topic = factories.topic(slug="s-topic")
    person = factories.researcher(institution=factories.institution())
    study = factories.study(topics=[topic], authors=[person, "Other, Person"], doi="10.1000/schema")
    factories.summary(studies=[study])


def _app(environ, start_response):
    """kb's WSGI app; the engine calls it from its own thread, whose database connection is closed after each
    request (the test database cannot be dropped while one is open)."""
    from django.db import connections

    from kb.wsgi import application

    try:
        return application(environ, start_response)
    finally:
        connections.close_all()


@pytest.fixture(autouse=True)
def _in_process_requests_ignore_network_options(monkeypatch):
    """schemathesis 4.32.5 hands network-only options (max_redirects, ...) to its WSGI transport when a check
    sends a request again outside a session, which then fails with a TypeError; in-process they mean nothing."""
    from schemathesis.transport import wsgi

    send = wsgi.WSGITransport.send

    def send_in_process(self, case, *, session=None, **kwargs):
        for name in ("max_redirects", "verify", "cert", "proxies"):
            kwargs.pop(name, None)
        return send(self, case, session=session, **kwargs)

    monkeypatch.setattr(wsgi.WSGITransport, "send", send_in_process)


def run_schemathesis(headers=None):
    """Failures of one schemathesis run as (check, operation, details) (empty when the API honours its schema)."""
    config = SchemathesisConfig.from_dict({**CONFIG, **({"headers": headers} if headers else {})})
    schema = schemathesis.openapi.from_wsgi("/api/schema/", _app, config=config)
    problems = []
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            for case_id, checks in recorder.checks.items():
                for check in checks:
                    if check.status == Status.FAILURE:
                        case = recorder.cases[case_id].value
                        info = check.failure_info
                        problems.append((check.name, case.operation.label,
                                         f"{getattr(info.failure, 'title', '')} | {info.code_sample if info else ''}"))
        elif isinstance(event, (events.NonFatalError, events.FatalError)):
            problems.append(("error", getattr(event, "label", ""),
                             repr(getattr(event, "value", None) or getattr(event, "exception", None))))
    return sorted(set(problems))


def readable(problems):
    return "\n".join(f"{check}: {operation} -> {detail}" for check, operation, detail in problems)


def test_anonymous_clients_get_what_the_schema_says():
    _rows()
    problems = run_schemathesis()
    assert not problems, readable(problems)


def test_curators_get_what_the_schema_says():
    _rows()
    curator = factories.user("curator")
    problems = run_schemathesis({"Authorization": f"Token {curator.auth_token.key}"})
    assert not problems, readable(problems)
