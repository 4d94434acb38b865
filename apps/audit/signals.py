"""Log every create, update, delete and many-to-many change of studies, summaries and researchers.

``pre_save`` reads the stored row (one query), ``post_save`` compares it with what was saved and
writes an ``AuditEntry`` with the changed fields, in the same transaction. Saves that change
nothing tracked (only ``updated_at``) write nothing. Fixture loading (``raw``) is not logged.
Limits: ``QuerySet.update()`` and ``bulk_create`` send no signals, so they are not logged (the
authors of a study are replaced that way; a study's own save in the same service call is logged).
"""

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from . import context, services
from .models import Action

_BEFORE = "_kb_audit_before"
_CLEARING = "_kb_audit_clearing"


def before_save(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None or instance._state.adding or not context.current().enabled:
        return
    setattr(instance, _BEFORE, services.stored_snapshot(instance))


def after_save(sender, instance, created=False, raw=False, **kwargs):
    before = instance.__dict__.pop(_BEFORE, None)
    if raw or not context.current().enabled:
        return
    after = services.snapshot(instance)
    if created or before is None:
        changes = {k: {"from": None, "to": v} for k, v in after.items() if v not in (None, "", [], {})}
        created = True
    else:
        changes = services.diff(before, after)
        if not changes:
            return
    actor = context.actor(fallback=getattr(instance, "updated_by", None))
    services.record(actor, instance, services.action_for_save(created, changes), changes)


def after_delete(sender, instance, **kwargs):
    if not context.current().enabled:
        return
    before = services.snapshot(instance)
    changes = {k: {"from": v, "to": None} for k, v in before.items() if v not in (None, "", [], {})}
    services.record(context.actor(), instance, Action.DELETE, changes)


def _labels(model, ids, label):
    ids = sorted(ids)
    if label == "pk":
        return ids
    return sorted(model._base_manager.filter(pk__in=ids).values_list(label, flat=True))


def _m2m_handler(owner, field_name, label):
    """A handler for one tracked many-to-many field ``owner.field_name``; ``label`` names the target."""
    field = owner._meta.get_field(field_name)
    target = field.related_model

    def handler(sender, instance, action, reverse, model, pk_set, **kwargs):
        if not context.current().enabled:
            return
        if action == "pre_clear":
            if reverse:
                ids = set(field.remote_field.through.objects.filter(
                    **{f"{target._meta.model_name}_id": instance.pk})
                    .values_list(f"{owner._meta.model_name}_id", flat=True))
            else:
                ids = set(getattr(instance, field_name).values_list("pk", flat=True))
            setattr(instance, _CLEARING, ids)
            return
        if action not in ("post_add", "post_remove", "post_clear"):
            return
        if action == "post_clear":
            pk_set = instance.__dict__.pop(_CLEARING, set())
        if not pk_set:
            return
        key = "added" if action == "post_add" else "removed"
        if not reverse:
            change = {field_name: {key: _labels(target, pk_set, label)}}
            actor = context.actor(fallback=getattr(instance, "updated_by", None))
            services.record(actor, instance, context.current().action or Action.UPDATE, change)
            return
        # reverse: ``instance`` is the target (e.g. a topic), the tracked owners are in pk_set
        value = getattr(instance, label) if label != "pk" else instance.pk
        for obj in owner._base_manager.filter(pk__in=pk_set):
            services.record(context.actor(), obj, context.current().action or Action.UPDATE,
                            {field_name: {key: [value]}})

    handler.__name__ = f"audit_{owner._meta.model_name}_{field_name}"
    return handler


_handlers = []  # keep the m2m closures alive (signals hold weak references by default)


def connect():
    for model, spec in services.TRACKED.items():
        name = model._meta.label_lower
        pre_save.connect(before_save, sender=model, dispatch_uid=f"kb-audit-pre-save-{name}")
        post_save.connect(after_save, sender=model, dispatch_uid=f"kb-audit-post-save-{name}")
        post_delete.connect(after_delete, sender=model, dispatch_uid=f"kb-audit-delete-{name}")
        for field_name, label in spec.get("m2m", {}).items():
            handler = _m2m_handler(model, field_name, label)
            _handlers.append(handler)
            through = model._meta.get_field(field_name).remote_field.through
            m2m_changed.connect(handler, sender=through, weak=False,
                                dispatch_uid=f"kb-audit-m2m-{name}-{field_name}")
