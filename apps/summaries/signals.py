"""Flag summaries for review when a study they summarise changes materially.

Signals, not a call in the studies service, because studies change through several paths (the
API and admin through ``apps.studies.services``, but also the admin's own ``save_model``, imports
and management commands). ``pre_save`` reads the stored title, abstract and retraction flag from
the database (so what counts is the row as committed before, never an in-memory copy), and
``post_save`` compares; both run inside the writer's transaction, so a rolled-back change flags
nothing. ``QuerySet.update()`` bypasses signals; nothing in kb changes these fields that way.
"""

from django.db.models.signals import post_save, pre_delete, pre_save

from apps.studies.models import Study

from . import services

MATERIAL_FIELDS = ("title", "abstract", "retracted")
_BEFORE = "_kb_summaries_material_before"


def _normalized(field, value):
    return " ".join(value.split()) if isinstance(value, str) else value


def study_pre_save(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or instance.pk is None or instance._state.adding:
        return
    if update_fields is not None and not set(update_fields) & set(MATERIAL_FIELDS):
        return
    setattr(instance, _BEFORE, Study._base_manager.filter(pk=instance.pk).values(*MATERIAL_FIELDS).first())


def study_post_save(sender, instance, created=False, raw=False, **kwargs):
    before = instance.__dict__.pop(_BEFORE, None)
    if created or raw or not before:
        return
    changed = [f for f in MATERIAL_FIELDS
               if _normalized(f, before[f]) != _normalized(f, getattr(instance, f))]
    if not changed:
        return
    label = f"Study {instance.pk} «{instance.title[:80]}»"
    if "retracted" in changed:
        reason = f"{label} was {'retracted' if instance.retracted else 'un-retracted'}."
        rest = [f for f in changed if f != "retracted"]
        if rest:
            reason += f" Also changed: {', '.join(rest)}."
    else:
        reason = f"{label} changed: {', '.join(changed)}."
    services.flag_summaries_for_study(instance.pk, reason)


def study_pre_delete(sender, instance, **kwargs):
    services.flag_summaries_for_study(instance.pk, f"Study {instance.pk} «{instance.title[:80]}» was deleted.")


def connect():
    uid = "kb-summaries-"
    pre_save.connect(study_pre_save, sender=Study, dispatch_uid=uid + "study-pre-save")
    post_save.connect(study_post_save, sender=Study, dispatch_uid=uid + "study-post-save")
    pre_delete.connect(study_pre_delete, sender=Study, dispatch_uid=uid + "study-pre-delete")
