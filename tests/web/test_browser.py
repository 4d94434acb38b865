"""End-to-end: what a researcher, a practitioner and a curator do in the web interface, in Chromium."""

import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from apps.studies.models import Study
from apps.summaries.models import Summary
from tests import factories

from .conftest import PASSWORD, PHONE

pytestmark = pytest.mark.django_db(transaction=True)


def query(tab):
    return {k: v[0] for k, v in parse_qs(urlparse(tab.url).query).items()}


def test_search_facets_sorting_paging_and_the_back_button(page):
    page.goto(page.site + "/")
    expect(page.locator("html")).to_have_attribute("lang", "nb")
    page.get_by_role("combobox", name="Søk etter studier, forskere og temaer").fill("behandling")
    page.get_by_role("button", name="Søk", exact=True).click()
    expect(page).to_have_url(re.compile(r"/search/\?q=behandling"))
    heading = page.locator("#results-heading")
    expect(heading).to_contain_text("studier")
    total = int(re.search(r"(\d+) studier", heading.inner_text()).group(1))
    assert total > 1
    expect(page.locator(".hit-title mark").first).to_be_visible()  # highlighted match in a title or abstract

    # Choose a study design: the count shrinks, the URL holds the filter, a chip can remove it.
    design = page.locator(".facet-design a.facet-link").first
    design_count = int(design.locator(".facet-count").inner_text().strip("()").split(";")[0].strip())
    design.click()
    assert "design" in query(page)
    expect(heading).to_contain_text(f"{design_count} stud")
    expect(page.locator(".facet-design a.facet-link.is-selected")).to_have_count(1)
    # Combine with a second facet (type), then remove the design again with its chip.
    page.locator(".facet-type a.facet-link").first.click()
    assert {"design", "study_type"} <= set(query(page))
    page.locator(".active-filters a.chip").filter(has_text="Studiedesign").click()
    assert "design" not in query(page) and "study_type" in query(page)
    page.go_back()
    assert {"design", "study_type"} <= set(query(page))

    # Sorting submits by itself; paging keeps everything else in the URL.
    page.goto(page.site + "/search/")
    page.get_by_label("Sorter etter").select_option("oldest")
    expect(page).to_have_url(re.compile(r"sort=oldest"))
    years = [int(y.strip("()")) for y in page.locator(".hit-meta .year").all_inner_texts()]
    assert years == sorted(years)
    first_title = page.locator(".hit-title").first.inner_text()
    page.get_by_role("navigation", name="Sider").get_by_role("link", name="Neste").click()
    assert query(page) == {"sort": "oldest", "page": "2"}
    expect(page.locator(".pagination [aria-current=page]")).to_contain_text("2")
    assert page.locator(".hit-title").first.inner_text() != first_title
    page.go_back()
    expect(page.locator(".hit-title").first).to_have_text(first_title)


def test_year_range_did_you_mean_and_syntax_help(page):
    page.goto(page.site + "/search/?q=behandling")
    page.locator(".year-range input[name=year_from]").fill("2015")
    page.locator(".year-range input[name=year_to]").fill("2020")
    page.locator(".year-range button").click()
    assert query(page)["year_from"] == "2015" and query(page)["q"] == "behandling"
    years = [int(y.strip("()")) for y in page.locator(".hit-meta .year").all_inner_texts()]
    assert years and all(2015 <= y <= 2020 for y in years)
    expect(page.locator(".active-filters")).to_contain_text("2015–2020")

    page.goto(page.site + "/search/?q=behandlnig")
    suggestion = page.locator(".did-you-mean a")
    expect(suggestion).to_be_visible()
    suggestion.click()
    assert query(page)["q"] != "behandlnig"
    expect(page.locator(".hit").first).to_be_visible()

    help_ = page.locator("details.syntax-help")
    help_.locator("summary").click()
    expect(help_.locator("table")).to_contain_text("year:2015..2020")


def test_autocomplete_with_the_keyboard(page):
    page.goto(page.site + "/")
    box = page.get_by_role("combobox", name="Søk etter studier, forskere og temaer")
    box.press_sequentially("Ødeg", delay=40)
    options = page.get_by_role("listbox").get_by_role("option")
    expect(options.first).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    researcher = page.get_by_role("option").filter(has_text="Ingrid Ødegård")
    expect(researcher).to_have_count(1)
    index = [o.inner_text() for o in options.all()].index(researcher.inner_text())
    for _ in range(index + 1):
        box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", f"q-option-{index}")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/researchers/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Ingrid Ødegård")


def test_open_a_study_from_the_results(page):
    study = Study.objects.filter(status="published").exclude(doi="").filter(summaries__status="published").first()
    page.goto(page.site + f"/search/?q=doi:{study.doi}")
    page.locator(".hit-title a").first.click()
    expect(page).to_have_url(re.compile(rf"/studies/{study.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(study.title)
    expect(page.get_by_role("link", name=study.doi)).to_have_attribute("href", f"https://doi.org/{study.doi}")
    if study.pmid:
        expect(page.get_by_role("link", name=study.pmid)).to_have_attribute(
            "href", f"https://pubmed.ncbi.nlm.nih.gov/{study.pmid}/")
    expect(page.locator("#summaries .summary-card").first).to_be_visible()
    bibtex = page.locator("#bibtex").inner_text()
    assert bibtex.startswith("@") and study.doi in bibtex
    # Authors linked to researcher profiles lead there.
    linked = study.authorships.exclude(researcher=None).first()
    if linked:
        page.locator(".study-authors a").first.click()
        expect(page).to_have_url(re.compile(r"/researchers/\d+/$"))


def test_switch_language_and_keep_the_choice(new_page):
    tab = new_page(locale="de-DE")  # a language the interface does not speak: Norwegian by default
    tab.goto(tab.site + "/search/?q=bolig")
    expect(tab.locator("html")).to_have_attribute("lang", "nb")
    expect(tab.get_by_role("link", name="Forskernettverk")).to_be_visible()
    tab.get_by_role("button", name="English").click()
    expect(tab.locator("html")).to_have_attribute("lang", "en")
    assert query(tab).get("q") == "bolig"  # the switch comes back to the same page and search
    expect(tab.get_by_role("link", name="Researcher network")).to_be_visible()
    expect(tab.locator("#results-heading")).to_contain_text("stud")
    tab.get_by_role("link", name="Evidence map", exact=True).click()  # the choice is kept (cookie)
    expect(tab.get_by_role("heading", level=1)).to_have_text("Evidence map")
    tab.get_by_role("button", name="Norsk").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text("Kunnskapskart")


def test_network_graph_can_be_explored(page):
    page.goto(page.site + "/network/")
    graph = page.locator("#network-graph")
    expect(graph).to_have_attribute("data-state", "ready")
    nodes = graph.locator("g.node")
    assert nodes.count() >= 10
    nodes.first.locator("circle").click(force=True)
    details = page.locator("#network-details")
    expect(details.get_by_role("link", name="Åpne profilen")).to_be_visible()
    expect(graph.locator("g.node.is-selected")).to_have_count(1)
    # Zoom with the buttons and the wheel; the drawing stays.
    graph.get_by_role("button", name="Zoom inn").click()
    page.mouse.move(300, 500)
    page.mouse.wheel(0, -200)
    # The list beside it works from the keyboard.
    page.locator("#network-list button").first.focus()
    page.keyboard.press("Enter")
    expect(details.locator("h2")).to_have_text(page.locator("#network-list button").first.inner_text())
    # Filters go into the URL and the API request.
    page.get_by_label("Bare medlemmer").check()
    page.get_by_role("button", name="Vis", exact=True).click()
    assert query(page).get("members_only") == "true"
    expect(graph).to_have_attribute("data-state", "ready")
    assert graph.locator("g.node.other").count() == 0  # members only: no non-member dots


def test_researcher_profile_draws_the_coauthor_network(page):
    page.goto(page.site + "/search/?type=researchers&q=Ødegård")
    page.locator(".hit-title a").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ingrid Ødegård")
    graph = page.locator(".graph[data-graph]")
    expect(graph).to_have_attribute("data-state", "ready")
    assert graph.locator("g.node").count() >= 3
    expect(graph.locator("g.node.center")).to_have_count(1)
    expect(page.get_by_role("heading", name="Medforfattere")).to_be_visible()


def test_evidence_map_cells_open_their_search(page):
    page.goto(page.site + "/evidence-map/")
    table = page.get_by_role("table")
    expect(table).to_be_visible()
    cell = table.locator("td a").first
    count = int(cell.inner_text())
    cell.click()
    params = query(page)
    assert "topic" in params and "design" in params
    expect(page.locator("#results-heading")).to_contain_text(f"{count} stud")


def test_curator_signs_in_and_publishes_a_summary(page, new_page):
    author = factories.user("curator", username="forfatter")
    factories.user("curator", username="redaktor")
    study = Study.objects.filter(status="published", summaries__isnull=True).first()
    summary = factories.summary(studies=[study], status="in_review", author=author,
                                title="Kort om studien for fagfolk", body="Dette er et sammendrag på klarspråk.")

    page.goto(page.site + "/curator/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/curator/"))
    page.get_by_label("Brukernavn").fill("redaktor")
    page.get_by_label("Passord").fill("wrong-password")
    page.get_by_role("button", name="Logg inn").last.click()
    expect(page.get_by_role("alert")).to_contain_text("Feil brukernavn eller passord")
    page.get_by_label("Brukernavn").fill("redaktor")
    page.get_by_label("Passord").fill(PASSWORD)
    page.get_by_role("button", name="Logg inn").last.click()
    expect(page).to_have_url(re.compile(r"/curator/$"))

    page.get_by_role("link", name="Kort om studien for fagfolk").first.click()
    page.get_by_role("button", name="Godkjenn og publiser").click()
    expect(page.get_by_role("status")).to_contain_text("Publisert")
    summary.refresh_from_db()
    assert summary.status == "published" and summary.reviewer.username == "redaktor" and summary.version == 1

    # A reader (no session) now sees it on the study page.
    reader = new_page()
    reader.goto(reader.site + f"/studies/{study.pk}/")
    expect(reader.locator("#summaries")).to_contain_text("Kort om studien for fagfolk")

    # The curator writes a new summary and sends it for review; they may not approve their own.
    page.goto(page.site + f"/studies/{study.pk}/")
    page.get_by_role("link", name="Skriv et sammendrag").click()
    page.get_by_label("Målgruppe").select_option("users_relatives")
    page.get_by_label("Tittel").fill("Hva studien betyr for deg")
    page.get_by_label("Sammendrag", exact=True).fill("En kort tekst for brukere og pårørende.")
    page.get_by_role("button", name="Lagre").click()
    expect(page.get_by_role("status")).to_contain_text("Lagret")
    page.get_by_role("button", name="Send til gjennomgang").click()
    expect(page.locator(".workflow")).to_contain_text("en annen redaktør må godkjenne")
    written = Summary.objects.get(title="Hva studien betyr for deg")
    assert written.status == "in_review" and written.author.username == "redaktor"
    assert list(written.studies.all()) == [study]

    page.get_by_role("button", name=re.compile("Logg ut")).click()
    page.goto(page.site + "/curator/")
    expect(page).to_have_url(re.compile(r"/login/"))


def test_phone_layout_folds_the_filters(new_page):
    tab = new_page(viewport=PHONE)
    tab.goto(tab.site + "/search/?q=bolig")
    panel = tab.locator("details.facets-panel")
    expect(panel).not_to_have_attribute("open", "")
    expect(tab.locator(".facet-design")).to_be_hidden()
    tab.locator("details.facets-panel > summary").click()
    expect(tab.locator(".facet-design")).to_be_visible()
    width = tab.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the page scrolls sideways on a phone"


def _bib_for(study, key, title=None, doi=True):
    first = study.authorships.order_by("position").first()
    authors = " and ".join(a.name for a in study.authorships.order_by("position"))
    fields = [f"  title = {{{title or study.title}}}", f"  author = {{{authors or first.name}}}",
              f"  year = {{{study.year}}}", "  journal = {Nordic Journal of Testing}"]
    if doi and study.doi:
        fields.append(f"  doi = {{{study.doi}}}")
    return f"@article{{{key},\n" + ",\n".join(fields) + "\n}\n"


def test_curator_imports_a_bib_file_and_resolves_a_duplicate(page, tmp_path):
    factories.user("curator", username="importor")
    known = Study.objects.exclude(doi="").exclude(authorships=None).order_by("id").first()
    fuzzy = Study.objects.filter(doi="", pmid="", isbn="").exclude(authorships=None).exclude(pk=known.pk) \
        .order_by("id").first()
    bib = tmp_path / "rop-refs.bib"
    bib.write_text(
        "@article{new2024,\n  title = {Peer support workers in FACT teams: a new study},\n"
        "  author = {Nordmann, Kari and Hansen, Ola},\n  year = {2024},\n  journal = {Nordic Journal of Testing},\n"
        "  doi = {10.9999/kb-web-test.1}\n}\n\n"
        + _bib_for(known, "known") + "\n"
        + _bib_for(fuzzy, "fuzzy", title=fuzzy.title[:int(len(fuzzy.title) * 0.8)], doi=False) + "\n"
        + "@article{broken,\n  title = {Missing the closing brace\n\n", encoding="utf-8")

    page.goto(page.site + "/login/?next=/curator/imports/")
    page.get_by_label("Brukernavn").fill("importor")
    page.get_by_label("Passord").fill(PASSWORD)
    page.get_by_role("button", name="Logg inn").last.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("BibTeX")
    page.get_by_label("BibTeX-, RIS- eller MEDLINE-filer").set_input_files(str(bib))
    page.get_by_role("button", name="Last opp og importer").click()
    expect(page).to_have_url(re.compile(r"/curator/imports/\d+/$"))
    expect(page.locator(".job-status")).to_have_text("Ferdig", timeout=30_000)
    report = page.locator("table.report")
    expect(report).to_contain_text("new2024")
    expect(report.locator("tr", has_text="new2024")).to_contain_text("Opprettet")
    expect(report.locator("tr", has_text="known")).to_contain_text(known.title[:40])
    assert Study.objects.filter(doi="10.9999/kb-web-test.1").exists()

    # The shortened title (similarity 80-92) is held back for a curator: decide it.
    expect(report.locator("tr", has_text="fuzzy")).to_contain_text("Til vurdering")
    page.get_by_role("link", name=re.compile("mulig duplikat")).click()
    item = page.locator("article.review").filter(has_text=fuzzy.title[:30])
    expect(item).to_have_count(1)
    item.get_by_role("button", name="Samme verk: slå sammen").click()
    expect(page.get_by_role("status")).to_contain_text("Slått sammen")
    expect(page.locator("article.review").filter(has_text=fuzzy.title[:30])).to_have_count(0)


def _sign_in(tab, username, next_path):
    tab.goto(tab.site + f"/login/?next={next_path}")
    tab.get_by_label("Brukernavn").fill(username)
    tab.get_by_label("Passord").fill(PASSWORD)
    tab.get_by_role("button", name="Logg inn").last.click()


def test_curator_retries_a_failed_entry_and_undoes_the_import(page, settings, tmp_path):
    from apps.imports.models import ImportOutcome

    settings.MEDIA_ROOT = str(tmp_path / "media")
    curator = factories.user("curator", username="angrer")
    job = factories.import_file(
        "@article{first2025,\n  title = {Recovery colleges for people with co-occurring disorders},\n"
        "  author = {Nordmann, Kari},\n  year = {2025},\n  journal = {Nordic Journal of Testing}\n}\n\n"
        "@article{broken2025,\n  title = {Peer workers in FACT teams,\n  author = {Hansen, Ola},\n  year = {2025}\n",
        user=curator, name="nye-referanser.bib")
    before = Study.objects.count()
    _sign_in(page, "angrer", f"/curator/imports/{job.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("nye-referanser.bib")

    # Correct the broken entry in the form and import it again.
    page.locator("table.report tr", has_text="broken2025").get_by_role("link", name=re.compile("Rett og prøv")).click()
    box = page.get_by_label("Oppføringen i BibTeX")
    expect(box).to_have_value(re.compile(r"^@article\{broken2025"))
    box.fill("@article{broken2025,\n  title = {Peer workers in FACT teams},\n  author = {Hansen, Ola},\n"
             "  year = {2025}\n}\n")
    page.get_by_role("button", name="Importer den rettede oppføringen").click()
    expect(page.get_by_role("status")).to_contain_text("Resultat: Opprettet")
    expect(page.locator("#entry-outcome")).to_have_text("Opprettet")
    expect(page.get_by_role("link", name="Peer workers in FACT teams")).to_be_visible()
    assert ImportOutcome.objects.get(job=job, key="broken2025").outcome == "created"
    assert Study.objects.count() == before + 1

    # Undo the whole import: the confirmation says what happens, then the studies are gone.
    page.get_by_role("link", name="Tilbake til rapporten").click()
    page.get_by_role("link", name="Angre denne importen …").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Angre importen av nye-referanser.bib")
    expect(page.get_by_role("main")).to_contain_text("2 studier den opprettet blir slettet")
    assert Study.objects.count() == before + 1  # nothing happens before confirming
    page.get_by_role("button", name="Ja, angre importen").click()
    expect(page).to_have_url(re.compile(rf"/curator/imports/{job.pk}/$"))
    expect(page.get_by_role("status")).to_contain_text("Importen er angret")
    expect(page.locator(".job-status")).to_have_text("Angret")
    expect(page.get_by_role("link", name="Angre denne importen …")).to_have_count(0)
    assert Study.objects.count() == before - 1
    assert not Study.objects.filter(title__startswith="Recovery colleges").exists()


def test_find_an_expert_from_the_menu(page):
    page.goto(page.site + "/")
    page.get_by_role("navigation", name="Hoved").get_by_role("link", name="Finn en ekspert").click()
    expect(page).to_have_url(re.compile(r"/experts/$"))
    page.get_by_label("Hvilken kompetanse leter du etter?").fill("integrert behandling psykose")
    page.get_by_role("button", name="Finn eksperter").click()
    assert query(page)["q"] == "integrert behandling psykose"
    experts = page.locator("li.expert")
    expect(experts.first).to_be_visible()
    expect(page.locator("#experts-heading")).to_contain_text("forsker")
    ingrid = experts.filter(has_text="Ingrid Ødegård")
    expect(ingrid).to_have_count(1)
    expect(ingrid).to_contain_text("treffende stud")
    expect(ingrid.locator(".badge-topic").first).to_be_visible()
    ingrid.locator("summary").click()
    expect(ingrid.locator("details.evidence li").first).to_be_visible()
    ingrid.get_by_role("link", name="Ingrid Ødegård").click()
    expect(page).to_have_url(re.compile(r"/researchers/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Ingrid Ødegård")


def test_save_a_search_and_find_it_listed(page):
    from apps.alerts.models import SavedSearch

    factories.user("reader", username="leser")
    page.goto(page.site + "/search/?q=bolig")
    page.get_by_role("link", name="Logg inn for å lagre dette søket").click()
    page.get_by_label("Brukernavn").fill("leser")
    page.get_by_label("Passord").fill(PASSWORD)
    page.get_by_role("button", name="Logg inn").last.click()
    expect(page).to_have_url(re.compile(r"/search/\?q=bolig$"))  # back at the same search

    page.locator(".facet-design a.facet-link").first.click()
    design = query(page)["design"]
    page.get_by_label("Lagre dette søket som").fill("Bolig og ROP")
    page.locator("form.save-search").get_by_role("button", name="Lagre").click()
    expect(page).to_have_url(re.compile(r"/saved-searches/$"))
    expect(page.get_by_role("status")).to_contain_text("Lagret «Bolig og ROP»")
    item = page.locator("li.saved-search").filter(has_text="Bolig og ROP")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("intet nytt")
    expect(item.get_by_role("link", name=re.compile("Atom-strøm"))).to_have_attribute(
        "href", re.compile(r"/api/v1/saved-searches/\d+/feed\.atom\?key="))
    assert SavedSearch.objects.get(name="Bolig og ROP").params == {"q": "bolig", "design": design}

    item.get_by_role("link", name=re.compile("Kjør søket")).click()
    assert query(page) == {"q": "bolig", "design": design}
    expect(page.locator(".hit").first).to_be_visible()

    page.get_by_role("link", name="Lagrede søk", exact=True).click()
    page.locator("li.saved-search").filter(has_text="Bolig og ROP").get_by_role("link", name=re.compile("Slett")).click()
    page.get_by_role("button", name="Ja, slett det").click()
    expect(page.get_by_role("status")).to_contain_text("Slettet «Bolig og ROP»")
    expect(page.locator("li.saved-search")).to_have_count(0)
