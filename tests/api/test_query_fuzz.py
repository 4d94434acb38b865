"""Every query parameter of every GET operation in the OpenAPI document, sent hostile values one at a time
(control characters, NUL, numbers too large for any column, invalid UTF-8, a very long value), as a curator
(who reaches every operation) and anonymously: never a 5xx, always JSON (or the feed/export they ask for)."""

import re

import pytest

from tests import factories

pytestmark = pytest.mark.django_db

#: Raw query-string values (already percent-encoded where they must be).
HOSTILE = {
    "NUL": "%00",
    "controls": "a%01%07%1b%1fb",
    "huge number": "9" * 400,
    "huge negative float": "-1e309",
    "NaN": "NaN",
    "invalid UTF-8": "%FF%FE%C3%28",
    "long": "x" * 5000,
    "list of junk": ",%00,%FF,9999999999999999999999,",
}


@pytest.fixture
def rows():
    topic = factories.topic(slug="fuzz-topic")
    person = factories.researcher(institution=factories.institution())
    study = factories.study(topics=[topic], authors=[person])
    summary = factories.summary(studies=[study])
    return {"studies": study.pk, "researchers": person.pk, "institutions": person.affiliations.first().institution_id,
            "summaries": summary.pk, "topics": topic.slug}


def _get_operations(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    for path, operations in schema["paths"].items():
        get = operations.get("get")
        if get:
            yield path, [p["name"] for p in get.get("parameters", []) if p["in"] == "query"]


def _fill(path, rows):
    resource = path.split("/")[3]
    return re.sub(r"\{[^}]+\}", lambda m: str(rows.get(resource, 1)), path)


@pytest.mark.parametrize("who", ["anonymous", "curator"])
def test_no_query_parameter_makes_a_server_error(who, clients, rows):
    client = clients[who]
    crashes, tried = [], 0
    for path, names in _get_operations(client):
        url = _fill(path, rows)
        for name in names:
            for label, value in HOSTILE.items():
                response = client.get(f"{url}?{name}={value}")
                tried += 1
                if response.status_code >= 500:
                    crashes.append(f"{response.status_code} GET {url}?{name}=<{label}>")
                elif response.status_code >= 400:
                    assert response["Content-Type"].startswith("application/json"), (url, name, label)
    assert tried > 500
    assert not crashes, "\n".join(crashes)
