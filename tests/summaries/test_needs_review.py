"""A summary is flagged for review when its study changes materially (title, abstract, retraction)."""

import pytest

from apps.studies import services as study_services
from apps.summaries.models import Summary
from tests import factories

pytestmark = pytest.mark.django_db


def _flagged(summary):
    summary.refresh_from_db()
    return summary.needs_review


@pytest.mark.parametrize("change,words", [
    ({"title": "A corrected title"}, "changed: title"),
    ({"abstract": "A rewritten abstract."}, "changed: abstract"),
    ({"retracted": True}, "was retracted"),
])
def test_material_change_through_the_api_flags_the_summary(curator_client, change, words):
    study = factories.study(title="Original title", abstract="Original abstract.")
    summary = factories.summary(studies=[study])
    response = curator_client.patch(f"/api/v1/studies/{study.pk}/", change, format="json")
    assert response.status_code == 200
    summary.refresh_from_db()
    assert summary.needs_review and summary.needs_review_since
    assert words in summary.needs_review_reason and str(study.pk) in summary.needs_review_reason
    body = curator_client.get(f"/api/v1/summaries/{summary.pk}/").json()
    assert body["needs_review"] is True and words in body["needs_review_reason"]


def test_other_changes_do_not_flag(curator_client):
    study = factories.study(title="Same title", abstract="Same abstract.")
    summary = factories.summary(studies=[study])
    curator_client.patch(f"/api/v1/studies/{study.pk}/", {"year": 2001, "keywords": ["x"], "title": "Same   title "},
                         format="json")
    assert not _flagged(summary)


def test_changes_outside_the_service_are_detected_too():
    """The admin's save_model and imports may save a study directly; the flag must not depend on the service."""
    study = factories.study(title="Old")
    summary = factories.summary(studies=[study])
    study.title = "New"
    study.save()
    assert _flagged(summary)


def test_saving_a_stale_copy_compares_with_the_database():
    study = factories.study(title="Old")
    summary = factories.summary(studies=[study])
    stale = type(study).objects.get(pk=study.pk)
    study_services.update_study(None, study, {"title": "New"})
    Summary.objects.filter(pk=summary.pk).update(needs_review=False)
    stale.save(update_fields=["year"])  # touches nothing material: no flag
    assert not _flagged(summary)


def test_archived_summaries_are_left_alone_and_deletion_flags():
    study = factories.study()
    archived = factories.summary(studies=[study], status="archived")
    live = factories.summary(studies=[study], status="draft")
    other = factories.summary(studies=[factories.study()])
    study_services.update_study(None, study, {"abstract": "Changed."})
    assert not _flagged(archived) and _flagged(live) and not _flagged(other)
    Summary.objects.filter(pk=live.pk).update(needs_review=False)
    study.delete()
    live.refresh_from_db()
    assert live.needs_review and "deleted" in live.needs_review_reason


def test_a_rolled_back_change_flags_nothing():
    from django.db import transaction

    study = factories.study(title="Old")
    summary = factories.summary(studies=[study])
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            study_services.update_study(None, study, {"title": "New"})
            raise RuntimeError
    assert not _flagged(summary)


def test_work_list_and_clearing_the_flag(curator_client):
    study = factories.study()
    flagged = factories.summary(studies=[study], title="Flagged")
    factories.summary(studies=[factories.study()], title="Fine")
    study_services.update_study(None, study, {"title": "Renamed"})
    listed = curator_client.get("/api/v1/summaries/", {"needs_review": "true"}).json()["results"]
    assert [s["id"] for s in listed] == [flagged.pk]
    curator_client.post(f"/api/v1/summaries/{flagged.pk}/checked/")
    assert curator_client.get("/api/v1/summaries/", {"needs_review": "true"}).json()["results"] == []


def test_flag_is_shown_in_the_admin(client, admin_user):
    study = factories.study()
    summary = factories.summary(studies=[study], title="Admin sees this")
    study_services.update_study(None, study, {"retracted": True})
    client.force_login(admin_user)
    response = client.get("/admin/summaries/summary/", {"needs_review__exact": "1"})
    assert response.status_code == 200 and "Admin sees this" in response.content.decode()
    assert client.get(f"/admin/summaries/summary/{summary.pk}/change/").status_code == 200
