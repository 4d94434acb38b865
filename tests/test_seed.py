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


def _seed():
    call_command("load_seed", stdout=open("/dev/null", "w"))


def _queued():
    from search.models import PendingIndex

    return set(PendingIndex.objects.values_list("kind", "object_id"))


def _update_stamps():
    return {m: set(m.objects.values_list("id", "updated_at")) for m in (Topic, Institution, Researcher, Study, Summary)}


def test_a_second_seed_run_on_an_unchanged_database_writes_nothing_and_queues_no_index_work():
    """A second ``make run`` (or one after an upgrade) must not re-index the whole corpus."""
    from search.models import PendingIndex

    _seed()
    assert _queued()  # the first run queued the new objects
    PendingIndex.objects.all().delete()  # as the drain would
    stamps = _update_stamps()
    _seed()
    assert _queued() == set()
    assert _update_stamps() == stamps


def test_a_seed_run_writes_back_what_differs_from_the_seed_and_reindexes_it():
    """A topic label or a study abstract that differs from the seed is written again, and what shows it is
    queued for re-indexing; the rest is left alone."""
    from search.models import PendingIndex

    _seed()
    topic = Topic.objects.filter(studies__isnull=False).distinct().first()
    label = topic.label_en
    study = Study.objects.exclude(topics=topic).first()
    abstract = study.abstract
    Topic.objects.filter(pk=topic.pk).update(label_en="An old label")  # update() sends no signal
    Study.objects.filter(pk=study.pk).update(abstract="An old abstract")
    PendingIndex.objects.all().delete()
    _seed()
    topic.refresh_from_db()
    study.refresh_from_db()
    assert (topic.label_en, study.abstract) == (label, abstract)
    tagged = set(topic.studies.values_list("id", flat=True))
    assert {i for kind, i in _queued() if kind == "studies"} == tagged | {study.id}
