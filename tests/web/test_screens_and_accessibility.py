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
        ("experts", "/experts/?q=integrert+behandling"),
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


def _too_wide(tab):
    """What makes the page scroll sideways on a phone (None when nothing does)."""
    width = tab.evaluate("document.documentElement.scrollWidth")
    if width <= PHONE["width"]:
        return None
    culprits = tab.evaluate("""limit => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > limit).slice(0, 5)
        .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''))""", PHONE["width"] + 1)
    return f"scrolls sideways ({width}px): {culprits}"


def test_import_undo_retry_and_saved_search_pages_screenshots_and_axe(new_page, settings, tmp_path):
    from apps.alerts import services as alerts
    from apps.imports.models import ImportOutcome
    from tests import factories

    from .conftest import PASSWORD

    settings.MEDIA_ROOT = str(tmp_path / "media")
    curator = factories.user("curator", username="kurator2")
    job = factories.import_file(
        "@article{ok2025, title={Recovery colleges for people with co-occurring disorders}, author={Nordmann, Kari},"
        " year={2025}, journal={Nordic Journal of Testing}}\n"
        "@article{broken2025, title={Peer workers in FACT teams, author={Hansen, Ola}, year={2025}\n",
        user=curator, name="nye-referanser.bib")
    failed = ImportOutcome.objects.get(job=job, outcome="failed")
    saved = alerts.save_search(curator, "Integrert behandling, RCT", {"q": "integrert behandling", "design": "rct"})
    alerts.save_search(curator, "Bolig", {"q": "bolig", "year_from": "2015"})
    pages = [("import-job", f"/curator/imports/{job.pk}/"), ("import-undo", f"/curator/imports/{job.pk}/undo/"),
             ("import-entry", f"/curator/imports/{job.pk}/entries/{failed.index}/"),
             ("saved-searches", "/saved-searches/"), ("saved-search-delete", f"/saved-searches/{saved.pk}/delete/"),
             ("search-signed-in", "/search/?q=bolig")]
    problems = {}
    for viewport, width_name in ((DESKTOP, "desktop"), (PHONE, "phone")):
        for locale in ("nb-NO", "en-GB"):
            tab = new_page(viewport=viewport, locale=locale)
            tab.goto(tab.site + "/login/")
            tab.locator("#id_username").fill("kurator2")
            tab.locator("#id_password").fill(PASSWORD)
            tab.locator("form.stack-form button[type=submit]").click()
            expect(tab).to_have_url(tab.site + "/curator/")
            for name, path in pages:
                tab.goto(tab.site + path)
                if locale == "nb-NO":
                    screenshot(tab, f"{name}-{width_name}")
                found = axe_violations(tab)
                if found:
                    problems[f"{name} ({locale}, {width_name})"] = found
                if width_name == "phone" and _too_wide(tab):
                    problems[f"{name} ({locale}, phone)"] = _too_wide(tab)
            # the retry form with an error, announced and linked to the field
            tab.goto(tab.site + f"/curator/imports/{job.pk}/entries/{failed.index}/")
            tab.locator("textarea").fill("not bibtex")
            tab.locator(".retry button[type=submit]").click()
            expect(tab.locator(".has-error")).to_be_visible()
            found = axe_violations(tab)
            if found:
                problems[f"import-entry-error ({locale}, {width_name})"] = found
    assert not problems, problems
