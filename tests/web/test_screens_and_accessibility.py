"""Screenshots of the main pages at desktop and phone widths, and axe-core on each (WCAG 2.1 A/AA)."""

import pytest
from playwright.sync_api import expect

from apps.researchers.models import Researcher
from apps.studies.models import Study
from apps.summaries.models import Summary

from .conftest import DESKTOP, PHONE, axe_violations, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def _pages():
    study = Study.objects.filter(status="published", summaries__status="published").order_by("id").first()
    person = Researcher.objects.filter(member_since__isnull=False).order_by("id").first()
    return [
        ("search", "/search/?q=behandling"),
        ("home", "/"),
        ("study", f"/studies/{study.pk}/"),
        ("researcher", f"/researchers/{person.pk}/"),
        ("network", "/network/"),
        ("evidence-map", "/evidence-map/"),
        ("login", "/login/"),
    ]


@pytest.mark.parametrize("viewport,width_name", [(DESKTOP, "desktop"), (PHONE, "phone")])
def test_main_pages_screenshots_and_axe(new_page, viewport, width_name):
    problems = {}
    for locale in ("nb-NO", "en-GB"):
        tab = new_page(viewport=viewport, locale=locale)
        errors = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        for name, path in _pages():
            tab.goto(tab.site + path)
            graph = tab.locator(".graph")
            if graph.count():
                expect(graph.first).to_have_attribute("data-state", "ready")
            if locale == "nb-NO":
                screenshot(tab, f"{name}-{width_name}")
            found = axe_violations(tab)
            if found:
                problems[f"{name} ({locale})"] = found
        assert not errors, errors
    assert not problems, f"axe-core found serious or critical violations: {problems}"


def test_curator_pages_screenshots_and_axe(new_page, django_user_model):
    from tests import factories

    from .conftest import PASSWORD

    factories.user("curator", username="kurator")
    tab = new_page()
    tab.goto(tab.site + "/login/")
    tab.get_by_label("Brukernavn").fill("kurator")
    tab.get_by_label("Passord").fill(PASSWORD)
    tab.get_by_role("button", name="Logg inn").last.click()
    expect(tab).to_have_url(tab.site + "/curator/")
    problems = {}
    screenshot(tab, "curator-desktop")
    problems["curator"] = axe_violations(tab)
    tab.goto(tab.site + f"/curator/summaries/{Summary.objects.order_by('id').first().pk}/")
    screenshot(tab, "summary-edit-desktop")
    problems["summary"] = axe_violations(tab)
    tab.goto(tab.site + f"/curator/summaries/new/?study={Study.objects.order_by('id').first().pk}")
    tab.get_by_role("button", name="Lagre").click()  # empty: the errors are announced and linked to the fields
    expect(tab.locator(".has-error").first).to_be_visible()
    problems["summary-errors"] = axe_violations(tab)
    tab.goto(tab.site + "/curator/imports/")
    screenshot(tab, "imports-desktop")
    problems["imports"] = axe_violations(tab)
    tab.goto(tab.site + "/curator/reviews/")
    problems["reviews"] = axe_violations(tab)
    assert not any(problems.values()), problems
