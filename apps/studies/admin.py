from django import forms
from django.contrib import admin, messages
from django.db import models
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html

from apps.topics.models import Topic

from . import publication, services
from .models import Authorship, PublicationJob, Study, Venue


class AuthorshipInline(admin.TabularInline):
    model = Authorship
    extra = 0
    fields = ["position", "name", "family_name", "given_name", "researcher", "corresponding"]
    autocomplete_fields = ["researcher"]
    ordering = ["position"]


class TopicAssignForm(forms.Form):
    topics = forms.ModelMultipleChoiceField(queryset=Topic.objects.all(), widget=forms.CheckboxSelectMultiple)
    replace = forms.BooleanField(required=False, help_text="Replace the studies' topics instead of adding.")


class IncompleteFilter(admin.SimpleListFilter):
    """Incomplete drafts (``Study.gaps``): the same selection as the API's ``?incomplete=true``."""

    title = "incomplete"
    parameter_name = "incomplete"

    def lookups(self, request, model_admin):
        return [("true", "Incomplete (cannot be published yet)"), ("false", "Complete")]

    def queryset(self, request, queryset):
        if self.value() in ("true", "false"):
            return queryset.incomplete(self.value() == "true")
        return queryset


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ["display_title", "year", "study_type", "design", "language", "status", "incomplete",
                    "retracted", "doi"]
    list_filter = ["status", IncompleteFilter, "study_type", "design", "language", "retracted", "provenance",
                   "topics"]
    search_fields = ["title", "abstract", "doi", "pmid", "isbn", "authorships__name"]
    autocomplete_fields = ["venue", "topics"]
    readonly_fields = ["published_at", "created_at", "updated_at", "created_by", "updated_by", "provenance"]
    inlines = [AuthorshipInline]
    actions = ["publish", "unpublish", "assign_topics"]
    list_per_page = 50
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # Django 6's default, said now
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

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("venue").prefetch_related("authorships")

    @admin.display(description="title", ordering="title")
    def display_title(self, study):
        return study.display_title

    @admin.display(description="incomplete", boolean=True)
    def incomplete(self, study):
        return study.incomplete

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Publish selected studies")
    def publish(self, request, queryset):
        self._bulk(request, queryset, PublicationJob.Action.PUBLISH)

    @admin.action(description="Unpublish selected studies (back to draft)")
    def unpublish(self, request, queryset):
        self._bulk(request, queryset, PublicationJob.Action.UNPUBLISH)

    def _bulk(self, request, queryset, action):
        """One publication job for the selection (apps/studies/publication.py); a large one runs in the
        background and the message links to its progress."""
        ids = list(queryset.order_by("pk").values_list("pk", flat=True))
        job = publication.start(request.user, action, ids, {"ids": ids}, via="admin")
        job.refresh_from_db()
        link = reverse("admin:studies_publicationjob_change", args=[job.pk])
        if job.status in (PublicationJob.State.QUEUED, PublicationJob.State.RUNNING):
            self.message_user(request, format_html(
                'Working through {} studies in the background: <a href="{}">follow the job</a>.', job.total, link))
            return
        verb = "Published" if action == PublicationJob.Action.PUBLISH else "Unpublished"
        self.message_user(request, f"{verb} {job.changed} studies ({job.unchanged} had that status already).",
                          messages.SUCCESS if job.status == PublicationJob.State.DONE else messages.ERROR)
        if job.refused:
            listed = "; ".join(f"{r['id']} {r['title'][:60]!r}: " + " ".join(
                f"{field}: {' '.join(msgs)}" for field, msgs in r["errors"].items()) for r in job.refused[:10])
            self.message_user(request, format_html('{} studies could not be published ({}). <a href="{}">All of '
                                                   'them</a>.', len(job.refused), listed, link), messages.WARNING)
        if job.error:
            self.message_user(request, job.error, messages.ERROR)

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


@admin.register(PublicationJob)
class PublicationJobAdmin(admin.ModelAdmin):
    """Bulk publish/unpublish jobs: read-only (they are made by the studies' actions and the API)."""

    list_display = ["id", "action", "status", "total", "done", "changed", "unchanged", "refused_count",
                    "requested_by", "via", "created_at"]
    list_filter = ["action", "status", "via"]
    readonly_fields = ["action", "status", "selection", "total", "done", "changed", "unchanged", "refused",
                       "error", "requested_by", "via", "created_at", "started_at", "finished_at"]
    exclude = ["study_ids"]

    @admin.display(description="refused")
    def refused_count(self, job):
        return len(job.refused)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
