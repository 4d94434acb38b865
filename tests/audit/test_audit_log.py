"""Every create, update, delete, publish and import of studies, summaries and researchers is logged."""

import datetime

import pytest
from django.db import transaction
from django.utils import timezone

from apps.audit.context import acting_as
from apps.audit.models import AuditEntry
from apps.audit.services import record
from apps.studies import services as study_services
from apps.studies.models import Study
from tests import factories
from tests.conftest import _client

pytestmark = pytest.mark.django_db


def entries(obj=None, **filters):
    qs = AuditEntry.objects.order_by("id")
    if obj is not None:
        qs = qs.filter(object_id=obj.pk, object_type=type(obj)._meta.model_name)
    return list(qs.filter(**filters))


def test_study_lifecycle_through_the_api(curator_client, curator):
    response = curator_client.post("/api/v1/studies/", {"title": "FACT teams in Innlandet", "year": 2019,
                                                        "authors": [{"name": "Ødegård, Kari"}]}, format="json")
    study = Study.objects.get(pk=response.json()["id"])
    created = entries(study)
    assert [e.action for e in created] == ["create"]
    assert created[0].actor == curator and created[0].actor_name == curator.username and created[0].via == "api"
    assert created[0].changes["title"] == {"from": None, "to": "FACT teams in Innlandet"}
    assert created[0].changes["authors"] == {"from": None, "to": ["Ødegård, Kari"]}

    curator_client.patch(f"/api/v1/studies/{study.pk}/", {"title": "FACT teams in Hedmark", "year": 2019},
                         format="json")
    update = entries(study)[-1]
    assert update.action == "update"
    assert update.changes == {"title": {"from": "FACT teams in Innlandet", "to": "FACT teams in Hedmark"}}

    curator_client.post(f"/api/v1/studies/{study.pk}/publish/")
    publish = entries(study)[-1]
    assert publish.action == "publish" and publish.changes["status"] == {"from": "draft", "to": "published"}
    assert "published_at" in publish.changes

    curator_client.delete(f"/api/v1/studies/{study.pk}/")
    deleted = entries(study)[-1]
    assert deleted.action == "delete" and deleted.actor == curator
    assert deleted.changes["title"] == {"from": "FACT teams in Hedmark", "to": None}


def test_a_save_that_changes_nothing_logs_nothing():
    study = factories.study()
    before = len(entries(study))
    study.save()
    assert len(entries(study)) == before


def test_topics_and_interests_changes_are_logged(curator_client):
    t1, t2 = factories.topic(slug="a-topic"), factories.topic(slug="b-topic")
    study = factories.study()
    curator_client.post("/api/v1/studies/assign-topics/", {"studies": [study.pk], "topics": ["a-topic", "b-topic"]},
                        format="json")
    assert entries(study)[-1].changes == {"topics": {"added": ["a-topic", "b-topic"]}}
    study.topics.remove(t1)
    assert entries(study)[-1].changes == {"topics": {"removed": ["a-topic"]}}
    t2.studies.clear()  # the reverse side
    assert entries(study)[-1].changes == {"topics": {"removed": ["b-topic"]}}

    person = factories.researcher()
    curator_client.patch(f"/api/v1/researchers/{person.pk}/", {"interests": ["a-topic"], "given_name": "Kari"},
                         format="json")
    logged = {k for e in entries(person) for k in e.changes}
    assert {"interests", "given_name"} <= logged


def test_summary_publication_is_logged_with_the_approving_curator(curator_client, curator):
    author = factories.user("curator")
    summary = factories.summary(studies=[factories.study()], status="in_review", author=author)
    curator_client.post(f"/api/v1/summaries/{summary.pk}/approve/")
    publish = [e for e in entries(summary) if e.action == "publish"]
    assert len(publish) == 1 and publish[0].actor == curator
    assert publish[0].changes["status"] == {"from": "in_review", "to": "published"}
    assert publish[0].changes["reviewer"] == {"from": None, "to": curator.pk}


def test_imports_and_commands_set_the_actor_and_action():
    importer = factories.user("curator")
    with acting_as(importer, action="import", via="bibtex:rop.bib"):
        study = study_services.create_study(None, {"title": "Imported study", "provenance": "bibtex"})
        study_services.update_study(None, study, {"year": 2011})
    logged = entries(study)
    assert [e.action for e in logged] == ["import", "import"]
    assert all(e.actor == importer and e.via == "bibtex:rop.bib" for e in logged)
    record(importer, study, "import", {"source": {"from": None, "to": "rop.bib"}}, via="bibtex")
    assert entries(study)[-1].changes == {"source": {"from": None, "to": "rop.bib"}}


def test_actor_falls_back_to_updated_by_outside_requests():
    person = factories.user("curator")
    study = study_services.create_study(person, {"title": "By a command"})
    assert entries(study)[0].actor == person


def test_rolled_back_changes_leave_no_entry():
    study = factories.study()
    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            study_services.update_study(None, study, {"title": "Never happened"})
            raise RuntimeError
    assert AuditEntry.objects.count() == before


def test_filters(curator_client, curator):
    other = factories.user("curator")
    a = factories.study(title="A")
    b = factories.study(title="B")
    _client(other).patch(f"/api/v1/studies/{a.pk}/", {"title": "A2"}, format="json")
    curator_client.patch(f"/api/v1/studies/{b.pk}/", {"title": "B2"}, format="json")
    person = factories.researcher()
    AuditEntry.objects.filter(object_id=person.pk, object_type="researcher").update(
        created_at=timezone.now() - datetime.timedelta(days=10))

    def ids(**params):
        response = curator_client.get("/api/v1/audit-log/", params)
        assert response.status_code == 200, response.json()
        return [(e["object_type"], e["object_id"], e["action"]) for e in response.json()["results"]]

    assert ids(object_type="study", object_id=a.pk) == [("study", a.pk, "update"), ("study", a.pk, "create")]
    assert ids(user=other.pk) == [("study", a.pk, "update")]
    assert ids(user=curator.username) == [("study", b.pk, "update")]
    assert ids(action="update", object_type="study") == [("study", b.pk, "update"), ("study", a.pk, "update")]
    old_day = (timezone.localdate() - datetime.timedelta(days=10)).isoformat()
    assert ids(until=old_day) == [("researcher", person.pk, "create")]
    assert ("researcher", person.pk, "create") not in ids(since=(timezone.localdate()).isoformat())
    assert curator_client.get("/api/v1/audit-log/", {"since": "last tuesday"}).status_code == 400
    # any ISO 8601 offset (up to 23:59; the database takes 15:59) and the calendar's ends are moments too
    assert ("study", b.pk, "update") in ids(since="2000-01-01T03:13:47+20:14")
    assert ids(until="1999-12-31T23:00:00-23:59") == []
    assert ("study", b.pk, "update") in ids(since="0001-01-01T00:00:00+01:00")
    assert ids(until="0001-01-01") == []
    assert ids(since="9999-12-31T23:59:59-01:00") == []


@pytest.mark.parametrize("role,status", [("anonymous", 401), ("reader", 403), ("curator", 200), ("admin", 200)])
def test_only_curators_read_the_log(clients, role, status):
    factories.study()
    entry = AuditEntry.objects.first()
    client = clients[role]
    assert client.get("/api/v1/audit-log/").status_code == status
    assert client.get(f"/api/v1/audit-log/{entry.pk}/").status_code == status
    write = {"anonymous": 401, "reader": 403}.get(role, 405)  # the log is never written through the API
    assert client.post("/api/v1/audit-log/", {}, format="json").status_code == write
    assert client.put(f"/api/v1/audit-log/{entry.pk}/", {}, format="json").status_code == write
    assert client.patch(f"/api/v1/audit-log/{entry.pk}/", {}, format="json").status_code == write
    assert client.delete(f"/api/v1/audit-log/{entry.pk}/").status_code == write
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_admin_shows_the_log_read_only(client, admin_user):
    study = factories.study(title="Seen in the admin")
    client.force_login(admin_user)
    response = client.get("/admin/audit/auditentry/", {"object_type__exact": "study"})
    assert response.status_code == 200 and "Seen in the admin" in response.content.decode()
    entry = entries(study)[0]
    assert client.get(f"/admin/audit/auditentry/{entry.pk}/change/").status_code == 200
    assert client.get("/admin/audit/auditentry/add/").status_code == 403
    assert client.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403


def test_author_list_changes_are_logged_with_the_curator(curator_client, curator):
    study = factories.study(authors=["Hansen, Per", "Lie, Anne"])
    response = curator_client.patch(f"/api/v1/studies/{study.pk}/", {"authors": [{"name": "Lie, Anne"}]},
                                    format="json")
    assert response.status_code == 200
    entry = AuditEntry.objects.filter(object_id=study.pk, changes__has_key="authors").get()
    assert entry.actor == curator
    assert entry.changes["authors"] == {"from": ["Hansen, Per", "Lie, Anne"], "to": ["Lie, Anne"]}
    same = curator_client.patch(f"/api/v1/studies/{study.pk}/", {"authors": [{"name": "Lie, Anne"}]}, format="json")
    assert same.status_code == 200
    assert AuditEntry.objects.filter(object_id=study.pk, changes__has_key="authors").count() == 1
