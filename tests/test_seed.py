"""The seed data the run command loads: complete, idempotent, published through the real workflow."""

import pytest
from django.core.management import call_command

from apps.researchers.models import Institution, Researcher
from apps.studies.models import Study
from apps.summaries.models import Summary
from apps.topics.models import Topic

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]


def test_seed_loads_and_reloads(django_capture_on_commit_callbacks, anon_client, settings):
    settings.KB_SEARCH = dict(settings.KB_SEARCH, URL=None)  # the embedded default: database search
    from search.backends import reset_backend

    reset_backend()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_seed", stdout=open("/dev/null", "w"))
    counts = (Topic.objects.count(), Institution.objects.count(), Researcher.objects.count(),
              Study.objects.count(), Summary.objects.count())
    assert counts[0] >= 30 and counts[1] >= 5 and counts[2] >= 15 and counts[3] >= 30 and counts[4] >= 10
    assert Study.objects.filter(language__in=["nb", "nn"]).exists() and Study.objects.filter(language="en").exists()
    published = Summary.objects.filter(status="published")
    assert published.count() >= 10 and all(s.reviewer_id and s.reviewer_id != s.author_id for s in published)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_seed", stdout=open("/dev/null", "w"))
    assert (Topic.objects.count(), Institution.objects.count(), Researcher.objects.count(),
            Study.objects.count(), Summary.objects.count()) == counts
    body = anon_client.get("/api/v1/search/", {"q": "ruslidelser"}).json()
    assert body["count"] >= 1
    reset_backend()
