"""Bad input ends in a clear job failure or in per-entry failures: never a crash, never a silent partial
write. Property-based: for any small input the whole import path never raises and every raw entry has
exactly one outcome."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biblio import read_bibtex
from apps.imports.models import ImportOutcome, JobStatus, Outcome
from apps.studies.models import Study
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.mark.parametrize("data,why", [
    (b"", "empty"),
    (b"This is a letter, not a bibliography.\nRegards, Kari\n", "is this a BibTeX file"),
    (bytes(range(256)) * 40, "binary"),
    (b'[{"id": "x", "title": "CSL JSON"}]', "JSON"),
    (b"@string{a = {b}}\n@comment{nothing}\n", "only @string"),
])
def test_not_bibtex_fails_the_job_clearly_and_writes_nothing(data, why):
    job = factories.import_file(data)
    assert job.status == JobStatus.FAILED
    assert why.lower() in job.error.lower() and "Nothing was imported" in job.error
    assert not ImportOutcome.objects.filter(job=job).exists() and not Study.objects.exists()


def test_a_ris_file_imported_as_bibtex_on_purpose_fails_saying_it_is_ris():
    job = factories.import_file(b"TY  - JOUR\nTI  - A RIS file\nER  - \n", format="bibtex")
    assert job.status == JobStatus.FAILED and job.format == "bibtex"
    assert "looks like a RIS file" in job.error and "RIS (.ris)" in job.error
    assert not ImportOutcome.objects.filter(job=job).exists() and not Study.objects.exists()


def test_braces_nested_ten_thousand_deep():
    text = "@article{deep, title={" + "{" * 10_000 + "x" + "}" * 10_000 + "}, year={2020}}\n" \
           "@article{ok, title={Fine}, year={2020}}\n"
    job = factories.import_file(text)
    assert job.status == JobStatus.DONE and sum(job.counts.values()) == 2
    assert ImportOutcome.objects.get(job=job, index=1).outcome == Outcome.CREATED


def test_unclosed_braces_ten_thousand_deep():
    job = factories.import_file("@article{deep, title={" + "{" * 10_000 + "x}, year={2020}}\n")
    assert job.status == JobStatus.DONE and job.counts["failed"] == 1


def test_a_one_megabyte_field():
    text = "@article{big, title={Big}, year={2020}, abstract={" + "word " * 200_000 + "}, pages={" + "1" * 100 + "}}"
    job = factories.import_file(text)
    o = ImportOutcome.objects.get(job=job)
    assert o.outcome == Outcome.CREATED
    study = o.study
    assert len(study.abstract) > 900_000
    assert study.pages == "" and any("pages is 100 characters" in w for w in o.warnings)


def test_a_one_megabyte_title_is_compared_quickly():
    title = "Long " * 200_000
    job = factories.import_file(f"@article{{a, title={{{title}}}, year={{2020}}}}\n"
                                f"@article{{b, title={{{title}}}, year={{2020}}}}\n")
    assert job.counts == {**job.counts, "created": 1, "duplicate": 1}


def test_invalid_utf8_is_read_with_replacements():
    text = ("@article{a, title={Rus og psykisk helse \xe6\xf8\xe5}, author={\xd8deg\xe5rd, Kari}, year={2020}}\n"
            .encode("latin-1"))
    job = factories.import_file(text + "@article{b, title={Ok \u00e6}, year={2021}}\n".encode("utf-8"))
    assert job.status == JobStatus.DONE and sum(job.counts.values()) == 2
    assert job.warnings


def test_nul_bytes_and_control_characters_are_stored_safely():
    job = factories.import_file("@article{a, title={Nul\x00 and \x07bell}, year={2020}}\n")
    o = ImportOutcome.objects.get(job=job)
    assert o.outcome == Outcome.CREATED
    assert "\x00" not in o.study.title and "\x00" not in o.study.source_entry


def test_out_of_range_values_are_left_out_with_a_warning():
    job = factories.import_file("@article{a, title={Old}, year={1200}, langid={klingon}, url={not a url}, "
                                "volume={" + "9" * 60 + "}}\n")
    o = ImportOutcome.objects.get(job=job)
    study = o.study
    assert (study.year, study.language, study.url, study.volume) == (None, "", "", "")
    assert len(o.warnings) >= 4
    assert "year={1200}" in study.source_entry  # nothing lost: the raw entry keeps it


ENTRY_PARTS = st.sampled_from([
    "@article{", "@book(", "@string{x={y}}", "@comment{", "title", "author", "year", "doi", "=", "{", "}", "(", ")",
    ",", "\"", "#", "and", " ", "\n", "%", "\\o", "\\'e", "Ødegård", "2020", "10.1000/x", "x", "@", "others",
])


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(st.lists(ENTRY_PARTS, max_size=40).map("".join) | st.binary(max_size=300))
def test_any_small_input_never_raises_and_every_entry_has_one_outcome(data):
    raw = data if isinstance(data, bytes) else data.encode("utf-8")
    expected = len(read_bibtex(raw).entries)
    job = factories.import_file(raw)
    outcomes = ImportOutcome.objects.filter(job=job).count()
    if expected == 0:
        assert job.status == JobStatus.FAILED and job.error and outcomes == 0
    else:
        assert job.status == JobStatus.DONE, job.error
        assert outcomes == expected == sum(job.counts.values())
    assert Study.objects.filter(import_outcomes__job=job).count() <= job.counts.get("created", 0)
