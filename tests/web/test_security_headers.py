"""A strict Content-Security-Policy on every response, and pages that need nothing it forbids (no inline
script or style). The browser tests (test_browser.py) fail on any violation Chromium reports."""

import re

import pytest

from tests import factories

pytestmark = pytest.mark.django_db

PAGES = ["/", "/?q=treatment", "/login/", "/experts/?q=treatment", "/network/", "/api/docs/"]


def test_every_response_has_a_strict_csp(client):
    study = factories.study(status="published")
    person = factories.researcher()
    for path in [*PAGES, f"/studies/{study.pk}/", f"/researchers/{person.pk}/", "/api/v1/studies/", "/nope/"]:
        policy = client.get(path)["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'", path
        assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_pages_have_no_inline_script_or_style(client):
    study = factories.study(status="published", year=2015)
    person = factories.researcher()
    for path in [*PAGES, f"/studies/{study.pk}/", f"/researchers/{person.pk}/"]:
        response = client.get(path)
        if response.status_code != 200:
            continue
        html = response.content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(ld\+)?json\")[^>]*>", html), path
        assert not re.search(r"<style\b|\sstyle=\"|\son[a-z]+=\"|javascript:", html), path


def test_the_api_docs_start_script_is_a_file(client):
    html = client.get("/api/docs/").content.decode()
    script = re.search(r'<script src="([^"]*script=[^"]*)"', html)
    assert script, "Swagger UI's start script is served as a file"
    response = client.get(script.group(1).replace("&amp;", "&"))
    assert response.status_code == 200 and "SwaggerUIBundle" in response.content.decode()
