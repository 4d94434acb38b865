"""The search vocabulary in the admin: curators add, correct and retire Norwegian-English pairs.

Permissions follow the project's pattern: the curators group holds every permission of the search
app (``apps.accounts.signals.CURATOR_APPS``), admins are superusers. A change reaches searches at
once in this process and within seconds in the others (``search/vocabulary.py``).
"""

from django.contrib import admin, messages

from .models import VocabularyEntry


@admin.register(VocabularyEntry)
class VocabularyEntryAdmin(admin.ModelAdmin):
    list_display = ["term_nb", "term_en", "source", "active", "updated_at"]
    list_display_links = ["term_nb", "term_en"]
    list_filter = ["source", "active"]
    search_fields = ["term_nb", "term_en", "note"]
    list_editable = ["active"]
    list_per_page = 100
    fields = ["term_nb", "term_en", "active", "note", "source", "created_at", "updated_at"]
    readonly_fields = ["created_at", "updated_at"]
    actions = ["activate", "deactivate"]

    def get_readonly_fields(self, request, obj=None):
        # where a seeded pair came from stays recorded; new pairs are "curated" unless chosen otherwise
        return [*self.readonly_fields, "source"] if obj is not None else self.readonly_fields

    @admin.action(description="Activate selected pairs", permissions=["change"])
    def activate(self, request, queryset):
        self._set_active(request, queryset, True)

    @admin.action(description="Deactivate selected pairs (they stop expanding searches)", permissions=["change"])
    def deactivate(self, request, queryset):
        self._set_active(request, queryset, False)

    def _set_active(self, request, queryset, active):
        count = 0
        for entry in queryset.exclude(active=active):
            entry.active = active
            entry.save(update_fields=["active", "updated_at"])  # one save each: the signal refreshes searches
            count += 1
        self.message_user(request, f"{'Activated' if active else 'Deactivated'} {count} pairs.", messages.SUCCESS)
