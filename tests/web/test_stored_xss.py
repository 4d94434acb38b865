"""Stored text comes out escaped: a script tag in a title, abstract, author name or keyword is shown as
text on the search, study, researcher and expert pages and in the Atom feed, never run; and a
``javascript:`` URL is refused where a study's link is written."""

import xml.etree.ElementTree as ET

import pytest

from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("search_backend")]
ATTACK = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'


@pytest.fixture
def hostile(search_backend):
    person = factories.researcher(given_name=f"Kari{ATTACK}", family_name=f"Hansen{IMG}")
    study = factories.study(title=f"Housing first {ATTACK}", abstract=f"Housing abstract {IMG} {ATTACK}",
                            authors=[person, f"Smith{ATTACK}, J"], keywords=[f"housing{ATTACK}", IMG])
    search_backend.rebuild()
    return {"person": person, "study": study}


def _assert_escaped(html, where):
    assert "<script>alert" not in html and "<img src=x" not in html, where
    assert "&lt;script&gt;" in html, where


def test_script_tags_are_escaped_on_every_page(client, hostile):
    pages = {
        "search": "/search/?q=housing",
        "study": f"/studies/{hostile['study'].pk}/",
        "researcher": f"/researchers/{hostile['person'].pk}/",
        "experts": "/experts/?q=housing",
    }
    for where, path in pages.items():
        response = client.get(path)
        assert response.status_code == 200, where
        _assert_escaped(response.content.decode(), where)


def test_script_tags_are_text_in_the_atom_feed(client, hostile):
    response = client.get("/api/v1/search/feed.atom", {"q": "housing"})
    assert response.status_code == 200
    root = ET.fromstring(response.content)  # valid XML: nothing broke out of its element
    atom = "{http://www.w3.org/2005/Atom}"
    entry = root.find(f"{atom}entry")
    assert ATTACK in entry.find(f"{atom}title").text  # text, as a feed reader shows it
    content = entry.find(f"{atom}content")
    assert content.get("type") == "html" and "&lt;script&gt;" in content.text and "<script>" not in content.text


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JavaScript:alert(document.cookie)", "data:text/html,x",
                                 "vbscript:msgbox(1)"])
def test_javascript_urls_are_refused(curator_client, url):
    response = curator_client.post("/api/v1/studies/", {"title": "Linked", "url": url}, format="json")
    assert response.status_code == 400 and "url" in response.json()
    study = factories.study()
    response = curator_client.patch(f"/api/v1/studies/{study.pk}/", {"url": url}, format="json")
    assert response.status_code == 400 and "url" in response.json()
