from django.contrib import admin

from .models import Topic


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["label_en", "label_nb", "slug", "parent", "sort_order"]
    list_filter = [("parent", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["label_en", "label_nb", "slug"]
    prepopulated_fields = {"slug": ["label_en"]}
    autocomplete_fields = ["parent"]
    list_editable = ["sort_order"]
