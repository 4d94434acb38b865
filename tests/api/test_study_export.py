"""Export: BibTeX, RIS and CSL-JSON by ?format= or Accept, the list's filters and q, published studies for
anonymous users, unique stable keys, Unicode that BibTeX and biblatex read back, streamed in chunks."""
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.studies import export
from biblio import read_bibtex
from apps.studies.models import Authorship, Study
from tests import factories

pytestmark = pytest.mark.django_db


def body(response):
    assert response.streaming, "exports are streamed"
    return b"".join(response.streaming_content).decode("utf-8")


@pytest.fixture
def studies(db):
    kari = factories.researcher(given_name="Kari", family_name="Ødegård", orcid="0000-0002-1825-0097")
    a = factories.study(title="Rusbehandling på Østlandet", authors=[kari, "Ørstavik, Åse"], year=2019,
                        doi="10.1000/one", source_key="odegard2019", language="nb", study_type="article",
                        venue=factories.venue(name="Tidsskrift for Den norske legeforening"))
    b = factories.study(title="Housing first: a cohort study", authors=("Hansen, Per",), year=2020,
                        source_key="odegard2019", study_type="report")
    c = factories.study(title="Draft study of α-synuclein", status="draft", authors=("Müller, Jürgen",), year=2021)
    return a, b, c


def test_formats_by_query_parameter(curator_client, studies):
    bib = curator_client.get("/api/v1/studies/export/?format=bibtex")
    assert bib.status_code == 200 and bib["Content-Type"].startswith("application/x-bibtex")
    assert 'filename="studies.bib"' in bib["Content-Disposition"]
    assert len(read_bibtex(body(bib)).entries) == 3
    ris = body(curator_client.get("/api/v1/studies/export/?format=ris"))
    assert ris.count("TY  - ") == 3 and ris.count("ER  - ") == 3 and "TY  - RPRT" in ris
    csl = json.loads(body(curator_client.get("/api/v1/studies/export/?format=csljson")))
    assert len(csl) == 3 and {item["type"] for item in csl} >= {"article-journal", "report"}


@pytest.mark.parametrize("accept,expected", [
    ("application/x-bibtex", "application/x-bibtex"),
    ("application/x-research-info-systems", "application/x-research-info-systems"),
    ("application/vnd.citationstyles.csl+json", "application/vnd.citationstyles.csl+json"),
    ("application/json", "application/vnd.citationstyles.csl+json"),
    ("text/html,application/xhtml+xml,*/*;q=0.8", "application/x-bibtex"),
    (None, "application/x-bibtex"),
])
def test_formats_by_accept_header(anon_client, studies, accept, expected):
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = anon_client.get("/api/v1/studies/export/", **headers)
    assert response.status_code == 200 and response["Content-Type"].startswith(expected)


def test_unknown_format_is_400_and_unacceptable_accept_is_406(anon_client, studies):
    response = anon_client.get("/api/v1/studies/export/?format=xml")
    assert response.status_code == 400 and "format" in response.json()
    response = anon_client.get("/api/v1/studies/export/", HTTP_ACCEPT="image/png")
    assert response.status_code == 406 and "detail" in response.json()


def test_anonymous_users_export_published_studies_only(anon_client, studies):
    a, b, draft = studies
    text = body(anon_client.get("/api/v1/studies/export/?format=bibtex"))
    titles = {e.record.title for e in read_bibtex(text).entries}
    assert titles == {a.title, b.title}
    assert anon_client.get(f"/api/v1/studies/{draft.pk}/export/").status_code == 404


def test_the_list_filters_apply(curator_client, studies):
    a, b, c = studies
    text = body(curator_client.get("/api/v1/studies/export/?format=bibtex&year_from=2020&type=report"))
    assert [e.record.title for e in read_bibtex(text).entries] == [b.title]
    assert curator_client.get("/api/v1/studies/export/?year_from=nope").status_code == 400


def test_q_goes_through_the_search_backend(curator_client, anon_client, backend, studies):
    from search.sync import drain
    from tests.search.conftest import refresh

    drain(backend=backend)
    refresh(backend)
    text = body(curator_client.get("/api/v1/studies/export/?format=bibtex&q=housing"))
    assert [e.record.title for e in read_bibtex(text).entries] == ["Housing first: a cohort study"]
    text = body(anon_client.get("/api/v1/studies/export/?format=bibtex&q=synuclein"))
    assert read_bibtex(text).entries == []  # the draft is not found for anonymous users
    assert curator_client.get("/api/v1/studies/export/?q=" + "x" * 2000).status_code == 400


def test_one_study(anon_client, studies):
    a = studies[0]
    response = anon_client.get(f"/api/v1/studies/{a.pk}/export/?format=csljson")
    assert response.status_code == 200 and f'study-{a.pk}.json' in response["Content-Disposition"]
    (item,) = json.loads(body(response))
    assert item["title"] == a.title and item["DOI"] == "10.1000/one"
    assert item["author"][0] == {"family": "Ødegård", "given": "Kari"}
    assert item["container-title"] == "Tidsskrift for Den norske legeforening"


def test_citation_keys_are_unique_and_stable(curator_client, studies):
    first = read_bibtex(body(curator_client.get("/api/v1/studies/export/?format=bibtex"))).entries
    keys = [e.key for e in first]
    assert len(set(k.lower() for k in keys)) == 3
    assert "odegard2019" in keys  # the stored source key, used once
    assert any(k.startswith("muller2021") for k in keys)  # generated, ASCII
    again = [e.key for e in read_bibtex(body(curator_client.get("/api/v1/studies/export/?format=bibtex"))).entries]
    assert again == keys


def test_unicode_is_written_for_bibtex_and_biblatex(curator_client, studies):
    text = body(curator_client.get("/api/v1/studies/export/?format=bibtex"))
    assert text.startswith("% Encoding: UTF-8")
    assert "{\\O}deg{\\aa}rd, Kari" in text and "{\\O}rstavik, {\\AA}se" in text and "M{\\\"u}ller" in text
    assert "α" in text  # no LaTeX form: kept as UTF-8
    assert "orcid-numbers" in text and "0000-0002-1825-0097" in text  # from the linked researcher
    back = {e.record.title: e.record for e in read_bibtex(text.encode("utf-8")).entries}
    rec = back["Rusbehandling på Østlandet"]
    assert [(p.family, p.given) for p in rec.authors] == [("Ødegård", "Kari"), ("Ørstavik", "Åse")]
    assert rec.doi == "10.1000/one" and rec.language == "nb"


def test_latex_encoding():
    assert export.latex_encode("Ødegård Skjærvø Ł ç é ñ ı") == "{\\O}deg{\\aa}rd Skj{\\ae}rv{\\o} {\\L} {\\c{c}} " \
                                                             "{\\'e} {\\~n} {\\i}"
    assert export.bibtex_ascii("  url = {https://example.org/ø},\n  title = {ø},") == \
        "  url = {https://example.org/ø},\n  title = {{\\o}},"


def test_large_exports_stream_in_chunks_with_constant_queries(curator_client):
    def make(n):
        Study.objects.all().delete()
        rows = Study.objects.bulk_create([Study(title=f"Study {i}", year=2000 + i % 20, status="published")
                                          for i in range(n)])
        Authorship.objects.bulk_create([Authorship(study=s, position=1, name=f"Author{i}, A", family_name=f"Author{i}")
                                        for i, s in enumerate(rows)])

    make(export.CHUNK + 20)
    response = curator_client.get("/api/v1/studies/export/?format=ris")
    pieces = list(response.streaming_content)
    assert len(pieces) >= 2 and b"".join(pieces).decode().count("TY  - ") == export.CHUNK + 20

    def queries(n):
        make(n)
        with CaptureQueriesContext(connection) as ctx:
            body(curator_client.get("/api/v1/studies/export/?format=bibtex"))
        return len(ctx.captured_queries)

    assert queries(10) == queries(40)
