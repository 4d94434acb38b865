import json

from django.contrib import admin
from django.utils.html import format_html

from apps.common.roles import is_curator

from .models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the log is written by kb, never by hand."""

    list_display = ["created_at", "actor_name", "action", "object_type", "object_id", "object_repr", "changed",
                    "via"]
    list_filter = ["action", "object_type", "via", "created_at"]
    search_fields = ["object_repr", "actor_name", "=object_id"]
    date_hierarchy = "created_at"
    fields = ["created_at", "actor", "actor_name", "action", "object_type", "object_id", "object_repr", "via",
              "changes_pretty"]
    readonly_fields = fields
    list_select_related = ["actor"]

    @admin.display(description="fields")
    def changed(self, obj):
        return ", ".join(sorted(obj.changes))[:120]

    @admin.display(description="changes")
    def changes_pretty(self, obj):
        return format_html("<pre style='white-space: pre-wrap'>{}</pre>",
                           json.dumps(obj.changes, indent=2, ensure_ascii=False))

    def has_view_permission(self, request, obj=None):
        return is_curator(request.user)

    def has_module_permission(self, request):
        return is_curator(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
