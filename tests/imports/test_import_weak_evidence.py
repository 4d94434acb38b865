"""A title alone is not evidence of the same work, and clearly different abstracts keep two works apart (or,
where the rest of the evidence is strong, send the match to a curator); real duplicates still merge."""
import pytest

from apps.imports.models import ImportOutcome, Outcome
from apps.studies.models import Study
from tests import factories

pytestmark = pytest.mark.django_db

CATS = ("Cats living with people who use opioids were observed for two years; owners reported changes in "
        "sleeping, feeding and grooming routines, and veterinarians recorded weight and stress markers.")
DOGS = ("Municipal housing programmes for adults with severe mental illness were compared across twelve "
        "Norwegian cities, measuring tenancy duration, hospital admissions and employment after placement.")
CATS_CUT = CATS[:120] + "..."  # the same abstract, cut short by a database export
TITLE = "Integrated treatment for patients with co-occurring substance use and psychosis"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True, params=["lookup", "preload"])
def blocks_mode(request, monkeypatch):
    monkeypatch.setattr("apps.imports.decide.PRELOAD_MIN_ENTRIES", 1 if request.param == "preload" else 10**9)


def entry(key, title, **fields):
    body = "".join(f"  {name} = {{{value}}},\n" for name, value in fields.items())
    return f"@article{{{key},\n  title = {{{title}}},\n{body}}}\n"


def outcomes(job):
    return [(o.outcome, o.duplicate_of) for o in ImportOutcome.objects.filter(job=job).order_by("index")]


def test_generic_titles_with_different_abstracts_are_kept_apart_in_a_file():
    # Zotero/Better BibTeX gives such entries the same key: title, key and "no year" used to be enough
    text = (entry("noauthor_summary", "Summary", abstract=CATS) + entry("noauthor_summary", "Summary", abstract=DOGS)
            + entry("noauthor_corresponding", "Corresponding author", abstract=DOGS)
            + entry("noauthor_corresponding", "Corresponding author", abstract=CATS))
    job = factories.import_file(text)
    assert outcomes(job) == [("created", None)] * 4
    assert sorted(Study.objects.filter(title="Summary").values_list("abstract", flat=True)) == sorted([CATS, DOGS])


def test_a_generic_title_alone_is_not_enough_without_abstracts_either():
    text = entry("s1", "Summary", journal="Tidsskrift A") + entry("s2", "Summary", journal="Tidsskrift B") \
        + entry("e1", "Editorial", year=2019) + entry("e2", "Editorial", year=2019)
    job = factories.import_file(text)
    assert [o for o, _ in outcomes(job)] == ["created", "review", "created", "review"]
    review = ImportOutcome.objects.get(job=job, index=1)
    assert "the title alone is not enough" in review.message


def test_a_generic_title_with_a_different_abstract_is_not_merged_into_a_stored_study():
    stored = factories.study(title="Summary", abstract=CATS, year=None, authors=(), status="draft")
    job = factories.import_file(entry("noauthor_summary", "Summary", abstract=DOGS), policy="overwrite")
    assert outcomes(job) == [("created", None)]
    stored.refresh_from_db()
    assert stored.abstract == CATS
    assert Study.objects.filter(title="Summary", abstract=DOGS).exists()


def test_a_generic_title_with_no_other_evidence_against_a_stored_study_goes_to_review():
    stored = factories.study(title="Corresponding author", abstract="", year=None, authors=(), status="draft")
    job = factories.import_file(entry("x", "Corresponding author", abstract=DOGS))
    (o,) = ImportOutcome.objects.filter(job=job)
    assert o.outcome == Outcome.REVIEW and o.study_id == stored.pk
    stored.refresh_from_db()
    assert stored.abstract == ""


def test_strong_evidence_with_different_abstracts_goes_to_review_not_merged():
    text = entry("a", TITLE, author="Ødegård, Kari", year=2015, abstract=CATS) \
        + entry("b", TITLE, author="Ødegård, Kari", year=2015, abstract=DOGS) \
        + entry("c", "A first paper", doi="10.1000/x1", abstract=CATS) \
        + entry("d", "Another title altogether", doi="10.1000/x1", abstract=DOGS)
    job = factories.import_file(text)
    assert [o for o, _ in outcomes(job)] == ["created", "review", "created", "review"]
    for index in (1, 3):
        assert "the abstracts differ" in ImportOutcome.objects.get(job=job, index=index).message
    stored = Study.objects.get(doi="10.1000/x1")
    again = factories.import_file(entry("e", "A first paper", doi="10.1000/x1", abstract=DOGS))
    (o,) = ImportOutcome.objects.filter(job=again)
    assert o.outcome == Outcome.REVIEW and o.study_id == stored.pk and "the abstracts differ" in o.message


def test_real_duplicates_still_merge():
    text = (entry("a", TITLE, author="Ødegård, Kari and Smith, John", year=2015, abstract=CATS)
            + entry("b", TITLE, author="Ødegård, Kari and Smith, John", year=2015, abstract=CATS_CUT)  # same, cut
            + entry("c", TITLE, author="Ødegård, Kari and Smith, John", year=2015)  # no abstract
            + entry("d", "Summary", doi="10.1000/s1", abstract=DOGS)
            + entry("e", "Summary of findings", doi="10.1000/s1"))  # same DOI, no abstract
    job = factories.import_file(text)
    assert outcomes(job) == [("created", None), ("duplicate", 0), ("duplicate", 0), ("created", None),
                             ("duplicate", 3)]
    # against the database: same title, year and authors with one missing abstract merges, and fills it
    study = Study.objects.get(title=TITLE)
    Study.objects.filter(pk=study.pk).update(abstract="")
    again = factories.import_file(entry("z", TITLE, author="Ødegård, Kari and Smith, John", year=2015,
                                        abstract=CATS))
    (o,) = ImportOutcome.objects.filter(job=again)
    assert (o.outcome, o.study_id, o.changed_fields) == ("merged", study.pk, ["abstract"])
    study.refresh_from_db()
    assert study.abstract == CATS
    same_doi = factories.import_file(entry("y", "Summary", doi="https://doi.org/10.1000/S1", abstract=DOGS))
    assert outcomes(same_doi) == [("merged", None)]


def test_a_curator_says_different_works_for_the_same_doi_and_the_doi_stays_with_the_stored_study(curator_client):
    factories.import_file(entry("c", "A first paper", doi="10.1000/x1", abstract=CATS))
    stored = Study.objects.get(doi="10.1000/x1")
    job = factories.import_file(entry("d", "Another title altogether", doi="10.1000/X1", abstract=DOGS))
    (o,) = ImportOutcome.objects.filter(job=job)
    assert o.outcome == Outcome.REVIEW
    response = curator_client.post(f"/api/v1/import-reviews/{o.review.pk}/resolve/", {"decision": "create"},
                                   format="json")
    assert response.status_code == 200, response.content
    o.refresh_from_db()
    assert o.outcome == Outcome.CREATED and o.study_id != stored.pk
    assert "DOI 10.1000/x1 belongs to study" in o.message
    new = Study.objects.get(pk=o.study_id)
    assert (new.doi, new.abstract) == ("", DOGS) and "10.1000/X1" in new.source_entry
    assert Study.objects.get(pk=stored.pk).abstract == CATS
