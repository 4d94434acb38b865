from django import forms
from django.contrib import admin, messages
from django.shortcuts import render

from apps.topics.models import Topic

from . import services
from .models import Authorship, Status, Study, Venue


class AuthorshipInline(admin.TabularInline):
    model = Authorship
    extra = 0
    fields = ["position", "name", "family_name", "given_name", "researcher", "corresponding"]
    autocomplete_fields = ["researcher"]
    ordering = ["position"]


class TopicAssignForm(forms.Form):
    topics = forms.ModelMultipleChoiceField(queryset=Topic.objects.all(), widget=forms.CheckboxSelectMultiple)
    replace = forms.BooleanField(required=False, help_text="Replace the studies' topics instead of adding.")


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ["title", "year", "study_type", "design", "language", "status", "retracted", "doi"]
    list_filter = ["status", "study_type", "design", "language", "retracted", "provenance", "topics"]
    search_fields = ["title", "abstract", "doi", "pmid", "isbn", "authorships__name"]
    autocomplete_fields = ["venue", "topics"]
    readonly_fields = ["published_at", "created_at", "updated_at", "created_by", "updated_by", "provenance"]
    inlines = [AuthorshipInline]
    actions = ["publish", "assign_topics"]
    list_per_page = 50
    fieldsets = [
        (None, {"fields": ["title", "subtitle", "abstract", "language", "study_type", "design", "topics",
                           "keywords"]}),
        ("Publication", {"fields": ["year", "month", "day", "venue", "volume", "issue", "pages", "publisher",
                                    "edition", "chapter"]}),
        ("Identifiers", {"fields": ["doi", "pmid", "pmcid", "isbn", "url"]}),
        ("Status", {"fields": ["status", "published_at", "retracted"]}),
        ("Provenance", {"classes": ["collapse"],
                        "fields": ["provenance", "source_key", "source_entry", "created_at", "created_by",
                                   "updated_at", "updated_by"]}),
    ]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Publish selected studies")
    def publish(self, request, queryset):
        count = 0
        for study in queryset.exclude(status=Status.PUBLISHED):
            services.publish_study(request.user, study)
            count += 1
        self.message_user(request, f"Published {count} studies.", messages.SUCCESS)

    @admin.action(description="Assign topics to selected studies")
    def assign_topics(self, request, queryset):
        if "apply" in request.POST:
            form = TopicAssignForm(request.POST)
            if form.is_valid():
                services.assign_topics(request.user, list(queryset), form.cleaned_data["topics"],
                                       replace=form.cleaned_data["replace"])
                self.message_user(request, f"Topics assigned to {queryset.count()} studies.", messages.SUCCESS)
                return None
        else:
            form = TopicAssignForm()
        return render(request, "admin/studies/assign_topics.html",
                      {"form": form, "studies": queryset, "title": "Assign topics",
                       "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME, "opts": self.model._meta})


@admin.register(Venue)
class VenueAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "issn"]
    list_filter = ["kind"]
    search_fields = ["name", "issn"]
