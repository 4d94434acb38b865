"""One contract, every backend: the database backend and a real Elasticsearch answer the same way."""

import pytest

from apps.researchers.models import Institution, Researcher
from apps.studies.models import Study
from apps.summaries.models import Summary
from search.backends.base import SearchFilters, SearchRequest
from search.query import parse
from tests import factories
from tests.search.conftest import refresh


def index_all(backend):
    backend.index("studies", list(Study.objects.values_list("id", flat=True)))
    backend.index("researchers", list(Researcher.objects.values_list("id", flat=True)))
    backend.index("summaries", list(Summary.objects.values_list("id", flat=True)))
    refresh(backend)


def ids(backend, q="", kind="studies", **kwargs):
    filters = kwargs.pop("filters", SearchFilters())
    request = SearchRequest(kind=kind, query=parse(q), filters=filters, page_size=kwargs.pop("page_size", 100),
                            **kwargs)
    return [h.id for h in backend.search(request).hits]


def search(backend, q="", **kwargs):
    filters = kwargs.pop("filters", SearchFilters())
    return backend.search(SearchRequest(query=parse(q), filters=filters, **kwargs))


@pytest.fixture
def corpus(db):
    youth = factories.topic(slug="c-youth", label_nb="Ungdom", label_en="Youth")
    services = factories.topic(slug="c-services", label_nb="Tjenester", label_en="Services")
    act = factories.topic(slug="c-act", label_nb="Oppsøkende team", label_en="Assertive outreach", parent=services)
    trust = factories.institution(name_nb="Sykehuset Innlandet")
    unit = factories.institution(name_nb="Divisjon psykisk helsevern", parent=trust)
    kari = factories.researcher(given_name="Kari", family_name="Ødegård", institution=unit)
    per = factories.researcher(given_name="Per", family_name="Sæther")
    s = {
        "rus": factories.study(title="Ruslidelser hos unge voksne", abstract="Kartlegging av rusmiddelbruk.",
                               language="nb", year=2012, study_type="report", design="cross_sectional",
                               topics=[youth], authors=[kari, "Hansen, Ola"]),
        "psyk": factories.study(title="Behandling ved psykisk lidelse", abstract="Om integrert behandling.",
                                language="nb", year=2016, design="qualitative", authors=[per]),
        "forlop": factories.study(title="Pasientforløp i FACT-team", abstract="Erfaringer fra brukere.",
                                  language="nb", year=2019, design="qualitative", topics=[act], authors=[kari]),
        "treat": factories.study(title="Integrated treatment for dual disorder",
                                 abstract="A randomised trial of assertive community treatment in Oslo.",
                                 year=2020, design="rct", topics=[act], doi="10.1000/treat.1",
                                 authors=["Smith, John", "Ødegård, Kari"]),
        "abstract_only": factories.study(title="Housing first in Norway",
                                         abstract="Outcomes for people with a substance use disorder and housing.",
                                         year=2018, design="cohort", authors=["Brown, Ann"]),
        "reverse": factories.study(title="Treatment community lessons", abstract="Staff views.", year=2010,
                                   design="qualitative", authors=["Lee, Kim"]),
        "draft": factories.study(title="Unpublished draft about cannabis treatment", status="draft", year=2021,
                                 authors=["Draft, Dora"]),
    }
    summary = factories.summary(studies=[s["treat"]], title="Samlet behandling hjelper", body="Kort om studien.")
    factories.summary(studies=[s["psyk"]], status="draft", title="Utkast om behandling", body="Ikke ferdig.")
    return {"studies": s, "topics": {"youth": youth, "services": services, "act": act}, "kari": kari, "per": per,
            "trust": trust, "summary": summary}


@pytest.fixture
def indexed(backend, corpus):
    index_all(backend)
    return corpus


def sid(corpus, *names):
    return {corpus["studies"][n].id for n in names}


@pytest.mark.parametrize("query,expected", [
    ("ruslidelse", "rus"),            # Norwegian plural/singular
    ("psykiske lidelser", "psyk"),    # inflected adjective and noun
    ("disorders", "treat"),           # English plural
    ("treatments", "treat"),
    ("pasientforlop", "forlop"),      # typed without ø
    ("pasientforløp", "forlop"),
])
def test_stemming_and_folding(backend, indexed, query, expected):
    assert indexed["studies"][expected].id in ids(backend, query)


def test_author_names_match_with_and_without_nordic_letters(backend, indexed):
    found = set(ids(backend, "Odegard")) & set(ids(backend, "Ødegård"))
    assert sid(indexed, "rus", "forlop", "treat") <= found


def test_title_match_outranks_abstract_match(backend, indexed):
    found = ids(backend, "housing")
    assert found[0] == indexed["studies"]["abstract_only"].id
    found = ids(backend, "treatment")
    title_hits = sid(indexed, "treat", "reverse")
    assert set(found[:2]) == title_hits


def test_short_queries_need_every_word_long_queries_rank_by_most(backend, indexed):
    assert ids(backend, "integrated treatment oslo") == [indexed["studies"]["treat"].id]
    assert ids(backend, "integrated treatment bergen") == []
    # four words, three of them in the study: found (a pasted title or a question still works)
    assert indexed["studies"]["treat"].id in ids(backend, "integrated treatment dual bergen")
    # a long query cuts nothing off: a study with only some of the words is still a hit, ranked
    # below the one that has more of them
    found = ids(backend, "integrated treatment dual disorder bergen tromsø")
    assert found[0] == indexed["studies"]["treat"].id
    only_some = ids(backend, "treatment bergen tromsø stavanger")
    assert set(only_some) >= sid(indexed, "treat", "reverse")
    assert ids(backend, "bergen tromsø stavanger kristiansand") == []


def test_phrases_respect_word_order(backend, indexed):
    found = set(ids(backend, '"community treatment"'))
    assert indexed["studies"]["treat"].id in found
    assert indexed["studies"]["reverse"].id not in found


def test_or_and_not(backend, indexed):
    assert sid(indexed, "rus", "abstract_only") <= set(ids(backend, "ruslidelser OR housing"))
    found = set(ids(backend, "treatment -community"))
    assert indexed["studies"]["treat"].id not in found
    assert set(ids(backend, "treatment NOT community")) == found


def test_field_prefixes(backend, indexed):
    assert ids(backend, "title:housing") == [indexed["studies"]["abstract_only"].id]
    assert set(ids(backend, "abstract:housing")) == sid(indexed, "abstract_only")
    assert indexed["studies"]["rus"].id in ids(backend, "author:Hansen")
    assert indexed["studies"]["psyk"].id not in ids(backend, "author:Hansen")
    assert set(ids(backend, "topic:ungdom")) == sid(indexed, "rus")
    assert ids(backend, "doi:https://doi.org/10.1000/TREAT.1") == [indexed["studies"]["treat"].id]
    assert set(ids(backend, "year:2016..2019")) == sid(indexed, "psyk", "forlop", "abstract_only")
    assert set(ids(backend, "year:..2012")) == sid(indexed, "rus", "reverse")


def test_prefix_search(backend, indexed):
    assert sid(indexed, "treat", "reverse", "psyk") - set(ids(backend, "treat*")) == {indexed["studies"]["psyk"].id}
    assert indexed["studies"]["forlop"].id in ids(backend, "pasient*")


@pytest.mark.parametrize("query", ['"unbalanced quote', "OR", "NOT", "treatment OR", "-", "***", "title:",
                                   "a\x00b\x07c", "year:abc", "((treatment", "x" * 900, "doi:", "ø" * 50])
def test_malformed_queries_never_fail(backend, indexed, query):
    result = search(backend, query)
    known = {s.id for s in indexed["studies"].values()}
    assert len(result.hits) <= result.total and {hit.id for hit in result.hits} <= known


def test_filters(backend, indexed):
    t = indexed["topics"]
    assert set(ids(backend, filters=SearchFilters(year_from=2018, year_to=2019))) == sid(indexed, "forlop",
                                                                                          "abstract_only")
    assert set(ids(backend, filters=SearchFilters(types=["report"]))) == sid(indexed, "rus")
    assert set(ids(backend, filters=SearchFilters(designs=["qualitative"]))) == sid(indexed, "psyk", "forlop",
                                                                                     "reverse")
    assert set(ids(backend, filters=SearchFilters(languages=["nb"]))) == sid(indexed, "rus", "psyk", "forlop")
    assert set(ids(backend, filters=SearchFilters(topic_ids=[t["act"].id]))) == sid(indexed, "forlop", "treat")
    assert set(ids(backend, filters=SearchFilters(researcher_ids=[indexed["per"].id]))) == sid(indexed, "psyk")
    trust_and_units = sorted(Institution.descendant_ids([indexed["trust"].id]))  # as the API expands it
    assert set(ids(backend, filters=SearchFilters(institution_ids=trust_and_units))) == sid(
        indexed, "rus", "forlop")  # Kari works in a unit of the trust
    assert set(ids(backend, filters=SearchFilters(has_summary=True))) == sid(indexed, "treat")
    assert set(ids(backend, "behandling", filters=SearchFilters(languages=["nb"]))) == sid(indexed, "psyk")


def test_facets_count_with_the_other_filters_applied(backend, indexed):
    result = search(backend, filters=SearchFilters(designs=["qualitative"]))
    facets = {name: {v.value: v.count for v in values} for name, values in result.facets.items()}
    assert result.total == 3
    # the design facet ignores its own filter, so the other designs stay visible with their counts
    assert facets["design"] == {"qualitative": 3, "rct": 1, "cross_sectional": 1, "cohort": 1}
    # the other facets count only qualitative studies
    assert facets["language"] == {"nb": 2, "en": 1}
    assert facets["year"] == {2010: 1, 2016: 1, 2019: 1}
    assert facets["researcher"] == {indexed["kari"].id: 1, indexed["per"].id: 1}
    assert facets["topic"] == {indexed["topics"]["act"].id: 1}
    # an institution counts the studies of its sub-units too
    trust, unit = indexed["trust"].id, indexed["kari"].affiliations.get().institution_id
    assert facets["institution"] == {trust: 1, unit: 1}


@pytest.mark.parametrize("facets", [True, False])
def test_the_total_counts_every_match_with_or_without_facets(backend, indexed, facets):
    # Elasticsearch takes the total from the facet request when facets are asked for
    both = SearchFilters(designs=["qualitative", "rct"], languages=["en"])
    result = search(backend, "treatment", filters=both, facets=facets, page_size=1)
    assert result.total == 2 and len(result.hits) == 1 and result.next_cursor is not None
    assert search(backend, "treatment", filters=SearchFilters(designs=["rct"]), facets=facets).total == 1
    assert search(backend, facets=facets).total == Study.objects.filter(status="published").count()
    assert search(backend, "nothingmatchesthis", facets=facets).total == 0


def test_highlights_mark_matches(backend, indexed):
    hit = search(backend, "ruslidelse").hits[0]
    assert "<mark>Ruslidelser</mark>" in hit.highlights["title"][0]
    hit = search(backend, "housing").hits[0]
    assert any("<mark>housing</mark>" in f for f in hit.highlights["abstract"])


def test_sorting(backend, indexed):
    newest = ids(backend, sort="newest")
    assert newest[0] == indexed["studies"]["treat"].id and newest[-1] == indexed["studies"]["reverse"].id
    assert ids(backend, sort="oldest")[0] == indexed["studies"]["reverse"].id
    titles = [Study.objects.get(pk=i).title for i in ids(backend, sort="title")]
    assert titles == sorted(titles, key=str.lower)


def test_pagination_and_cursor_cover_everything_once(backend, indexed):
    first = search(backend, sort="newest", page_size=2)
    assert first.total == 6 and len(first.hits) == 2
    seen = [h.id for h in first.hits]
    cursor = first.next_cursor
    while cursor:
        page = search(backend, sort="newest", page_size=2, search_after=cursor)
        seen += [h.id for h in page.hits]
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == 6
    page2 = search(backend, sort="newest", page_size=2, page=2)
    assert [h.id for h in page2.hits] == seen[2:4]


def test_drafts_only_for_curators(backend, indexed):
    draft = indexed["studies"]["draft"].id
    assert draft not in ids(backend, "cannabis")
    assert draft in ids(backend, "cannabis", filters=SearchFilters(include_drafts=True))


def test_suggest_titles_researchers_and_topics(backend, indexed):
    kinds = {(s.kind, s.text) for s in backend.suggest("Ruslid")}
    assert ("study", "Ruslidelser hos unge voksne") in kinds
    assert any(k == "researcher" and "Ødegård" in t for k, t in {(s.kind, s.text) for s in backend.suggest("Ødeg")})
    assert ("topic", "Ungdom") in {(s.kind, s.text) for s in backend.suggest("ungd")}
    assert all(s.text != "Unpublished draft about cannabis treatment" for s in backend.suggest("Unpub"))


def test_suggest_from_any_word_of_a_title(backend, indexed):
    """Autocompletion finds a title by the beginning of any of its words, the words typed before it
    whole and in the title too."""
    assert ("study", "Ruslidelser hos unge voksne") in {(s.kind, s.text) for s in backend.suggest("unge vok")}
    assert ("study", "Ruslidelser hos unge voksne") not in {(s.kind, s.text) for s in backend.suggest("eldre vok")}


def test_did_you_mean(backend, indexed):
    result = search(backend, "tretment")
    assert result.total == 0
    assert result.did_you_mean == "treatment"
    assert search(backend, "treatment").did_you_mean is None


def test_related_studies(backend, indexed):
    related = [h.id for h in backend.related(indexed["studies"]["treat"].id)]
    assert indexed["studies"]["treat"].id not in related
    assert indexed["studies"]["reverse"].id in related[:3]
    assert indexed["studies"]["draft"].id not in related


def test_researchers_and_summaries(backend, indexed):
    assert ids(backend, "Ødegård", kind="researchers") == [indexed["kari"].id]
    assert ids(backend, "Sather", kind="researchers") == [indexed["per"].id]
    found = ids(backend, "behandling", kind="summaries")
    assert found == [indexed["summary"].id]  # the draft summary is not searchable


def test_reconcile_repairs_missing_stale_and_orphan_documents(backend, indexed):
    s = indexed["studies"]
    # drift: a study the index never saw, a change it missed, and a study deleted behind its back
    from search import sync

    with sync.paused():
        new = factories.study(title="Motivational interviewing in outpatient care")
        Study.objects.filter(pk=s["abstract_only"].pk).update(title="Supported housing")
        Study.objects.filter(pk=s["reverse"].pk).delete()
    refresh(backend)
    assert new.id not in ids(backend, "motivational")
    report = backend.reconcile(["studies"])
    refresh(backend)
    assert report["studies"] == {"missing": 1, "stale": 1, "orphans": 1}
    assert ids(backend, "motivational") == [new.id]
    assert s["abstract_only"].id in ids(backend, "supported")
    assert s["reverse"].id not in ids(backend, "lessons")
    assert backend.reconcile(["studies"])["studies"] == {"missing": 0, "stale": 0, "orphans": 0}


def test_rebuild_replaces_the_index(backend, indexed):
    """A rebuild reads every study from the database afresh: changes the index missed are in it, and a
    study deleted behind the index's back is gone."""
    from search import sync

    s = indexed["studies"]
    with sync.paused():
        Study.objects.filter(pk=s["abstract_only"].pk).update(title="Supported housing rebuilt")
        Study.objects.filter(pk=s["reverse"].pk).delete()
    refresh(backend)
    assert ids(backend, "rebuilt") == []
    result = backend.rebuild(["studies"])
    refresh(backend)
    assert "studies" in result
    assert ids(backend, "rebuilt") == [s["abstract_only"].id]
    assert s["reverse"].id not in ids(backend, "lessons")
    assert indexed["studies"]["rus"].id in ids(backend, "ruslidelse")


def test_a_rebuild_and_a_reconcile_cover_every_page_of_ids(backend, indexed, monkeypatch):
    """Ids are read a page at a time: with pages of two, a rebuild still indexes every study, and a
    reconcile afterwards finds nothing missing or orphaned (a page it skipped would show up as either)."""
    from search import sources

    monkeypatch.setattr(sources, "ID_PAGE", 2)
    everything = set(Study.objects.values_list("id", flat=True))
    assert len(everything) > 2 * sources.ID_PAGE
    backend.rebuild(["studies"])
    refresh(backend)
    assert set(backend.indexed_digests("studies")) == everything
    assert backend.reconcile(["studies"])["studies"] == {"missing": 0, "stale": 0, "orphans": 0}


def test_a_reconcile_read_a_page_at_a_time_repairs_drift_on_every_page(backend, indexed, monkeypatch):
    """Reconcile merges the database's ids and the index's, both in pages (here of two), and repairs as it
    goes (here every two documents): drift before, between and after the pages is all found and repaired."""
    from search import sources, sync
    from search.backends import base

    monkeypatch.setattr(sources, "ID_PAGE", 2)
    monkeypatch.setattr(backend, "digest_page", 2)
    monkeypatch.setattr(base, "RECONCILE_BATCH", 2)
    studies = sorted(Study.objects.all(), key=lambda s: s.id)
    assert len(studies) >= 6
    first, middle, last = studies[0], studies[len(studies) // 2], studies[-1]
    with sync.paused():
        Study.objects.filter(pk=first.pk).delete()                      # an orphan before every page
        Study.objects.filter(pk=middle.pk).update(title="Peer support drift")  # stale, mid-way
        Study.objects.filter(pk=last.pk).delete()                       # an orphan after the last page
        new = [factories.study(title=f"Contingency management drift {i}") for i in range(3)]  # missing
    refresh(backend)
    report = backend.reconcile(["studies"])
    refresh(backend)
    assert report["studies"] == {"missing": 3, "stale": 1, "orphans": 2}
    assert set(backend.indexed_digests("studies")) == set(Study.objects.values_list("id", flat=True))
    assert ids(backend, "peer support drift") == [middle.id]
    assert sorted(ids(backend, "contingency drift")) == sorted(s.id for s in new)
    assert backend.reconcile(["studies"])["studies"] == {"missing": 0, "stale": 0, "orphans": 0}


def test_a_page_of_ids_is_built_by_its_range_into_the_same_documents(db):
    """A rebuild's page (every id from its first to its last) is read by range, not by a list of a
    thousand ids; its documents, authors, topics and summaries are the very ones built from the list."""
    from search import sources

    topic = factories.topic(slug="housing-range", label_nb="Bolig", label_en="Housing")
    made = [factories.study(title=f"Ranged {i}", authors=(f"Berg, Kari {i}", "Smith, John"), status="published")
            for i in range(5)]
    made[1].topics.add(topic)
    factories.summary(studies=[made[3]], status="published", title="Bolig først")
    (page,) = sources.id_pages("studies", size=10)
    assert isinstance(page, sources.IdPage) and page.span == (made[0].id, made[-1].id)
    by_range, by_list = sources.build("studies", page), sources.build("studies", list(page))
    assert by_range == by_list and len(by_range) == 5
    assert by_range[made[1].id]["topic_labels"] == ["Bolig", "Housing"]
    assert "Bolig først" in by_range[made[3].id]["summary_text"]
    assert by_range[made[0].id]["author_family_names"] == ["Berg", "Smith"]


def test_id_pages_are_ascending_and_end_with_the_remainder(db):
    from search import sources

    made = sorted(factories.study(title=f"Paged {i}").id for i in range(5))
    assert list(sources.id_pages("studies", size=2)) == [made[0:2], made[2:4], made[4:]]
    assert list(sources.id_pages("studies", size=5)) == [made]


def test_an_incomplete_draft_without_a_title_is_indexed_and_found_by_its_other_fields(backend, indexed):
    untitled = factories.study(title="", status="draft", year=1987, authors=("Kvistad, Gunnhild",),
                               abstract="Alcohol and anxiety among fishermen on the coast.")
    backend.index("studies", [untitled.id])
    refresh(backend)
    drafts = SearchFilters(include_drafts=True)
    assert ids(backend, "Kvistad", filters=drafts) == [untitled.id]
    assert ids(backend, "fishermen", filters=drafts) == [untitled.id]
    assert untitled.id not in ids(backend, "fishermen")  # a draft, as any other
    assert all(s.text for s in backend.suggest("Kvi", include_drafts=True))  # no empty suggestion
