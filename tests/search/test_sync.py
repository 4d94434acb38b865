"""The database is the source of truth: every kind of change reaches the index after commit, and an
outage of the search engine delays indexing without failing or losing a write."""

import datetime
import io

import pytest
from django.utils import timezone

from apps.researchers import services as researcher_services
from apps.studies import services as study_services
from apps.summaries.models import Summary
from search import sync
from search.backends.base import SearchFilters, SearchRequest
from search.models import PendingIndex
from search.query import parse
from tests import factories
from tests.search.conftest import refresh


def found(backend, q, kind="studies", **filters):
    refresh(backend)
    request = SearchRequest(kind=kind, query=parse(q), filters=SearchFilters(**filters), page_size=50)
    return [h.id for h in backend.search(request).hits]


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run the after-commit work (the outbox drain) as a real commit would."""
    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            result = fn(*args, **kwargs)
        return result
    return run


def test_create_update_publish_delete_reach_the_index(backend, commit):
    study = commit(study_services.create_study, None, {"title": "Oppsøkende behandling i FACT", "status": "draft",
                                                        "authors": [{"name": "Ødegård, Kari"}]})
    assert study.id not in found(backend, "oppsøkende")
    assert study.id in found(backend, "oppsøkende", include_drafts=True)
    commit(study_services.publish_study, None, study)
    assert found(backend, "oppsøkende") == [study.id]
    commit(study_services.update_study, None, study, {"title": "Bolig og arbeid for unge"})
    assert found(backend, "oppsøkende") == []
    assert found(backend, "bolig") == [study.id]
    commit(study_services.delete_study, None, study)
    assert found(backend, "bolig") == []
    assert PendingIndex.objects.count() == 0


def test_topic_changes_and_relabelling_reach_the_studies(backend, commit):
    topic = factories.topic(slug="s-housing", label_nb="Bolig", label_en="Housing")
    study = commit(study_services.create_study, None, {"title": "A study", "status": "published"})
    commit(study_services.assign_topics, None, [study], [topic])
    assert found(backend, "topic:housing") == [study.id]
    topic.label_en = "Supported accommodation"
    commit(topic.save)
    assert found(backend, "topic:accommodation") == [study.id]
    assert found(backend, "topic:housing") == []


def test_researcher_rename_and_affiliation_reach_the_index(backend, commit):
    trust = factories.institution(name_nb="Helse Vest")
    researcher = commit(researcher_services.save_researcher, None, {"given_name": "Kari", "family_name": "Nilsen"})
    study = commit(study_services.create_study, None, {
        "title": "Cannabis and psychosis", "status": "published",
        "authors": [{"name": "Nilsen, Kari", "researcher": researcher}]})
    assert found(backend, "Nilsen", kind="researchers") == [researcher.id]
    commit(researcher_services.save_researcher, None, {"family_name": "Bråten", "affiliations": [
        {"institution": trust}]}, researcher)
    assert found(backend, "Bråten", kind="researchers") == [researcher.id]
    assert found(backend, "Nilsen", kind="researchers") == []
    assert found(backend, "", institution_ids=[trust.id]) == [study.id]


def test_publishing_a_summary_reaches_summaries_and_its_study(backend, commit):
    study = commit(study_services.create_study, None, {"title": "Family involvement", "status": "published"})
    summary = commit(factories.summary, studies=[study], status="draft", title="Pårørende som ressurs",
                     body="Kort.")
    assert found(backend, "pårørende", kind="summaries") == []
    assert found(backend, "", has_summary=True) == []
    summary.status = "published"
    commit(summary.save)
    assert found(backend, "pårørende", kind="summaries") == [summary.id]
    assert found(backend, "", has_summary=True) == [study.id]
    assert study.id in found(backend, "ressurs")  # the summary's text makes the study findable
    commit(Summary.objects.get(pk=summary.pk).delete)
    assert found(backend, "pårørende", kind="summaries") == []


def test_an_outage_delays_indexing_but_loses_nothing(settings, es_backend, commit):
    """Elasticsearch unreachable: writes succeed; when it is back, the periodic task converges the index."""
    good = dict(settings.KB_SEARCH)
    down = dict(good, URL="http://127.0.0.1:9")  # nothing listens there
    settings.KB_SEARCH = down
    from search.backends import reset_backend

    reset_backend()
    study = commit(study_services.create_study, None, {"title": "Written during the outage", "status": "published"})
    pending = PendingIndex.objects.get(kind="studies", object_id=study.id)
    assert pending.attempts == 1 and "Connection" in pending.last_error
    assert pending.next_attempt_at > timezone.now()

    settings.KB_SEARCH = good
    reset_backend()
    from search.tasks import drain_outbox

    later = timezone.now() + datetime.timedelta(minutes=15)
    with pytest.MonkeyPatch.context() as mp:  # the beat task runs a while later
        mp.setattr(sync.timezone, "now", lambda: later)
        drain_outbox()
    assert PendingIndex.objects.count() == 0
    assert found(es_backend, "outage") == [study.id]


def test_after_an_outage_the_next_drain_indexes_at_once_whatever_the_back_off(settings, es_backend, commit):
    """Work postponed while Elasticsearch did not answer does not wait out its back-off once it answers."""
    from search.backends import reset_backend
    from search.tasks import drain_outbox

    good = dict(settings.KB_SEARCH)
    settings.KB_SEARCH = dict(good, URL="http://127.0.0.1:9")  # nothing listens there
    reset_backend()
    study = commit(study_services.create_study, None, {"title": "Backlog from the outage", "status": "published"})
    for _ in range(5):  # a long outage: every drain fails again and the back-off grows
        sync.retry_now()
        drain_outbox()
    pending = PendingIndex.objects.get(kind="studies", object_id=study.id)
    assert pending.attempts == 6 and pending.last_error.startswith(sync.UNREACHABLE)
    assert pending.next_attempt_at > timezone.now() + datetime.timedelta(seconds=60)

    settings.KB_SEARCH = good
    reset_backend()
    drain_outbox()  # the next beat tick, now
    assert PendingIndex.objects.count() == 0
    assert found(es_backend, "backlog") == [study.id]


def test_a_document_the_engine_refuses_keeps_its_back_off(settings, db_backend, commit):
    """Only work the engine never answered for is hurried; a row that failed for itself waits as before."""
    study = commit(study_services.create_study, None, {"title": "Refused", "status": "published"})
    sync.mark_dirty("studies", [study.id])
    original = db_backend.index

    def refuse(kind, ids):
        raise RuntimeError("1 of 1 index actions failed: mapper_parsing_exception")
    db_backend.index = refuse
    sync.retry_now()
    sync.drain(backend=db_backend)
    db_backend.index = original
    assert sync.resume_if_back(db_backend) == 0
    sync.drain(backend=db_backend)
    assert PendingIndex.objects.get(kind="studies", object_id=study.id).attempts == 1


def test_rows_changed_again_while_indexing_are_not_lost(db_backend):
    study = factories.study(title="First title")
    sync.drain()
    original_index = db_backend.index

    def index_and_change(kind, ids):
        original_index(kind, ids)
        if kind == "studies" and study.id in ids:  # a curator saves while the drain is busy
            study.title = "Second title"
            study.save()

    db_backend.index = index_and_change
    factories.study(title="Trigger")
    sync.mark_dirty("studies", [study.id])
    sync.retry_now()
    sync.drain(backend=db_backend, limit_batches=1)
    assert PendingIndex.objects.filter(object_id=study.id).exists()
    db_backend.index = original_index
    sync.drain(backend=db_backend)
    assert found(db_backend, "second") == [study.id]


def test_the_drain_runs_in_a_real_celery_worker_over_redis(settings, db_backend, transactional_db):
    """The after-commit task travels through a real Redis broker to a worker and indexes the study."""
    import time

    from tests.conftest import celery_worker_over_redis

    with celery_worker_over_redis():
        study = study_services.create_study(None, {"title": "Delivered by a worker", "status": "published"})
        deadline = timezone.now() + datetime.timedelta(seconds=20)
        while timezone.now() < deadline and PendingIndex.objects.filter(object_id=study.id).exists():
            time.sleep(0.2)
    assert found(db_backend, "worker") == [study.id]


def test_rebuild_outside_a_transaction_builds_in_a_second_thread(transactional_db, es_backend):
    """``search_index --rebuild`` runs in autocommit: documents are built one batch ahead in a thread."""
    from django.core.management import call_command

    from apps.studies.models import Study

    with sync.paused():
        for i in range(1205):  # more than one batch of 1,000
            Study.objects.create(title=f"Rebuild study {i}", status="published")
    call_command("search_index", "--rebuild", "--kind", "studies", "--quiet")
    es_backend.refresh()
    assert es_backend.client.count(index=es_backend.alias("studies"))["count"] == 1205
    assert len(found(es_backend, "rebuild")) == 50


def test_an_elasticsearch_rebuild_swaps_the_alias_to_a_new_index(es_backend):
    """Searches keep reading the old index until the new one is complete; then the alias moves to the
    new index in one step and the old index is deleted."""
    study = factories.study(title="Alias swap study", status="published")
    es_backend.rebuild(["studies"])
    alias = es_backend.alias("studies")
    (before,) = es_backend.client.indices.get_alias(name=alias).keys()
    result = es_backend.rebuild(["studies"])
    (after,) = es_backend.client.indices.get_alias(name=alias).keys()
    assert after == result["studies"]["index"] != before
    assert not es_backend.client.indices.exists(index=before)
    es_backend.refresh()
    assert found(es_backend, "alias swap") == [study.id]



def test_status_names_indices_an_upgrade_left_behind_until_they_are_rebuilt(es_backend, monkeypatch):
    """An index remembers the layout (mapping and analysis) it was made with; after an upgrade that
    changes the layout, ``search_index --status`` and /health/ say which kinds need a rebuild."""
    from django.core.management import call_command

    from search.documents import StudyDocument, Text

    es_backend.setup()
    assert es_backend.health()["rebuild_needed"] == []
    # the next version of kb indexes one more field
    monkeypatch.setitem(StudyDocument._doc_type.mapping.properties._params["properties"], "notes", Text())
    out = io.StringIO()
    call_command("search_index", "--status", stdout=out)
    assert es_backend.health()["rebuild_needed"] == ["studies"]
    assert "another version of kb: studies" in out.getvalue()
    es_backend.rebuild(["studies"])
    assert es_backend.health()["rebuild_needed"] == []


def test_health_reads_each_live_index_s_layout_once(es_backend, monkeypatch):
    """/health/ is polled (a load balancer: every few seconds): after the first check it asks
    Elasticsearch for the cluster's state and one alias list, not for every index's mapping again;
    the index a rebuild swaps in is read once, when health first sees it."""
    es_backend.setup()
    read = []
    get_mapping = es_backend.client.indices.get_mapping
    monkeypatch.setattr(es_backend.client.indices, "get_mapping",
                        lambda **kw: read.append(kw["index"]) or get_mapping(**kw))
    es_backend.health()
    es_backend.health()
    assert len(read) <= 1
    read.clear()
    assert es_backend.health()["rebuild_needed"] == []
    assert read == []
    new = es_backend.rebuild(["studies"])["studies"]["index"]
    assert es_backend.health()["rebuild_needed"] == []
    assert es_backend.health()["indices"] == {"studies": True, "researchers": True, "summaries": True}
    assert read == [new]


def _segments(es_backend):
    index = next(iter(es_backend.client.indices.get_alias(name=es_backend.alias("studies")).body))
    return {s["segment"] for s in es_backend.client.cat.segments(index=index, format="json")}


def test_a_rebuilt_index_goes_live_merged_into_one_segment(es_backend, settings):
    """kNN searches visit every segment's graph: the rebuild merges before the alias moves (unless told not
    to), and ``search_index --merge`` merges the live index, which answers as before."""
    from django.core.management import call_command

    studies = [factories.study(title=f"Segment study {i}", status="published") for i in range(3)]
    assert "merge_seconds" in es_backend.rebuild(["studies"])["studies"]
    assert len(_segments(es_backend)) == 1
    assert "merge_seconds" not in es_backend.rebuild(["studies"], merge=False)["studies"]

    for study in studies:  # every refresh writes a segment of its own
        es_backend.index("studies", [study.id])
        es_backend.refresh()
    assert len(_segments(es_backend)) > 1
    out = io.StringIO()
    call_command("search_index", "--merge", "--kind", "studies", stdout=out)
    assert "merged into one segment" in out.getvalue()
    es_backend.refresh()
    assert len(_segments(es_backend)) == 1
    assert sorted(found(es_backend, "segment")) == sorted(s.id for s in studies)


def test_the_database_backend_has_nothing_to_merge(db_backend):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="nothing to merge"):
        call_command("search_index", "--merge")
