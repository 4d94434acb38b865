from django.contrib import admin

from . import services
from .models import Summary


@admin.register(Summary)
class SummaryAdmin(admin.ModelAdmin):
    list_display = ["title", "audience", "language", "status", "author", "published_at"]
    list_filter = ["status", "audience", "language"]
    search_fields = ["title", "body", "studies__title"]
    autocomplete_fields = ["studies"]
    readonly_fields = ["published_at", "created_at", "updated_at", "created_by", "updated_by"]
    raw_id_fields = ["author", "reviewer"]

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in services.FIELDS if f in form.cleaned_data}
        services.save_summary(request.user, data, obj if change else None) if change else None
        if not change:
            obj.created_by = obj.updated_by = request.user
            obj.author = obj.author or request.user
            super().save_model(request, obj, form, change)
