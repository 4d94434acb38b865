from django.contrib import admin

from .models import SavedSearch


@admin.register(SavedSearch)
class SavedSearchAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "created_at", "last_seen_at"]
    search_fields = ["name", "user__username"]
    readonly_fields = ["created_at", "updated_at", "feed_key"]
    raw_id_fields = ["user"]
