"""Entries without a title (real references of old literature) become incomplete drafts: visible as such in
the import report, the API, the admin and the web pages, never published until a curator gives them a title,
and never merged with each other on an (empty) title."""
import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from apps.imports.models import ImportOutcome, Outcome
from apps.studies.models import Study
from tests import factories

pytestmark = pytest.mark.django_db

OLD = "@article{smith1987, author = {Smith, John and Berg, Liv}, journal = {Journal of Psychiatry}, year = 1987, " \
      "volume = 12, pages = {1--5}}\n"
TITLED = "@article{ok, title = {Housing first in Norway}, author = {Hansen, Per}, year = 2020}\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def job(db):
    return factories.import_file(OLD + TITLED)


@pytest.fixture
def untitled(job):
    return ImportOutcome.objects.get(job=job, index=0).study


def test_an_entry_without_a_title_is_imported_as_an_incomplete_draft(job, untitled, curator_client):
    o = ImportOutcome.objects.get(job=job, index=0)
    assert o.outcome == Outcome.CREATED and job.counts["failed"] == 0
    assert any(w.startswith("title: the entry has no title") for w in o.warnings)
    assert untitled.title == "" and untitled.status == "draft" and untitled.gaps == ["title"]
    assert (untitled.year, untitled.volume, untitled.pages) == (1987, "12", "1–5")
    assert untitled.display_title == "[untitled] Smith et al., Journal of Psychiatry 12:1–5, 1987"
    body = curator_client.get(f"/api/v1/imports/{job.pk}/").json()
    assert body["incomplete_drafts"] == 1 and body["counts"]["created"] == 2
    assert curator_client.get("/api/v1/imports/").json()["results"][0]["incomplete_drafts"] == 1


def test_only_entries_that_cannot_be_read_fail():
    job = factories.import_file("@misc{nothing, note = {no title, author, editor or year}}\n"
                                "@misc{only_editors, editor = {Lid, Per}, publisher = {Universitetsforlaget}}\n")
    first, second = ImportOutcome.objects.filter(job=job).order_by("index")
    assert first.outcome == Outcome.FAILED and "no title, author, editor or year" in first.message
    assert second.outcome == Outcome.CREATED and second.study.gaps == ["title"]


def test_the_api_filters_and_describes_incomplete_drafts(untitled, curator_client):
    listed = curator_client.get("/api/v1/studies/?incomplete=true").json()["results"]
    assert [s["id"] for s in listed] == [untitled.pk]
    assert listed[0]["incomplete"] is True and listed[0]["gaps"] == ["title"]
    assert listed[0]["display_title"].startswith("[untitled] Smith et al.")
    complete = curator_client.get("/api/v1/studies/?incomplete=false").json()["results"]
    assert untitled.pk not in [s["id"] for s in complete] and all(s["gaps"] == [] for s in complete)
    response = curator_client.get("/api/v1/studies/?incomplete=maybe")
    assert response.status_code == 400 and "incomplete" in response.json()
    schema = curator_client.get("/api/schema/", {"format": "json"}).json()
    params = {p["name"]: p for p in schema["paths"]["/api/v1/studies/"]["get"]["parameters"]}
    assert "incomplete" in params and "title" in params["incomplete"]["description"]


def test_an_incomplete_draft_cannot_be_published_until_it_has_a_title(untitled, curator_client):
    response = curator_client.post(f"/api/v1/studies/{untitled.pk}/publish/")
    assert response.status_code == 400
    assert "title" in response.json() and "needs a title" in str(response.json()["title"])
    response = curator_client.patch(f"/api/v1/studies/{untitled.pk}/", {"status": "published"}, format="json")
    assert response.status_code == 400 and "title" in response.json()
    untitled.refresh_from_db()
    assert untitled.status == "draft"
    # other fields can be fixed without a title; a draft stays a draft
    response = curator_client.patch(f"/api/v1/studies/{untitled.pk}/", {"issue": "3"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["incomplete"] is True
    assert curator_client.patch(f"/api/v1/studies/{untitled.pk}/", {"title": "  "}, format="json").status_code == 400
    response = curator_client.patch(f"/api/v1/studies/{untitled.pk}/", {"title": "Depression in 1980s Oslo"},
                                    format="json")
    assert response.json()["incomplete"] is False and response.json()["gaps"] == []
    response = curator_client.post(f"/api/v1/studies/{untitled.pk}/publish/")
    assert response.status_code == 200 and response.json()["status"] == "published"


def test_the_bulk_publish_counts_incomplete_drafts_as_refused(job, untitled, curator_client):
    response = curator_client.post("/api/v1/studies/publish/", {"import_job": job.pk}, format="json")
    body = response.json()
    assert response.status_code == 200 and (body["changed"], body["unchanged"]) == (1, 0)
    (refused,) = body["refused"]
    assert refused["id"] == untitled.pk and list(refused["errors"]) == ["title"]
    assert refused["title"].startswith("[untitled] Smith")
    assert Study.objects.get(pk=untitled.pk).status == "draft"
    dry = curator_client.post("/api/v1/studies/publish/", {"filters": {"incomplete": "true"}, "dry_run": True},
                              format="json").json()
    assert (dry["selected"], dry["would_change"], dry["refused_count"]) == (1, 0, 1)


def test_the_admin_lists_filters_and_refuses_to_publish_incomplete_drafts(client, curator, untitled):
    client.force_login(curator)
    page = client.get("/admin/studies/study/?incomplete=true").content.decode()
    assert "[untitled] Smith et al., Journal of Psychiatry 12:1–5, 1987" in page
    assert "Housing first in Norway" not in page
    assert "Housing first in Norway" in client.get("/admin/studies/study/?incomplete=false").content.decode()
    response = client.post("/admin/studies/study/", {"action": "publish", ACTION_CHECKBOX_NAME: [untitled.pk]},
                           follow=True)
    assert "1 studies could not be published" in response.content.decode()
    assert Study.objects.get(pk=untitled.pk).status == "draft"
    form = client.get(f"/admin/studies/study/{untitled.pk}/change/")
    assert form.status_code == 200


def test_the_web_pages_name_and_flag_incomplete_drafts(client, curator, job, untitled):
    client.force_login(curator)
    report = client.get(f"/curator/imports/{job.pk}/").content.decode()
    assert "1 oppføring har ingen tittel" in report and "[uten tittel] Smith et al." in report
    only = client.get(f"/curator/imports/{job.pk}/?outcome=incomplete").content.decode()
    assert "[uten tittel] Smith et al." in only and "Housing first in Norway" not in only
    page = client.get(f"/studies/{untitled.pk}/").content.decode()
    assert "<h1>[uten tittel] Smith et al., Journal of Psychiatry 12:1–5, 1987</h1>" in page
    assert "Ufullstendig: denne studien har ingen tittel" in page


def test_entries_without_titles_are_not_merged_on_the_empty_title():
    text = (OLD
            + OLD.replace("smith1987", "smith1987b").replace("1--5", "7--9")  # the same authors, another paper
            + OLD.replace("smith1987", "smith1987c")  # same authors, year and pages: a curator decides
            + OLD  # the very same entry again
            + "@article{x, author = {Smith, John and Berg, Liv}, year = 1987, doi = {10.1000/old1}}\n"
            + "@article{y, author = {Smith, John}, year = 1987, doi = {10.1000/old1}}\n")
    job = factories.import_file(text)
    got = [(o.outcome, o.duplicate_of) for o in ImportOutcome.objects.filter(job=job).order_by("index")]
    assert got == [("created", None), ("created", None), ("review", None), ("duplicate", 0), ("created", None),
                   ("duplicate", 4)]
    again = factories.import_file(text)  # the same file again: each incomplete draft is found by its key
    assert again.counts["created"] == 0 and Study.objects.count() == 3


def test_the_admin_form_refuses_to_publish_an_incomplete_draft_and_saves_it_as_a_draft(rf, curator, untitled):
    from django.contrib.admin.sites import site
    from django.forms.models import model_to_dict

    admin = site._registry[Study]
    request = rf.get("/")
    request.user = curator
    form_class = admin.get_form(request, untitled)
    data = {k: v for k, v in model_to_dict(untitled).items() if v is not None and k not in ("topics", "venue")}
    form = form_class(data={**data, "keywords": "[]", "status": "published"}, instance=untitled)
    assert not form.is_valid() and list(form.errors) == ["title"]
    assert "needs a title" in form.errors["title"][0]
    form = form_class(data={**data, "keywords": "[]", "status": "draft", "issue": "4"}, instance=untitled)
    assert form.is_valid(), form.errors
