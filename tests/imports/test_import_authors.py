"""Printed author names link to researchers only when certain; ambiguous names are reported, never guessed."""
import pytest

from apps.imports.authors import given_compatible
from apps.imports.models import ImportOutcome
from apps.studies.models import Authorship
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def run(author, key="k", title="A study of integrated treatment", extra=""):
    text = f"@article{{{key}, title={{{title}}}, author={{{author}}}, year={{2020}}{extra}}}"
    job = factories.import_file(text)
    outcome = ImportOutcome.objects.get(job=job)
    return outcome, list(Authorship.objects.filter(study_id=outcome.study_id).order_by("position"))


@pytest.mark.parametrize("printed", ["{\\O}deg{\\aa}rd, K.", "Odegard, Kari", "Kari Ødegård", "Ødegård, Kari M."])
def test_family_name_and_initials_link_with_nordic_letters_folded(printed):
    kari = factories.researcher(given_name="Kari", family_name="Ødegård")
    outcome, (a,) = run(printed)
    assert a.researcher_id == kari.pk
    assert a.name == printed.replace("{\\O}deg{\\aa}rd", "Ødegård")  # the printed name is kept
    assert outcome.ambiguous_authors == []


@pytest.mark.parametrize("printed", ["Ødegård, Karin", "Ødegård, M.", "Ødegaard, Kari", "Ødegård"])
def test_other_given_names_or_family_names_do_not_link(printed):
    factories.researcher(given_name="Kari", family_name="Ødegård")
    _, (a,) = run(printed)
    assert a.researcher_id is None


def test_orcid_links_whatever_the_printed_name():
    r = factories.researcher(given_name="Kari", family_name="Ødegård", orcid="0000-0002-1825-0097")
    _, (a,) = run("family=Nordmann, given=K., orcid=0000-0002-1825-0097")
    assert a.researcher_id == r.pk


def test_a_researcher_with_another_orcid_is_never_linked():
    factories.researcher(given_name="Kari", family_name="Ødegård", orcid="0000-0001-5109-3700")
    _, (a,) = run("family=Ødegård, given=Kari, orcid=0000-0002-1825-0097")
    assert a.researcher_id is None


def test_two_researchers_of_the_same_name_stay_unlinked_and_are_reported():
    one = factories.researcher(given_name="Kari", family_name="Ødegård")
    two = factories.researcher(given_name="Kari", family_name="Odegard")
    outcome, (a,) = run("Ødegård, K.")
    assert a.researcher_id is None
    (amb,) = outcome.ambiguous_authors
    assert amb["name"] == "Ødegård, K." and sorted(amb["candidates"]) == sorted([one.pk, two.pk])


def test_co_author_evidence_picks_one_of_two_namesakes():
    one = factories.researcher(given_name="Kari", family_name="Ødegård")
    factories.researcher(given_name="Kari", family_name="Ødegård")
    colleague = factories.researcher(given_name="Per", family_name="Bråten")
    factories.study(authors=[one, colleague])
    outcome, (a, b) = run("Ødegård, K. and Bråten, Per")
    assert b.researcher_id == colleague.pk
    assert a.researcher_id == one.pk
    assert outcome.ambiguous_authors == []


def test_affiliation_evidence_picks_one_of_two_namesakes():
    oslo = factories.institution(name_nb="Oslo universitetssykehus", name_en="Oslo University Hospital")
    one = factories.researcher(given_name="Kari", family_name="Ødegård", institution=oslo)
    factories.researcher(given_name="Kari", family_name="Ødegård", institution=factories.institution())
    _, (a,) = run("Ødegård, Kari", extra=", affiliation={Oslo University Hospital, Norway}")
    assert a.researcher_id == one.pk


def test_two_printed_names_never_link_to_one_researcher():
    factories.researcher(given_name="Kari", family_name="Ødegård")
    outcome, (a, b) = run("Ødegård, Kari and Ødegård, K.")
    assert a.researcher_id is None and b.researcher_id is None
    assert len(outcome.ambiguous_authors) == 2


def test_given_name_compatibility():
    assert given_compatible("K.", "Kari")
    assert given_compatible("K. M.", "Kari")
    assert given_compatible("Kari-Marie", "K.-M.")
    assert not given_compatible("Kari", "Karin")
    assert not given_compatible("M. K.", "Kari")
    assert not given_compatible("", "Kari")
