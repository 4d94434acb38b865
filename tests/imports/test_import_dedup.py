"""Duplicate detection: identifiers decide, fuzzy matches above the threshold merge, uncertain ones wait
for a curator, vetoes keep different works apart, and the policy says what a merge changes."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.imports import matching
from apps.imports.models import ImportOutcome, Outcome, ReviewItem
from apps.imports.prepare import features
from apps.studies.models import Study
from tests import factories

pytestmark = pytest.mark.django_db

TITLE = "Integrated treatment for patients with co-occurring substance use and psychosis"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True, params=["lookup", "preload"])
def blocks_mode(request, monkeypatch):
    """Every rule holds both when the first-author blocks are looked up as entries need them (small
    files) and when they are all read at the start of the job (large files)."""
    if request.param == "preload":
        monkeypatch.setattr("apps.imports.decide.PRELOAD_MIN_ENTRIES", 1)
    else:
        monkeypatch.setattr("apps.imports.decide.PRELOAD_MIN_ENTRIES", 10**9)
    return request.param


def entry(key="e1", title=TITLE, author="Ødegård, Kari and Smith, John", year=2015, **fields):
    lines = [f"@article{{{key},", f"  title = {{{title}}},", f"  author = {{{author}}},"]
    if year is not None:
        lines.append(f"  year = {{{year}}},")
    for name, value in fields.items():
        lines.append(f"  {name} = {{{value}}},")
    return "\n".join(lines) + "\n}\n"


def outcomes(job):
    return list(ImportOutcome.objects.filter(job=job).order_by("index"))


def one(job):
    (o,) = outcomes(job)
    return o


def existing(**kw):
    kw.setdefault("title", TITLE)
    kw.setdefault("authors", ("Ødegård, Kari", "Smith, John"))
    kw.setdefault("year", 2015)
    kw.setdefault("abstract", "")
    return factories.study(**kw)


# --------------------------------------------------------------------------- identifiers

def test_same_doi_in_any_case_decides_even_with_another_title():
    study = existing(doi="10.1000/abc.def", title="Something else entirely")
    o = one(factories.import_file(entry(doi="https://doi.org/10.1000/ABC.DEF")))
    assert (o.outcome, o.rule, o.study_id) == (Outcome.MERGED, "doi", study.pk)


def test_same_pmid_decides():
    study = existing(pmid="12345678", title="Other title")
    o = one(factories.import_file(entry(pmid="PMID: 12345678")))
    assert (o.outcome, o.rule, o.study_id) == (Outcome.MERGED, "pmid", study.pk)


def test_isbn_decides_between_books_not_between_chapters():
    book = existing(study_type="book", isbn="9780306406157", title="Handbook of dual diagnosis")
    text = "@book{b, title={A different title}, author={Ødegård, Kari}, year={2015}, isbn={0-306-40615-2}}"
    o = one(factories.import_file(text))
    assert (o.outcome, o.rule, o.study_id) == (Outcome.MERGED, "isbn", book.pk)
    chapter = ("@incollection{c, title={A chapter in the handbook}, author={Smith, John}, year={2015}, "
               "booktitle={Handbook of dual diagnosis}, isbn={9780306406157}, pages={10--20}}")
    assert one(factories.import_file(chapter)).outcome == Outcome.CREATED


# --------------------------------------------------------------------------- fuzzy

def test_a_fuzzy_match_above_the_threshold_merges_and_fills_empty_fields():
    study = existing(title=TITLE, volume="", abstract="")
    text = entry(title=TITLE.replace("co-occurring", "cooccurring") + ".", author="Odegard, K. and Smith, J.",
                 year=2016, volume="12", abstract="New abstract.")
    o = one(factories.import_file(text))
    assert (o.outcome, o.rule, o.study_id) == (Outcome.MERGED, "fuzzy", study.pk)
    assert o.score >= matching.UPPER
    study.refresh_from_db()
    assert study.volume == "12" and study.abstract == "New abstract."
    assert study.year == 2015  # filled only where empty: the year stays
    assert sorted(o.changed_fields) == ["abstract", "source_entry", "source_key", "volume"]
    assert o.previous["abstract"] == "" and o.previous["volume"] == ""


def test_an_uncertain_match_goes_to_the_review_queue_not_merged():
    study = existing(title="Integrated treatment for patients with substance use and psychosis in Norway")
    o = one(factories.import_file(entry(title="Integrated treatment of patients with substance use disorders "
                                        "and psychosis")))
    assert o.outcome == Outcome.REVIEW
    assert matching.LOWER <= o.score < matching.UPPER
    item = ReviewItem.objects.get(outcome=o)
    assert item.candidate_id == study.pk and item.status == "open"
    assert Study.objects.count() == 1


@pytest.mark.parametrize("field,ours,theirs", [
    ("doi", "10.1000/one", "10.1000/two"),
    ("isbn", "9780306406157", "9781861972712"),
    ("pages", "10--20", "30--40"),
    ("edition", "2", "3"),
    ("chapter", "4", "5"),
])
def test_a_differing_identifier_or_part_vetoes_a_fuzzy_match(field, ours, theirs):
    existing(**{field: factories_value(field, theirs)})
    o = one(factories.import_file(entry(**{field: ours})))
    assert o.outcome == Outcome.CREATED, o.message
    assert Study.objects.count() == 2


def factories_value(field, value):
    return value.replace("--", "–") if field == "pages" else value


def test_year_more_than_one_apart_or_another_first_author_is_another_work():
    existing(year=2012)
    assert one(factories.import_file(entry(key="a", year=2015))).outcome == Outcome.CREATED
    existing(title="A second title about integrated care", authors=("Hansen, Per",))
    o = one(factories.import_file(entry(key="b", title="A second title about integrated care",
                                        author="Johansen, Ola")))
    assert o.outcome == Outcome.CREATED


def test_numbers_in_titles_keep_parts_apart():
    existing(title="Mortality after treatment for substance use disorders: part 1")
    o = one(factories.import_file(entry(title="Mortality after treatment for substance use disorders: part 2")))
    assert o.outcome == Outcome.REVIEW  # never merged silently


def test_duplicates_inside_one_file():
    text = entry(key="a", doi="10.1000/x") + entry(key="b", doi="10.1000/X") + entry(key="c")
    job = factories.import_file(text)
    a, b, c = outcomes(job)
    assert a.outcome == Outcome.CREATED
    assert (b.outcome, b.duplicate_of, b.study_id, b.rule) == (Outcome.DUPLICATE, 0, a.study_id, "doi")
    assert (c.outcome, c.duplicate_of) == (Outcome.DUPLICATE, 0)
    assert Study.objects.count() == 1


# --------------------------------------------------------------------------- policies

@pytest.mark.parametrize("policy,abstract,volume,changed", [
    ("skip", "Old.", "", []),
    ("fill", "Old.", "7", ["source_entry", "source_key", "volume"]),
    ("overwrite", "New.", "7", ["abstract", "source_entry", "source_key", "volume"]),
])
def test_policy(policy, abstract, volume, changed):
    study = existing(doi="10.1000/p", abstract="Old.", volume="")
    o = one(factories.import_file(entry(doi="10.1000/p", abstract="New.", volume="7"), policy=policy))
    assert o.outcome == (Outcome.SKIPPED if policy == "skip" else Outcome.MERGED)
    study.refresh_from_db()
    assert (study.abstract, study.volume) == (abstract, volume)
    assert o.changed_fields == changed


def test_overwrite_replaces_authors_and_keeps_the_old_ones_for_undo():
    study = existing(doi="10.1000/q", authors=("Old, Author",))
    o = one(factories.import_file(entry(doi="10.1000/q"), policy="overwrite"))
    assert "authors" in o.changed_fields
    assert [a["name"] for a in o.previous["authors"]] == ["Old, Author"]
    assert list(study.authorships.values_list("name", flat=True)) == ["Ødegård, Kari", "Smith, John"]


def test_identifiers_that_point_at_two_studies_go_to_review():
    existing(doi="10.1000/taken", title="Some other work", authors=("Other, A",))
    existing(pmid="777")
    o = one(factories.import_file(entry(pmid="777", doi="10.1000/taken")))
    assert o.outcome == Outcome.REVIEW and "two different studies" in o.message
    assert Study.objects.count() == 2


# --------------------------------------------------------------------------- speed: indexed lookups

def test_candidate_lookup_does_not_grow_with_the_database():
    text = "".join(entry(key=f"k{i}", title=f"A study of integrated care number {i} in Norway",
                         author=f"Author{i}, Kari", doi=f"10.5555/{i}") for i in range(30))

    def queries_with(existing_studies):
        Study.objects.all().delete()
        for i in range(existing_studies):
            factories.study(title=f"Unrelated existing study {i}", authors=(f"Person{i}, A",), year=2000 + i % 20)
        with CaptureQueriesContext(connection) as ctx:
            factories.import_file(text)
        return len(ctx.captured_queries)

    assert queries_with(5) == queries_with(60)


def test_lookup_uses_the_title_key_and_first_author_indexes():
    study = existing()
    assert study.title_key == "integrated treatment for patients with co occurring substance use and psychosis"
    assert study.authorships.get(position=1).family_key == "odegard"
    f = features({"title": TITLE.upper(), "year": 2016, "study_type": "article"}, ["Odegard"])
    found = matching.load_candidates([f])
    assert [c.study_id for c in found] == [study.pk]


# --------------------------------------------------------------------------- first-author blocks

def test_blocks_preloaded_see_the_job_s_own_studies_and_look_forgotten_names_up_again():
    study = existing()
    blocks = matching.AuthorBlocks()
    blocks.preload()
    f = features({"title": TITLE, "year": 2016, "study_type": "article"}, ["Ødegård"])
    assert blocks.candidates([f]) == {study.pk}
    # a study the job writes is found without asking the database again
    blocks.add("odegard", 10**9, 2016, f.title_key)
    with CaptureQueriesContext(connection) as ctx:
        assert blocks.candidates([f]) == {study.pk, 10**9}
    assert len(ctx.captured_queries) == 0
    # after the job changed a study of that name, the name is read from the database again
    Study.objects.filter(pk=study.pk).update(year=1990)
    blocks.forget("odegard")
    with CaptureQueriesContext(connection) as ctx:
        assert blocks.candidates([f]) == set()
    assert len(ctx.captured_queries) == 1


def test_a_study_s_new_year_or_first_author_is_where_the_next_import_looks(curator):
    """The first-author block of a study follows its year and its first author however they change (a
    queryset update sends no signal; authors replaced through the service): an entry with a slightly
    different title is found only through that block."""
    from apps.studies.services import set_authors

    study = existing(year=2010)
    Study.objects.filter(pk=study.pk).update(year=2015)
    fuzzy = TITLE.replace("co-occurring", "cooccurring")
    o = one(factories.import_file(entry(key="a", title=fuzzy, year=2015, volume="3")))
    assert (o.outcome, o.rule, o.study_id) == (Outcome.MERGED, "fuzzy", study.pk)
    set_authors(study, [{"name": "Berg, Liv"}, {"name": "Smith, John"}], curator)
    o = one(factories.import_file(entry(key="b", title=fuzzy, author="Berg, Liv and Smith, John", year=2016,
                                        volume="3")))
    assert (o.outcome, o.rule, o.study_id) == (Outcome.MERGED, "fuzzy", study.pk)
    o = one(factories.import_file(entry(key="c", title=fuzzy, year=2015, volume="3")))  # its old first author
    assert o.outcome == Outcome.CREATED


def test_a_retitled_study_is_found_by_its_new_title_through_its_first_author_s_block():
    """The block lookup reads the title key from the first author's row (PostgreSQL: kept there by a
    trigger): a study retitled by a save or by a queryset update is compared by its new title."""
    from apps.studies.keys import title_key

    study = existing(year=2015)
    retitled = "Housing first for homeless adults with co-occurring disorders in Norway"
    study.title = retitled
    study.save()
    o = one(factories.import_file(entry(key="a", title=retitled.replace("homeless", "homelss"), volume="3")))
    assert (o.outcome, o.rule, o.study_id) == (Outcome.MERGED, "fuzzy", study.pk)
    again = "Supported employment for adults with co-occurring disorders in Norway"
    Study.objects.filter(pk=study.pk).update(title=again, title_key=title_key(again))
    o = one(factories.import_file(entry(key="b", title=again.replace("employment", "employmnt"), volume="3")))
    assert (o.outcome, o.rule, o.study_id) == (Outcome.MERGED, "fuzzy", study.pk)


def test_blocks_looked_up_keep_only_the_years_asked_for():
    near = existing(year=2015)
    existing(year=2010, doi="10.5555/far")  # the same name five years earlier: never a candidate
    blocks = matching.AuthorBlocks()
    f = features({"title": TITLE, "year": 2016, "study_type": "article"}, ["Odegard"])
    assert blocks.candidates([f]) == {near.pk}
    assert blocks.rows == 1
    with CaptureQueriesContext(connection) as ctx:  # the blocks are kept for the rest of the job
        blocks.candidates([f])
    assert len(ctx.captured_queries) == 0


def test_memory_stays_bounded_a_file_that_would_take_the_blocks_past_the_limit_looks_names_up(monkeypatch):
    """The preloaded blocks grow with the studies the job writes: the database and the file together
    must stay within PRELOAD_MAX_STUDIES, else names are looked up (at most MAX_ROWS kept)."""
    from apps.imports import decide

    monkeypatch.setattr(decide, "PRELOAD_MIN_ENTRIES", 1)
    monkeypatch.setattr(decide, "PRELOAD_MAX_STUDIES", 5)
    existing()
    existing(title="Another study", doi="10.5555/another")
    job = factories.import_file(entry(), run=False)
    within, beyond = decide.Decider(job), decide.Decider(job)
    within.maybe_preload(3)
    beyond.maybe_preload(4)
    assert within.blocks.complete and within.blocks.rows == 2
    assert not beyond.blocks.complete and beyond.blocks.rows == 0


def test_undo_of_an_author_change_is_in_the_audit_log(curator):
    """Undo restores the old author list through the one audited function (its copy wrote no entry)."""
    from apps.audit.models import AuditEntry
    from apps.imports import services

    study = existing(doi="10.1000/q", authors=("Old, Author",))
    job = factories.import_file(entry(doi="10.1000/q"), policy="overwrite")
    services.undo_job(curator, job)
    assert list(study.authorships.values_list("name", flat=True)) == ["Old, Author"]
    undo = [e for e in AuditEntry.objects.filter(object_type="study", object_id=study.pk).order_by("id")
            if "authors" in e.changes][-1]
    assert undo.changes["authors"] == {"from": ["Ødegård, Kari", "Smith, John"], "to": ["Old, Author"]}
    assert undo.actor == curator and undo.via.startswith("bibtex undo")


def test_typed_and_imported_names_split_the_same_way(curator_client):
    """A name typed in the API and the same name read from BibTeX get the same family name and key,
    so duplicate detection and author linking treat them as one person."""
    response = curator_client.post("/api/v1/studies/", {"title": "Typed", "authors": [
        {"name": "Jan van der Berg"}, {"name": "Smith, Jr., John"}]}, format="json")
    assert response.status_code == 201, response.json()
    typed = Study.objects.get(pk=response.json()["id"])
    imported = Study.objects.get(pk=one(factories.import_file(entry(
        doi="10.1000/names", author="Jan van der Berg and Smith, Jr., John"))).study_id)
    rows = [list(s.authorships.order_by("position").values_list("family_name", "given_name", "family_key"))
            for s in (typed, imported)]
    assert rows[0] == rows[1] == [("van der Berg", "Jan", "vanderberg"), ("Smith", "John Jr.", "smith")]
