from django.conf import settings
from django.db import models
from django.utils import timezone


class Action(models.TextChoices):
    CREATE = "create", "Created"
    UPDATE = "update", "Changed"
    DELETE = "delete", "Deleted"
    PUBLISH = "publish", "Published"
    IMPORT = "import", "Imported"


class ObjectType(models.TextChoices):
    STUDY = "study", "Study"
    SUMMARY = "summary", "Summary"
    RESEARCHER = "researcher", "Researcher"


class AuditEntry(models.Model):
    """One change to a study, summary or researcher: who, when, what, and each field from what to what.

    ``changes`` maps a field name to ``{"from": old, "to": new}`` (values as JSON), or for a
    many-to-many field to ``{"added": [...], "removed": [...]}``. Entries are written in the same
    transaction as the change, so a rolled-back change leaves no entry. They are never edited.
    """

    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    # no index of its own: the (actor, created_at) index serves lookups by actor
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", editable=False, db_index=False)
    actor_name = models.CharField(max_length=150, blank=True, editable=False,
                                  help_text="The user name at the time (kept when the user is deleted).")
    action = models.CharField(max_length=10, choices=Action.choices, editable=False)
    object_type = models.CharField(max_length=20, choices=ObjectType.choices, editable=False)
    object_id = models.BigIntegerField(editable=False)
    object_repr = models.CharField("object", max_length=300, blank=True, editable=False)
    changes = models.JSONField(default=dict, blank=True, editable=False)
    via = models.CharField(max_length=100, blank=True, editable=False,
                           help_text="How the change came in: api, admin, import (with a source), command.")

    class Meta:
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id", "-created_at"], name="audit_object"),
            models.Index(fields=["actor", "-created_at"], name="audit_actor"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name or 'system'} {self.action} " \
               f"{self.object_type} {self.object_id}"
