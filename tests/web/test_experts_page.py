"""The expert finder page (/experts/): the researchers the expert service ranks for a query, on both
search backends."""

import datetime
import re

import pytest

from tests import factories
from tests.network.conftest import index_studies

pytestmark = pytest.mark.django_db


def text(response):
    return response.content.decode()


def test_expert_page_lists_the_right_researchers(client, backend):
    housing = factories.topic(slug="housing-x", label_nb="Bolig", label_en="Housing")
    act = factories.topic(slug="act-x", label_nb="ACT-team", label_en="ACT teams")
    kari = factories.researcher(given_name="Kari", family_name="Ødegård", member_since=datetime.date(2016, 1, 1),
                                institution=factories.institution(name_nb="Sykehuset Innlandet"))
    per = factories.researcher(given_name="Per", family_name="Sæther")
    ola = factories.researcher(given_name="Ola", family_name="Hansen")
    factories.study(title="FACT teams and assertive community treatment in Norway", year=2019,
                    abstract="Assertive community treatment for dual diagnosis.", authors=[kari, "Smith, John"],
                    topics=[act])
    factories.study(title="Implementing FACT teams: assertive community treatment", year=2021,
                    abstract="Fidelity of assertive community treatment teams.", authors=[kari, per], topics=[act])
    factories.study(title="Housing first for people with substance use disorders", abstract="A cohort on housing.",
                    year=2018, authors=[per, ola], topics=[housing])
    factories.study(title="Assertive community treatment draft", status="draft", year=2022, authors=[ola])
    index_studies(backend)

    response = client.get("/experts/", {"q": "assertive community treatment"})
    assert response.status_code == 200
    body = text(response)
    names = re.findall(r'<h3 class="hit-title"[^>]*><a href="/researchers/(\d+)/">([^<]+)</a>', body)
    assert names[:2] == [(str(kari.pk), "Kari Ødegård"), (str(per.pk), "Per Sæther")]
    assert str(ola.pk) not in [pk for pk, _name in names]  # only a draft on the subject: not for readers
    first = body[body.index(f'id="expert-{kari.pk}"'):body.index(f'id="expert-{per.pk}"')]
    assert "Sykehuset Innlandet" in first and "2 treffende studier" in first and "Medlem av forskernettverket" in first
    assert 'href="/search/?topic=act-x"' in first and "ACT-team" in first  # her top topic, linked to its search
    second = body[body.index(f'id="expert-{per.pk}"'):]
    assert "1 treffende studie" in second and "Bolig" in second  # top topics are over all their studies

    members = text(client.get("/experts/", {"q": "assertive community treatment", "members_only": "true"}))
    assert f'href="/researchers/{kari.pk}/"' in members and f'href="/researchers/{per.pk}/"' not in members
    nobody = client.get("/experts/", {"q": "kryptozoologi"})
    assert nobody.status_code == 200 and "Fant ingen forskere" in text(nobody)


def test_expert_page_without_a_query_is_a_form_linked_from_the_menu(client):
    body = text(client.get("/experts/"))
    assert '<input id="expert-q" name="q" type="search"' in body and "hit-title" not in body
    nav = re.search(r'<nav class="site-nav".*?</nav>', body, re.S).group(0)
    assert re.search(r'<a href="/experts/" aria-current="page">Finn en ekspert</a>', nav)
    assert 'href="/experts/"' in text(client.get("/search/"))
