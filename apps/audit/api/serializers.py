from rest_framework import serializers

from ..models import AuditEntry


class AuditEntrySerializer(serializers.ModelSerializer):
    changes = serializers.DictField(
        child=serializers.DictField(),
        help_text='Field name -> {"from": old, "to": new}; many-to-many fields -> {"added": [...], "removed": [...]}.')

    class Meta:
        model = AuditEntry
        fields = ["id", "created_at", "actor", "actor_name", "action", "object_type", "object_id", "object_repr",
                  "changes", "via"]
        read_only_fields = fields
