"""Bulk publish and unpublish (``POST /api/v1/studies/publish/``, ``unpublish/``): choosing the studies by
ids, by the study list's filters or by import job; the dry run; background jobs with progress; the audit
log and the search index following."""

import datetime
import time

import pytest
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.studies.models import PublicationJob, Study
from tests import factories

pytestmark = pytest.mark.django_db

BIB = """
@article{a, title={Housing first for people with co-occurring disorders}, author={Ødegård, Kari}, year={2018},
  journal={Tidsskrift}}
@article{b, title={Assertive community treatment in rural Norway}, author={Hansen, Ola}, year={2019}}
@article{c, title={Peer support and relapse}, author={Berg, Liv}, year={2020}}
"""


def drafts(n, **kw):
    return [factories.study(status="draft", **kw) for _ in range(n)]


def statuses(studies):
    return [Study.objects.get(pk=s.pk).status for s in studies]


@pytest.mark.smoke
def test_only_curators_publish_in_bulk(anon_client, reader_client, curator_client):
    studies = drafts(2)
    body = {"ids": [s.pk for s in studies]}
    assert anon_client.post("/api/v1/studies/publish/", body, format="json").status_code == 401
    assert reader_client.post("/api/v1/studies/publish/", body, format="json").status_code == 403
    assert anon_client.get("/api/v1/publication-jobs/").status_code == 401
    assert statuses(studies) == ["draft", "draft"]
    response = curator_client.post("/api/v1/studies/publish/", body, format="json")
    assert response.status_code == 200, response.json()
    job = response.json()
    assert job["status"] == "done" and job["changed"] == 2 and job["refused"] == []
    assert job["progress"] == {"done": 2, "total": 2, "percent": 100}
    assert statuses(studies) == ["published", "published"]
    # anonymous readers see them now
    assert anon_client.get(f"/api/v1/studies/{studies[0].pk}/").status_code == 200


def test_publish_by_ids_writes_one_audit_entry_per_study_and_counts_the_unchanged(curator_client, curator):
    studies = drafts(3)
    already = factories.study(status="published")
    response = curator_client.post("/api/v1/studies/publish/",
                                   {"ids": [s.pk for s in studies] + [already.pk]}, format="json")
    job = response.json()
    assert (job["total"], job["changed"], job["unchanged"]) == (4, 3, 1)
    entries = AuditEntry.objects.filter(object_type="study", action="publish")
    assert sorted(entries.values_list("object_id", flat=True)) == sorted(s.pk for s in studies)
    entry = entries.first()
    assert entry.actor == curator and entry.via == "api"
    assert entry.changes["status"] == {"from": "draft", "to": "published"}
    assert entry.changes["published_at"]["to"] is not None
    log = curator_client.get("/api/v1/audit-log/", {"object_type": "study", "object_id": studies[0].pk}).json()
    assert [e["action"] for e in log["results"]][:1] == ["publish"]
    assert Study.objects.get(pk=studies[0].pk).published_at is not None


def test_a_study_that_fails_validation_is_reported_not_skipped(curator_client):
    good = drafts(1)[0]
    bad = factories.study(status="draft", year=None, month=5, title="Month without a year")
    response = curator_client.post("/api/v1/studies/publish/", {"ids": [good.pk, bad.pk]}, format="json")
    job = response.json()
    assert job["changed"] == 1 and job["refused_count"] == 1
    assert job["refused"] == [{"id": bad.pk, "title": "Month without a year",
                               "errors": {"month": ["A month needs a year."]}}]
    assert statuses([good, bad]) == ["published", "draft"]
    again = curator_client.get(job["url"]).json()  # the job keeps the report
    assert again["refused"][0]["id"] == bad.pk


def test_dry_run_counts_and_writes_nothing(curator_client):
    studies = drafts(3)
    bad = factories.study(status="draft", year=None, month=2)
    ids = [s.pk for s in studies] + [bad.pk, factories.study(status="published").pk]
    response = curator_client.post("/api/v1/studies/publish/", {"ids": ids, "dry_run": True}, format="json")
    assert response.status_code == 200
    preview = response.json()
    assert (preview["selected"], preview["would_change"], preview["unchanged"], preview["refused_count"]) == \
        (5, 3, 1, 1)
    assert preview["dry_run"] is True and preview["background"] is False
    assert statuses(studies) == ["draft"] * 3
    assert not PublicationJob.objects.exists() and not AuditEntry.objects.filter(action="publish").exists()


def test_select_by_the_study_list_filters(curator_client):
    old = drafts(2, year=1999)
    new = drafts(2, year=2021, study_type="report")
    published = factories.study(status="published", year=2021, study_type="report")
    body = {"filters": {"year_from": 2020, "type": ["report"], "status": "draft"}, "dry_run": True}
    assert curator_client.post("/api/v1/studies/publish/", body, format="json").json()["selected"] == 2
    job = curator_client.post("/api/v1/studies/publish/", {"filters": "year_from=2020&type=report"},
                              format="json").json()
    assert (job["total"], job["changed"], job["unchanged"]) == (3, 2, 1)
    assert job["selection"] == {"filters": "year_from=2020&type=report"}
    assert statuses(new) == ["published"] * 2 and statuses(old) == ["draft"] * 2
    # and back to draft through the same filters
    job = curator_client.post("/api/v1/studies/unpublish/", {"filters": {"year_from": 2020}}, format="json").json()
    assert job["changed"] == 3 and statuses(new + [published]) == ["draft"] * 3
    assert AuditEntry.objects.filter(object_id=published.pk, action="update").get().changes["status"] == \
        {"from": "published", "to": "draft"}


def test_select_the_studies_of_an_import_job(curator_client, curator, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    other = drafts(1)[0]
    job = factories.import_file(BIB, user=curator)
    written = list(job.outcomes.filter(outcome="created").values_list("study_id", flat=True))
    assert len(written) == 3 and Study.objects.filter(pk__in=written, status="draft").count() == 3
    preview = curator_client.post("/api/v1/studies/publish/", {"import_job": job.pk, "dry_run": True},
                                  format="json").json()
    assert preview["would_change"] == 3
    result = curator_client.post("/api/v1/studies/publish/", {"import_job": job.pk}, format="json").json()
    assert result["changed"] == 3 and result["selection"] == {"import_job": job.pk}
    assert Study.objects.filter(pk__in=written, status="published").count() == 3
    assert statuses([other]) == ["draft"]


@pytest.mark.smoke
@pytest.mark.parametrize("body,field,status", [
    ({}, "ids", 400),
    ({"ids": []}, "ids", 400),
    ({"ids": ["x"]}, "ids", 400),
    ({"ids": [999999]}, "ids", 404),  # well formed, names nothing
    ({"import_job": 999999}, "import_job", 404),
    ({"ids": [2**64]}, "ids", 400),  # beyond the database's integers (SQLite answered 500)
    ({"import_job": 2**90}, "import_job", 400),
    ({"filters": {"year_from": "soon"}}, "filters", 422),  # the study list's rules, not this body's schema
    ({"filters": {"colour": "blue"}}, "filters", 422),
    ({"filters": "colour=blue"}, "filters", 422),
    ({"filters": {}}, "filters", 400),
    ({"filters": 12}, "filters", 400),
    ({"ids": [1], "import_job": 1}, "import_job", 400),  # exactly one (the schema's oneOf)
    ({"ids": [1], "dry_run": "perhaps"}, "dry_run", 400),
    ({"ids": [1], "dry_run": 1}, "dry_run", 400),  # a boolean is true or false
])
def test_bad_requests_name_the_field_and_change_nothing(curator_client, body, field, status):
    study = drafts(1)[0]
    if body.get("ids") == [1]:
        body = {**body, "ids": [study.pk]}
    response = curator_client.post("/api/v1/studies/publish/", body, format="json")
    assert response.status_code == status
    assert field in response.json(), response.json()
    assert statuses([study]) == ["draft"] and not PublicationJob.objects.exists()


def test_a_trial_import_cannot_be_chosen(curator_client, curator, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    job = factories.import_file(BIB, user=curator, dry_run=True)
    response = curator_client.post("/api/v1/studies/publish/", {"import_job": job.pk}, format="json")
    assert response.status_code == 409 and "trial run" in response.json()["import_job"][0]


def test_a_large_selection_is_a_background_job_with_progress(curator_client, settings, monkeypatch,
                                                              django_capture_on_commit_callbacks):
    """Over KB_PUBLISH_IN_REQUEST studies: 202 and a job; on the embedded default the task runs in-process
    after commit, batch by batch, recording its progress."""
    from apps.studies import publication

    settings.KB_PUBLISH_IN_REQUEST = 3
    monkeypatch.setattr(publication, "BATCH", 2)
    seen = []
    real_apply = publication.apply_batch

    def watch(*args, **kwargs):  # the job's progress as the API shows it, before each batch
        seen.append(curator_client.get(url).json()["progress"]["done"])
        return real_apply(*args, **kwargs)

    monkeypatch.setattr(publication, "apply_batch", watch)
    studies = drafts(5)
    preview = curator_client.post("/api/v1/studies/publish/", {"ids": [s.pk for s in studies], "dry_run": True},
                                  format="json").json()
    assert preview["background"] is True
    job = PublicationJob.objects.create(action="publish", total=0)  # reserve the next id for ``url``
    url = f"/api/v1/publication-jobs/{job.pk + 1}/"
    with django_capture_on_commit_callbacks(execute=True):
        response = curator_client.post("/api/v1/studies/publish/", {"ids": [s.pk for s in studies]}, format="json")
    assert response.status_code == 202 and response["Location"].endswith(url)
    assert seen == [0, 2, 4]
    final = curator_client.get(url).json()
    assert final["status"] == "done" and final["progress"] == {"done": 5, "total": 5, "percent": 100}
    assert final["changed"] == 5 and statuses(studies) == ["published"] * 5


def test_a_background_job_runs_in_a_real_celery_worker_over_redis(curator_client, settings, transactional_db):
    """With a broker the request answers 202 at once; a worker publishes, and the API shows it finish."""
    from tests.conftest import celery_worker_over_redis

    settings.KB_PUBLISH_IN_REQUEST = 2
    studies = drafts(4)
    with celery_worker_over_redis():
        response = curator_client.post("/api/v1/studies/publish/", {"ids": [s.pk for s in studies]}, format="json")
        assert response.status_code == 202 and response.json()["status"] in ("queued", "running", "done")
        deadline = timezone.now() + datetime.timedelta(seconds=30)
        while timezone.now() < deadline and curator_client.get(response["Location"]).json()["status"] != "done":
            time.sleep(0.2)
    final = curator_client.get(response["Location"]).json()
    assert final["status"] == "done" and final["changed"] == 4 and final["progress"]["percent"] == 100
    assert statuses(studies) == ["published"] * 4


def test_search_shows_the_studies_once_the_outbox_drains(backend, anon_client, curator_client,
                                                         django_capture_on_commit_callbacks):
    """Published in bulk, the studies are found by anonymous searchers; unpublished, they are gone again
    (the real Elasticsearch and the database backend)."""
    from search.models import PendingIndex
    from tests.search.conftest import refresh

    with django_capture_on_commit_callbacks(execute=True):  # created and indexed as drafts
        studies = [factories.study(status="draft", title=f"Oppsøkende behandling {n}") for n in range(3)]

    def found():
        refresh(backend)
        hits = anon_client.get("/api/v1/search/", {"type": "studies", "q": "oppsøkende"}).json()["results"]
        return sorted(h["id"] for h in hits)

    assert found() == []
    with django_capture_on_commit_callbacks(execute=True):
        curator_client.post("/api/v1/studies/publish/", {"ids": [s.pk for s in studies]}, format="json")
    assert not PendingIndex.objects.exists()  # the outbox drained after commit
    assert found() == sorted(s.pk for s in studies)
    with django_capture_on_commit_callbacks(execute=True):
        curator_client.post("/api/v1/studies/unpublish/", {"ids": [studies[0].pk]}, format="json")
    assert found() == sorted(s.pk for s in studies[1:])
