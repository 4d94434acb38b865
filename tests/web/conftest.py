"""Browser tests of the web interface: Debian's Chromium, headless, driven by Playwright.

The browser is /usr/bin/chromium (the test command installs the ``chromium`` package); Playwright's
own browser downloads are never used. Under CI=true (or KB_REQUIRE_SERVICES=1) a missing browser
fails the run; elsewhere the browser tests skip with the reason.

Each browser test gets the seed data (``manage.py load_seed``: 47 ROP studies, 20 researchers,
summaries in Norwegian and English) in a live server on 127.0.0.1, searched with the database
backend. Screenshots go to test-output/screenshots/.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("KB_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("CI") == "true" or os.environ.get("KB_REQUIRE_SERVICES") == "1"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
LAUNCH_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PASSWORD = "a-Long-pass-phrase-9"  # tests.factories.user's password

# The live server listens on 127.0.0.1 (an allowed host), never on another interface.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")


def _missing_browser(reason):
    if REQUIRED:
        pytest.fail(f"{reason}; the test command installs it (apt-get install chromium)", pytrace=False)
    pytest.skip(f"{reason} (under CI this fails instead)")


@pytest.fixture(scope="session")
def browser():
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _missing_browser(f"No Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing_browser("The playwright package is not installed (requirements-dev.txt)")
    # Playwright's synchronous API runs an event loop in this thread; the tests' own database work
    # (seeding, assertions) is synchronous and safe, so Django's async guard is relaxed here only.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    manager = sync_playwright().start()
    try:
        # Playwright starts Chromium with a fresh temporary --user-data-dir of its own (and refuses the
        # flag in ``launch``); each test's context is a new, empty profile on top of that.
        b = manager.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_FLAGS, headless=True)
    except Exception as exc:  # the browser is there but cannot start: that is a failure, not a skip
        manager.stop()
        pytest.fail(f"Chromium did not start: {exc}", pytrace=False)
    yield b
    b.close()
    manager.stop()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def search_backend(settings):
    """The database search backend (the embedded default), whatever the environment configures."""
    from search.backends import get_backend, reset_backend

    settings.KB_SEARCH = {**settings.KB_SEARCH, "URL": None}
    reset_backend()
    yield get_backend()
    reset_backend()


@pytest.fixture
def seeded(transactional_db, search_backend):
    """The seed data, committed (the live server runs in another thread) and indexed."""
    from django.core.management import call_command

    call_command("load_seed", verbosity=0)
    search_backend.rebuild()
    return search_backend


@pytest.fixture
def site(live_server, seeded):
    return live_server.url


def _context(browser, viewport=DESKTOP, locale="nb-NO"):
    return browser.new_context(viewport=viewport, locale=locale, service_workers="block",
                               extra_http_headers={"Accept-Language": locale})


@pytest.fixture
def page(browser, site):
    """A desktop browser tab asking for Norwegian (the default language of the pages)."""
    context = _context(browser)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    watch_csp(tab, errors)
    tab.site = site
    tab.js_errors = errors
    yield tab
    context.close()
    assert not errors, f"JavaScript errors or Content-Security-Policy violations on the page: {errors}"


def watch_csp(tab, errors):
    """Chromium reports what the Content-Security-Policy blocked (an inline script or style, a foreign
    source) on the console; each report is an error of the page."""
    tab.on("console", lambda msg: errors.append(msg.text)
           if msg.type == "error" and "Content Security Policy" in msg.text else None)


@pytest.fixture
def new_page(browser, site):
    """Make more tabs, each in its own context (own cookies): ``new_page(viewport=PHONE, locale="en")``."""
    contexts = []

    def make(viewport=DESKTOP, locale="nb-NO"):
        context = _context(browser, viewport, locale)
        context.set_default_timeout(15_000)
        contexts.append(context)
        tab = context.new_page()
        tab.site = site
        return tab

    yield make
    for c in contexts:
        c.close()


def axe_violations(tab, impacts=("serious", "critical")):
    """axe-core's WCAG 2.x A/AA violations of the given impact on the page as it is now."""
    # Evaluated through the DevTools protocol, which the page's Content-Security-Policy does not govern (a
    # <script> tag with the source inline would be refused, as it should be).
    tab.evaluate("() => {" + AXE.read_text() + "\n}")
    result = tab.evaluate("""async () => await axe.run(document, {
        runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
        resultTypes: ['violations']})""")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in impacts]


def screenshot(tab, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def media_root(settings, tmp_path):
    """Uploaded files (import jobs) go to the test's own folder."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
