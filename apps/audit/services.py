"""Writing audit entries. The signal handlers in ``signals.py`` call these for every tracked save and
delete; imports, commands and services may call ``record`` for events that are not a plain save.

    from apps.audit.services import record
    record(user, study, action="import", changes={"source": {"from": None, "to": "bibtex:batch-12"}})
"""

from __future__ import annotations

import datetime
import decimal
import json

from django.utils import timezone

from apps.researchers.models import Researcher
from apps.studies.models import Study
from apps.summaries.models import Summary

from . import context
from .models import Action, AuditEntry, ObjectType

MAX_TEXT = 10_000

#: Tracked models: their object type, fields left out of diffs, and m2m fields with the label to log.
TRACKED = {
    Study: {"type": ObjectType.STUDY, "m2m": {"topics": "slug"}},
    Summary: {"type": ObjectType.SUMMARY, "m2m": {"studies": "pk"}, "exclude": {"needs_review_since"}},
    Researcher: {"type": ObjectType.RESEARCHER, "m2m": {"interests": "slug"}},
}
ALWAYS_EXCLUDED = {"id", "created_at", "updated_at", "created_by", "updated_by"}


def object_type(model) -> str | None:
    spec = TRACKED.get(model)
    return spec["type"] if spec else None


def tracked_fields(model):
    """(field name, attribute name) of the concrete fields whose changes are logged."""
    spec = TRACKED[model]
    excluded = ALWAYS_EXCLUDED | spec.get("exclude", set())
    # Fields that are not editable are derived or kept by the system (e.g. duplicate-detection keys).
    return [(f.name, f.attname) for f in model._meta.concrete_fields if f.name not in excluded and f.editable]


def to_json(value):
    """A value as it is stored in ``changes``: JSON types; dates as ISO 8601 (UTC for date-times)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + " […]"
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(datetime.timezone.utc)
        return value.isoformat()
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (list, tuple, dict)):
        return json.loads(json.dumps(value, default=str))
    return str(value)


def snapshot(instance) -> dict:
    return {name: to_json(getattr(instance, attname)) for name, attname in tracked_fields(type(instance))}


def stored_snapshot(instance) -> dict | None:
    """The tracked fields as the database holds them now (before a save), or None for a new row."""
    model = type(instance)
    fields = tracked_fields(model)
    row = model._base_manager.filter(pk=instance.pk).values(*[a for _, a in fields]).first()
    if row is None:
        return None
    return {name: to_json(row[attname]) for name, attname in fields}


def diff(before: dict, after: dict) -> dict:
    return {k: {"from": before.get(k), "to": v} for k, v in after.items() if before.get(k) != v}


def _actor_name(user):
    return user.get_username()[:150] if user is not None else ""


def _entry(actor, obj, action, changes=None, via=None, object_type_=None, object_id=None) -> AuditEntry:
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEntry(
        actor=actor, actor_name=_actor_name(actor), action=action,
        object_type=object_type_ or object_type(type(obj)) or type(obj)._meta.model_name,
        object_id=object_id if object_id is not None else obj.pk,
        object_repr=str(obj)[:300] if obj is not None else "",
        changes=changes or {}, via=(via if via is not None else context.current().via)[:100])


def record(actor, obj, action, changes=None, via=None, object_type_=None, object_id=None):
    """Write one audit entry now (in the caller's transaction). ``actor`` may be None (the system)."""
    if not context.current().enabled:
        return None
    entry = _entry(actor, obj, action, changes, via, object_type_, object_id)
    entry.save()
    return entry


def record_many(actor, changes_by_object, action, via=None) -> int:
    """One entry per object, written in one statement per thousand (bulk work, e.g. publishing an import's
    studies, which sends no signals). ``changes_by_object``: (object, changes) pairs. Returns the count."""
    if not context.current().enabled:
        return 0
    entries = [_entry(actor, obj, action, changes, via) for obj, changes in changes_by_object]
    AuditEntry.objects.bulk_create(entries, batch_size=1000)
    return len(entries)


def note_list_change(actor, obj, field, before, after, created=False):
    """A related list written in bulk (e.g. a study's authors; bulk writes send no signals).

    For an object created in the same operation the list joins its "create" entry; otherwise it is
    an "update" entry of its own. Nothing is written when the list did not change.
    """
    if before == after:
        return None
    if created:
        entry = (AuditEntry.objects.filter(object_type=object_type(type(obj)), object_id=obj.pk, action=Action.CREATE)
                 .order_by("-id").first())
        if entry is not None:
            entry.changes[field] = {"from": None, "to": after}
            entry.save(update_fields=["changes"])
            return entry
    return record(actor, obj, Action.UPDATE, {field: {"from": before, "to": after}})


def action_for_save(created: bool, changes: dict) -> str:
    forced = context.current().action
    if forced:
        return forced
    if created:
        return Action.CREATE  # the changes show the status it was created with
    status = changes.get("status")
    if status and status.get("to") == "published":
        return Action.PUBLISH
    return Action.UPDATE
