"""``GET /api/v1/`` (the README's "the API") lists kb's resources, for anyone."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]


def test_anonymous_reads_the_api_root_listing_the_resources(anon_client):
    response = anon_client.get("/api/v1/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    listing = response.json()
    assert listing["studies"] == "http://testserver/api/v1/studies/"
    assert listing["search"] == "http://testserver/api/v1/search/"
    assert listing["imports"] == "http://testserver/api/v1/imports/"
    # every address listed exists: it answers, says it is for curators, or asks for its parameters
    for name, url in listing.items():
        if name != "auth/token":
            assert anon_client.get(url).status_code in (200, 400, 401, 403), name


def test_the_browsable_root_renders_for_a_browser(anon_client):
    response = anon_client.get("/api/v1/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and b"/api/v1/researchers/" in response.content


def test_every_resource_registered_under_v1_is_listed():
    from kb.urls import API_RESOURCES

    v1 = next(p for p in get_resolver().url_patterns if isinstance(p, URLResolver) and p.namespace == "v1")
    names = set()

    def walk(patterns):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns)
            elif isinstance(p, URLPattern) and p.name and "<" not in str(p.pattern) and "(?P" not in str(p.pattern):
                names.add(p.name)
    walk(v1.url_patterns)
    entry_points = {n for n in names if not n.endswith(("-export", "-assign-topics", "-publish-many", "-unpublish-many")) and n != "api-root"}
    assert entry_points <= set(API_RESOURCES.values()), entry_points - set(API_RESOURCES.values())
