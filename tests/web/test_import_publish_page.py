"""The import report's publishing panel: publish the studies an import wrote in one go, follow a large
job's progress, see the studies that could not be published, unpublish them again."""

import re

import pytest

from apps.studies.models import PublicationJob, Study
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("search_backend", "media_root")]

BIB = ("@article{a, title={Integrated treatment for dual diagnosis}, author={Ødegård, Kari}, year={2019}}\n"
       "@article{b, title={Housing first in Norway}, author={Hansen, Per}, year={2020}}\n"
       "@article{c, title={Peer support and relapse}, author={Berg, Liv}, year={2021}}\n")


@pytest.fixture
def job(db):
    return factories.import_file(BIB)


@pytest.fixture
def curator_web(client, curator):
    client.force_login(curator)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    return client


def text(response):
    return re.sub(r"\s+", " ", response.content.decode())


def written(job):
    return Study.objects.filter(import_outcomes__job=job)


def test_curator_publishes_the_import_s_drafts_with_one_button(curator_web, job):
    page = text(curator_web.get(f"/curator/imports/{job.pk}/"))
    assert "3 are drafts and 0 are published" in page
    assert f'action="/curator/imports/{job.pk}/publish/"' in page and 'value="publish">Publish 3 drafts' in page
    assert "<script>" not in page  # no inline script (a CSP may come)
    response = curator_web.post(f"/curator/imports/{job.pk}/publish/", {"action": "publish"}, follow=True)
    page = text(response)
    assert "Published 3 studies." in page and "0 are drafts and 3 are published" in page
    assert set(written(job).values_list("status", flat=True)) == {"published"}
    assert 'value="unpublish" class="secondary">Unpublish 3 studies' in page
    curator_web.post(f"/curator/imports/{job.pk}/publish/", {"action": "unpublish"})
    assert set(written(job).values_list("status", flat=True)) == {"draft"}


def test_a_study_that_cannot_be_published_is_listed(curator_web, job):
    bad = written(job).first()
    Study.objects.filter(pk=bad.pk).update(year=None, month=3)
    page = text(curator_web.post(f"/curator/imports/{job.pk}/publish/", {"action": "publish"}, follow=True))
    assert "Published 2 studies." in page and "1 study could not be published" in page
    assert f'href="/studies/{bad.pk}/"' in page and "A month needs a year." in page


def test_a_large_import_publishes_in_the_background_and_the_page_follows_it(
        curator_web, job, settings, django_capture_on_commit_callbacks):
    settings.KB_PUBLISH_IN_REQUEST = 2
    with django_capture_on_commit_callbacks(execute=False) as worker:  # the worker has not started yet
        curator_web.post(f"/curator/imports/{job.pk}/publish/", {"action": "publish"})
    publication = PublicationJob.objects.get()
    page = text(curator_web.get(f"/curator/imports/{job.pk}/"))
    assert f'data-publication-url="/api/v1/publication-jobs/{publication.pk}/" data-running="true"' in page
    assert "web/js/publication.js" in page
    for callback in worker:
        callback()
    page = text(curator_web.get(f"/curator/imports/{job.pk}/"))
    assert 'data-running="false"' in page and "0 are drafts and 3 are published" in page
    assert curator_web.get(f"/api/v1/publication-jobs/{publication.pk}/").json()["status"] == "done"


def test_readers_and_trial_runs_cannot_publish(reader, curator_web, job):
    from django.test import Client

    client = Client()
    client.force_login(reader)
    assert client.post(f"/curator/imports/{job.pk}/publish/", {"action": "publish"}).status_code == 403
    trial = factories.import_file(BIB.replace("{a,", "{x,"), dry_run=True)
    assert 'import-publish' not in text(curator_web.get(f"/curator/imports/{trial.pk}/"))
    page = text(curator_web.post(f"/curator/imports/{trial.pk}/publish/", {"action": "publish"}, follow=True))
    assert "trial run" in page and not PublicationJob.objects.exists()
    assert set(written(job).values_list("status", flat=True)) == {"draft"}


def test_the_panel_speaks_norwegian(client, curator, job):
    client.force_login(curator)
    page = text(client.get(f"/curator/imports/{job.pk}/"))
    assert "Publisering" in page and "er 3 utkast og 0 publisert" in page and "Publiser 3 utkast" in page
    page = text(client.post(f"/curator/imports/{job.pk}/publish/", {"action": "publish"}, follow=True))
    assert "Publiserte 3 studier." in page
