"""The OpenAPI schema is generated without warnings and is valid (tests/api/test_schemathesis.py checks that the
running app honours it)."""

import pytest
from django.core.management import call_command

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


@pytest.mark.django_db
def test_generated_clients_can_work_from_the_schema(client):
    """What client generators (openapi-generator, openapi-python-client) rely on: a valid OpenAPI 3.0
    document, a unique operationId per operation, no parameter styles they cannot serialize."""
    from openapi_spec_validator import validate

    schema = client.get("/api/schema/", {"format": "json"}).json()
    validate(schema)
    operations = [op for item in schema["paths"].values() for op in item.values() if isinstance(op, dict)]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids)) == len(operations) > 60
    for op in operations:
        for parameter in op.get("parameters", []):
            assert parameter.get("style", "form") in {"form", "simple"}, (op["operationId"], parameter["name"])
            assert not any(key.startswith("x-kb") for key in parameter["schema"]), parameter["name"]
    # an enum of only null (drf-spectacular's NullEnum for a nullable choice) makes openapi-generator's Python
    # client a syntax error ("class NullEnum(, Enum)"): nullable choices say nullable instead
    components = schema["components"]["schemas"]
    assert not [name for name, component in components.items() if component.get("enum") == [None]]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/nothing/", "/api/v1/studies/0.5/", "/api/v1/saved-searches/%0A./",
                                  "/api/v2/"])
def test_unknown_api_urls_are_a_json_404(client, settings, path):
    settings.DEBUG = True  # Django's own 404 page would be HTML
    response = client.delete(path, HTTP_COOKIE="csrftoken=x")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert client.get("/api/v1/studies").status_code == 301  # only the slash is missing: redirected
