"""Record index work for every change that a search document depends on.

The handlers only write outbox rows in the current transaction (no I/O to the search engine);
the drain runs after commit. Changes to related rows (a researcher renamed, a topic relabelled,
a summary published) mark the documents that show them.
"""

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete

from apps.researchers.models import Affiliation, Institution, Researcher
from apps.studies.models import Authorship, Study, Venue
from apps.summaries.models import Summary
from apps.topics.models import Topic

from .sync import mark_dirty


def _studies_of_researchers(ids):
    return Authorship.objects.filter(researcher_id__in=list(ids)).values_list("study_id", flat=True).distinct()


def study_changed(sender, instance, **kwargs):
    mark_dirty("studies", [instance.pk])


def authorship_changed(sender, instance, **kwargs):
    mark_dirty("studies", [instance.study_id])


def study_topics_changed(sender, instance, action, pk_set, reverse, **kwargs):
    if not action.startswith("post_"):
        return
    if reverse:  # topic.studies.add(...)
        mark_dirty("studies", pk_set or Study.topics.through.objects.filter(topic_id=instance.pk)
                   .values_list("study_id", flat=True))
    else:
        mark_dirty("studies", [instance.pk])


def summary_changed(sender, instance, **kwargs):
    mark_dirty("summaries", [instance.pk])
    mark_dirty("studies", instance.studies.values_list("id", flat=True))


def summary_deleting(sender, instance, **kwargs):
    instance._kb_study_ids = list(instance.studies.values_list("id", flat=True))


def summary_deleted(sender, instance, **kwargs):
    mark_dirty("summaries", [instance.pk])
    mark_dirty("studies", getattr(instance, "_kb_study_ids", []))


def summary_studies_changed(sender, instance, action, pk_set, reverse, **kwargs):
    own, other = ("studies", "summaries") if reverse else ("summaries", "studies")
    if action == "pre_clear":  # remember who is about to be unlinked
        mine, theirs = ("study_id", "summary_id") if reverse else ("summary_id", "study_id")
        mark_dirty(other, sender.objects.filter(**{mine: instance.pk}).values_list(theirs, flat=True))
    elif action in ("post_add", "post_remove"):
        mark_dirty(other, pk_set or [])
    if action.startswith("post_"):
        mark_dirty(own, [instance.pk])


def researcher_changed(sender, instance, **kwargs):
    mark_dirty("researchers", [instance.pk])
    mark_dirty("studies", _studies_of_researchers([instance.pk]))


def researcher_deleting(sender, instance, **kwargs):
    mark_dirty("researchers", [instance.pk])
    mark_dirty("studies", _studies_of_researchers([instance.pk]))


def researcher_interests_changed(sender, instance, action, pk_set, reverse, **kwargs):
    if action.startswith("post_"):
        if reverse:
            mark_dirty("researchers", pk_set or [])
        else:
            mark_dirty("researchers", [instance.pk])


def affiliation_changed(sender, instance, **kwargs):
    mark_dirty("researchers", [instance.researcher_id])
    mark_dirty("studies", _studies_of_researchers([instance.researcher_id]))


def institution_changed(sender, instance, **kwargs):
    researchers = Affiliation.objects.filter(institution_id=instance.pk).values_list("researcher_id", flat=True)
    mark_dirty("researchers", researchers)


def topic_changed(sender, instance, **kwargs):
    mark_dirty("studies", Study.topics.through.objects.filter(topic_id=instance.pk).values_list("study_id", flat=True))
    mark_dirty("researchers", Researcher.interests.through.objects.filter(topic_id=instance.pk)
               .values_list("researcher_id", flat=True))


def topic_deleting(sender, instance, **kwargs):
    topic_changed(sender, instance)


def venue_changed(sender, instance, **kwargs):
    mark_dirty("studies", Study.objects.filter(venue_id=instance.pk).values_list("id", flat=True))


def connect():
    uid = "kb-search-"
    post_save.connect(study_changed, sender=Study, dispatch_uid=uid + "study-save")
    post_delete.connect(study_changed, sender=Study, dispatch_uid=uid + "study-delete")
    post_save.connect(authorship_changed, sender=Authorship, dispatch_uid=uid + "authorship-save")
    post_delete.connect(authorship_changed, sender=Authorship, dispatch_uid=uid + "authorship-delete")
    m2m_changed.connect(study_topics_changed, sender=Study.topics.through, dispatch_uid=uid + "study-topics")
    post_save.connect(summary_changed, sender=Summary, dispatch_uid=uid + "summary-save")
    pre_delete.connect(summary_deleting, sender=Summary, dispatch_uid=uid + "summary-deleting")
    post_delete.connect(summary_deleted, sender=Summary, dispatch_uid=uid + "summary-delete")
    m2m_changed.connect(summary_studies_changed, sender=Summary.studies.through, dispatch_uid=uid + "summary-studies")
    post_save.connect(researcher_changed, sender=Researcher, dispatch_uid=uid + "researcher-save")
    pre_delete.connect(researcher_deleting, sender=Researcher, dispatch_uid=uid + "researcher-delete")
    m2m_changed.connect(researcher_interests_changed, sender=Researcher.interests.through,
                        dispatch_uid=uid + "researcher-interests")
    post_save.connect(affiliation_changed, sender=Affiliation, dispatch_uid=uid + "affiliation-save")
    post_delete.connect(affiliation_changed, sender=Affiliation, dispatch_uid=uid + "affiliation-delete")
    post_save.connect(institution_changed, sender=Institution, dispatch_uid=uid + "institution-save")
    post_save.connect(topic_changed, sender=Topic, dispatch_uid=uid + "topic-save")
    pre_delete.connect(topic_deleting, sender=Topic, dispatch_uid=uid + "topic-delete")
    post_save.connect(venue_changed, sender=Venue, dispatch_uid=uid + "venue-save")
