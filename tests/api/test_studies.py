import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.studies.models import Study
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.mark.smoke
def test_create_study_with_authors_topics_and_venue(curator_client):
    parent = factories.topic(slug="x-treatment", label_en="Treatment", label_nb="Behandling")
    researcher = factories.researcher(given_name="Kari", family_name="Ødegård")
    response = curator_client.post("/api/v1/studies/", {
        "title": "  Integrated   treatment in FACT teams ", "year": 2019, "month": 5, "type": "article",
        "design": "rct", "language": "nb", "doi": "https://doi.org/10.1000/ABC.123",
        "isbn": "0-306-40615-2", "venue_input": {"name": "Tidsskrift for Den norske legeforening",
                                                  "issn": "0029-2001"},
        "authors": [{"name": "Ødegård, Kari", "researcher": researcher.pk, "corresponding": True},
                    {"name": "John Smith"}],
        "topics": ["x-treatment"], "keywords": ["ROP", "FACT"], "status": "published",
    }, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["title"] == "Integrated treatment in FACT teams"
    assert body["doi"] == "10.1000/abc.123"
    assert body["isbn"] == "9780306406157"
    assert body["venue"]["name"] == "Tidsskrift for Den norske legeforening"
    assert [a["name"] for a in body["authors"]] == ["Ødegård, Kari", "John Smith"]
    assert body["authors"][0]["researcher"] == researcher.pk and body["authors"][0]["corresponding"]
    assert body["authors"][1]["family_name"] == "Smith"
    assert body["topics"] == ["x-treatment"] and body["published_at"]
    study = Study.objects.get(pk=body["id"])
    assert study.created_by is not None and study.provenance == "api"
    assert parent.studies.count() == 1


@pytest.mark.smoke
@pytest.mark.parametrize("payload,field", [
    ({"year": 2019}, "title"),
    ({"title": "x", "doi": "not a doi"}, "doi"),
    ({"title": "x", "pmid": "12ab"}, "pmid"),
    ({"title": "x", "pmid": "0123"}, "pmid"),
    ({"title": "x", "isbn": "ISBN 0306406152"}, "isbn"),
    ({"title": "x", "year": 1200}, "year"),
    ({"title": 123}, "title"), ({"title": True}, "title"), ({"title": "x", "keywords": [1]}, "keywords"),
    ({"title": "x", "authors": [{"name": 5}]}, "authors"),
    ({"title": "x", "authors": [{"family_name": "Hansen"}]}, "authors"),
    ({"title": "x", "topics": {}}, "topics"), ({"title": "x", "topics": [0]}, "topics"),  # slugs, in a list
    ({"title": "x", "authors": [{"name": "A", "researcher": "1"}]}, "authors"),  # an id is an integer
    ({"title": "x", "type": "novel"}, "type"),
    ({"title": "x", "design": "anecdote"}, "design"),
    ({"title": "x", "year": 2000, "day": 3}, "day"),
    ({"title": "x", "authors": [{"researcher": None}]}, "authors"),
    ({"title": "x", "url": "not a url"}, "url"),
    ({"title": "x", "language": "klingon"}, "language"),
])
def test_validation_errors_name_the_field_and_write_nothing(curator_client, payload, field):
    before = Study.objects.count()
    response = curator_client.post("/api/v1/studies/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Study.objects.count() == before


@pytest.mark.parametrize("payload,field", [
    ({"title": "x", "isbn": "1234567890"}, "isbn"), ({"title": "x", "isbn": "9780306406158"}, "isbn"),
])
def test_a_wrong_check_digit_is_a_422_naming_the_field(curator_client, payload, field):
    """The schema states an identifier's shape (pattern); its check digit no pattern can state: a value of the
    right shape with a wrong one is a 422 (well formed, and still refused), the field named, nothing written."""
    response = curator_client.post("/api/v1/studies/", payload, format="json")
    assert response.status_code == 422 and "check digit" in response.json()[field][0]
    assert not Study.objects.exists()


def test_a_reference_to_nothing_is_a_404_naming_the_field(curator_client):
    """A well-formed slug or id that names no row is not a malformed request: 404 (as JSON:API asks), and the
    body names the field."""
    response = curator_client.post("/api/v1/studies/", {"title": "x", "topics": ["no-such-topic"]}, format="json")
    assert response.status_code == 404 and "does not exist" in response.json()["topics"][0]
    assert not Study.objects.exists()


def test_form_encoded_bodies_are_refused(curator_client):
    response = curator_client.post("/api/v1/studies/", {"title": "x"}, format="multipart")
    assert response.status_code == 415 and not Study.objects.exists()


def test_duplicate_doi_is_rejected_case_insensitively(curator_client):
    existing = factories.study(doi="10.1000/xyz")
    response = curator_client.post("/api/v1/studies/", {"title": "Copy", "doi": "doi:10.1000/XYZ"}, format="json")
    assert response.status_code == 409  # the request is fine; the DOI is another study's
    assert str(existing.pk) in response.json()["doi"][0]


def test_malformed_json_is_a_400(curator_client):
    response = curator_client.post("/api/v1/studies/", "{not json", content_type="application/json")
    assert response.status_code == 400 and "detail" in response.json()


def test_update_replaces_authors_atomically(curator_client):
    study = factories.study(authors=["A, Anne", "B, Bjørn"])
    response = curator_client.patch(f"/api/v1/studies/{study.pk}/",
                                    {"authors": [{"name": "C, Cecilie"}], "doi": "bad"}, format="json")
    assert response.status_code == 400
    assert [a.name for a in study.authorships.all()] == ["A, Anne", "B, Bjørn"]
    response = curator_client.patch(f"/api/v1/studies/{study.pk}/", {"authors": [{"name": "C, Cecilie"}]},
                                    format="json")
    assert response.status_code == 200
    assert [a["name"] for a in response.json()["authors"]] == ["C, Cecilie"]
    # the list replaces the authors even in a PATCH: each needs its name (was a 500)
    response = curator_client.patch(f"/api/v1/studies/{study.pk}/", {"authors": [{"family_name": "D"}]},
                                    format="json")
    assert response.status_code == 400 and "name" in str(response.json()["authors"])
    response = curator_client.patch(f"/api/v1/studies/{study.pk}/", {"venue_input": {}}, format="json")
    assert response.status_code == 400 and "name" in str(response.json()["venue_input"])


@pytest.mark.smoke
def test_lookup_by_doi_list_with_prefixes_and_case(anon_client):
    a = factories.study(doi="10.1000/aaa")
    b = factories.study(doi="10.1000/bbb")
    factories.study(doi="10.1000/ccc")
    response = anon_client.get("/api/v1/studies/", {"doi": "https://doi.org/10.1000/AAA, doi:10.1000/bbb"})
    assert response.status_code == 200
    assert {s["id"] for s in response.json()["results"]} == {a.pk, b.pk}
    too_many = ",".join(f"10.1000/{i}" for i in range(51))
    response = anon_client.get("/api/v1/studies/", {"doi": too_many})
    assert response.status_code == 400 and "doi" in response.json()


def test_lookup_by_pmid(anon_client):
    a = factories.study(pmid="123456")
    factories.study(pmid="654321")
    ids = [s["id"] for s in anon_client.get("/api/v1/studies/", {"pmid": "123456"}).json()["results"]]
    assert ids == [a.pk]


def test_filters(anon_client):
    parent = factories.topic(slug="x-disorders")
    child = factories.topic(slug="x-psychosis", parent=parent)
    inst = factories.institution()
    unit = factories.institution(parent=inst)
    person = factories.researcher(institution=unit)
    s1 = factories.study(year=2010, study_type="report", design="qualitative", language="nb", topics=[child],
                         authors=[person])
    s2 = factories.study(year=2018, study_type="article", design="rct", language="en")
    factories.summary(studies=[s2])

    def ids(**params):
        response = anon_client.get("/api/v1/studies/", params)
        assert response.status_code == 200, response.json()
        return {s["id"] for s in response.json()["results"]}

    assert ids(year_from=2011) == {s2.pk}
    assert ids(year_to=2011) == {s1.pk}
    assert ids(type="report") == {s1.pk}
    assert ids(design=["rct", "qualitative"]) == {s1.pk, s2.pk}
    assert ids(language="nb") == {s1.pk}
    assert ids(topic="x-disorders") == {s1.pk}  # includes sub-topics
    assert ids(researcher=person.pk) == {s1.pk}
    assert ids(institution=inst.pk) == {s1.pk}  # includes sub-units
    assert ids(has_summary="true") == {s2.pk}
    assert ids(has_summary="false") == {s1.pk}
    assert anon_client.get("/api/v1/studies/", {"year_from": "soon"}).status_code == 400


def test_pagination_has_count_links_and_a_maximum_page_size(anon_client):
    for _ in range(7):
        factories.study()
    body = anon_client.get("/api/v1/studies/", {"page_size": 3}).json()
    assert body["count"] == 7 and len(body["results"]) == 3
    assert body["next"] and body["previous"] is None
    for bad in ({"page_size": 1000}, {"page_size": 0}, {"page_size": "null"}, {"page": "x"}, {"page": 0}):
        response = anon_client.get("/api/v1/studies/", bad)
        assert response.status_code == 400 and set(bad) <= set(response.json()), bad
    assert len(anon_client.get("/api/v1/studies/", {"page_size": 100}).json()["results"]) == 7
    assert anon_client.get("/api/v1/studies/", {"page": 99}).status_code == 404


def test_ordering(anon_client):
    old = factories.study(year=2001, title="B")
    new = factories.study(year=2020, title="A")
    ids = [s["id"] for s in anon_client.get("/api/v1/studies/", {"ordering": "year"}).json()["results"]]
    assert ids == [old.pk, new.pk]
    ids = [s["id"] for s in anon_client.get("/api/v1/studies/", {"ordering": "title"}).json()["results"]]
    assert ids == [new.pk, old.pk]


def test_list_query_count_is_constant(anon_client):
    """A page of 50 studies with authors, topics and summaries takes a small, constant number of queries."""
    topics = [factories.topic() for _ in range(3)]
    people = [factories.researcher() for _ in range(3)]

    def make(n):
        for _ in range(n):
            s = factories.study(topics=topics, authors=people + ["Other, Person"], venue=factories.venue())
            factories.summary(studies=[s])

    make(5)
    with CaptureQueriesContext(connection) as few:
        assert anon_client.get("/api/v1/studies/", {"page_size": 50}).status_code == 200
    make(45)
    with CaptureQueriesContext(connection) as many:
        body = anon_client.get("/api/v1/studies/", {"page_size": 50}).json()
    assert len(body["results"]) == 50
    assert len(many) == len(few) <= 6, [q["sql"][:120] for q in many.captured_queries]


def test_publish_action_and_bulk_topic_assignment(curator_client, anon_client):
    draft = factories.study(status="draft")
    other = factories.study()
    t1, t2 = factories.topic(slug="t-one"), factories.topic(slug="t-two")
    assert anon_client.get(f"/api/v1/studies/{draft.pk}/").status_code == 404
    assert anon_client.post(f"/api/v1/studies/{draft.pk}/publish/").status_code == 401
    response = curator_client.post(f"/api/v1/studies/{draft.pk}/publish/")
    assert response.status_code == 200 and response.json()["status"] == "published"
    assert anon_client.get(f"/api/v1/studies/{draft.pk}/").status_code == 200
    response = curator_client.post("/api/v1/studies/assign-topics/",
                                   {"studies": [draft.pk, other.pk], "topics": ["t-one", "t-two"]}, format="json")
    assert response.status_code == 200
    assert set(other.topics.values_list("slug", flat=True)) == {"t-one", "t-two"}
    for slug in ("nope", "t-\x00one"):  # a NUL character names no topic (PostgreSQL cannot compare it: was a 500)
        response = curator_client.post("/api/v1/studies/assign-topics/", {"studies": [draft.pk], "topics": [slug]},
                                       format="json")
        assert response.status_code == 404 and "topics" in response.json()


def test_has_summary_means_a_published_summary_for_curators_too(curator_client, curator):
    """The list filter, the search backends and the selections behind feeds and the evidence map share
    one meaning (StudyQuerySet.with_summary): a draft summary does not count, whoever asks."""
    from search.backends.base import SearchFilters
    from search.selection import apply_filters
    from apps.studies.models import Study

    drafted = factories.study(title="Only a draft summary")
    factories.summary(studies=[drafted], status="draft")
    summarised = factories.study(title="A published summary")
    factories.summary(studies=[summarised])
    listed = {s["id"] for s in curator_client.get("/api/v1/studies/", {"has_summary": "true"}).json()["results"]}
    selected = set(apply_filters(Study.objects.all(), SearchFilters(has_summary=True)).values_list("id", flat=True))
    assert listed == selected == {summarised.pk}


def test_a_lone_surrogate_in_a_json_body_is_a_400(curator_client):
    """"\\ud83d" without its pair decodes to text no database stores (PostgreSQL answered 500)."""
    response = curator_client.post("/api/v1/studies/", data='{"title": "x \\ud83d y"}', content_type="application/json")
    assert response.status_code == 400 and "surrogate" in response.json()["detail"]
    assert not Study.objects.exists()
    emoji = curator_client.post("/api/v1/studies/", data='{"title": "x \\ud83d\\ude00 y"}',
                                content_type="application/json")
    assert emoji.status_code == 201 and emoji.json()["title"] == "x \U0001F600 y"
