from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from .models import ImportJob, ImportOutcome, JobStatus, Policy, ReviewItem, ReviewStatus
from .refusal import ImportRefused


def _services():
    """The import services, imported when an admin action runs: Django's setup imports this module in
    every process, the import's reader process included, which must not load the import engine."""
    from . import services

    return services

INLINE_OUTCOMES = 200


class _FirstOutcomes(forms.BaseInlineFormSet):
    def get_queryset(self):
        return super().get_queryset().order_by("index")[:INLINE_OUTCOMES]


class ImportOutcomeInline(admin.TabularInline):
    model = ImportOutcome
    formset = _FirstOutcomes
    fields = ["index", "line", "key", "outcome", "study_link", "rule", "score", "duplicate_of", "changed_fields",
              "message"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = f"outcomes (the first {INLINE_OUTCOMES}; all of them under Import outcomes)"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="study")
    def study_link(self, outcome):
        if not outcome.study_id:
            return "-"
        return format_html('<a href="{}">{}</a>', reverse("admin:studies_study_change", args=[outcome.study_id]),
                           outcome.study_id)


class ImportUploadForm(forms.ModelForm):
    class Meta:
        model = ImportJob
        fields = ["file", "policy", "dry_run"]


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["id", "file_name", "format", "status", "policy", "dry_run", "progress", "counts_text", "uploaded_by",
                    "created_at"]
    list_filter = ["status", "format", "policy", "dry_run"]
    search_fields = ["file_name", "checksum"]
    inlines = [ImportOutcomeInline]
    actions = ["resume", "undo"]
    readonly_fields = ["file_name", "format", "size", "checksum", "uploaded_by", "policy", "dry_run", "status", "total",
                       "done", "counts", "encoding", "encoding_guessed", "warnings", "error", "attempts", "created_at",
                       "enqueued_at", "enqueue_error", "started_at", "finished_at", "undone_at", "undone_by",
                       "outcomes_link"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ImportUploadForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ["file", "policy", "dry_run"] if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_inlines(self, request, obj):
        return [] if obj is None else self.inlines

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)  # jobs are read-only once made

    def save_model(self, request, obj, form, change):
        if change:
            return
        data = form.cleaned_data
        job = _services().create_job(request.user, data["file"], file_name=data["file"].name,
                                  policy=data.get("policy") or Policy.FILL, dry_run=data.get("dry_run", False))
        obj.__dict__.update({k: v for k, v in job.__dict__.items() if not k.startswith("_")})
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        pass

    @admin.display(description="progress")
    def progress(self, job):
        return f"{job.done:,}/{max(job.total or 0, job.done):,}"

    @admin.display(description="outcomes")
    def counts_text(self, job):
        return ", ".join(f"{k} {v}" for k, v in (job.counts or {}).items() if v) or "-"

    @admin.display(description="all outcomes")
    def outcomes_link(self, job):
        url = reverse("admin:imports_importoutcome_changelist") + f"?job__id__exact={job.pk}"
        return format_html('<a href="{}">{} outcomes</a>', url, job.outcomes.count())

    @admin.action(description="Run / resume the selected jobs")
    def resume(self, request, queryset):
        for job in queryset.exclude(status__in=[JobStatus.DONE, JobStatus.UNDONE]):
            _services().resume_job(request.user, job)
        self.message_user(request, "Queued.", messages.SUCCESS)

    @admin.action(description="Undo the selected imports")
    def undo(self, request, queryset):
        for job in queryset:
            try:
                _services().undo_job(request.user, job)
            except ImportRefused as exc:
                edited = ", ".join(str(s["id"]) for s in exc.extra.get("edited_studies", [])[:20])
                self.message_user(request, f"Import {job.pk}: {exc.message} {('Edited studies: ' + edited) if edited else ''}",
                                  messages.ERROR)
            else:
                self.message_user(request, f"Import {job.pk} undone.", messages.SUCCESS)


@admin.register(ImportOutcome)
class ImportOutcomeAdmin(admin.ModelAdmin):
    list_display = ["job", "index", "file_position", "line", "key", "outcome", "study", "rule", "score", "message"]
    list_filter = ["outcome", "rule"]
    search_fields = ["key", "message"]
    list_select_related = ["job"]
    raw_id_fields = ["study"]
    list_per_page = 100

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ReviewItem)
class ReviewItemAdmin(admin.ModelAdmin):
    list_display = ["id", "job", "entry_title", "candidate", "score", "status", "created_at", "resolved_by"]
    list_filter = ["status"]
    search_fields = ["candidate__title"]
    list_select_related = ["job", "candidate", "resolved_by"]
    actions = ["merge", "create"]
    readonly_fields = ["job", "outcome", "candidate", "score", "reasons", "status", "entry_raw", "created_at",
                       "resolved_at", "resolved_by"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="entry")
    def entry_title(self, item):
        return (item.data or {}).get("fields", {}).get("title", "")[:120]

    @admin.display(description="raw entry")
    def entry_raw(self, item):
        return format_html("<pre>{}</pre>", (item.data or {}).get("raw", ""))

    def _resolve(self, request, queryset, decision):
        done = 0
        for item in queryset.filter(status=ReviewStatus.OPEN):
            try:
                _services().resolve_review(request.user, item, decision)
                done += 1
            except ImportRefused as exc:
                self.message_user(request, f"Review {item.pk}: {exc.message}", messages.ERROR)
        self.message_user(request, f"{done} review(s) resolved.", messages.SUCCESS)

    @admin.action(description="Same work: merge into the candidate study")
    def merge(self, request, queryset):
        self._resolve(request, queryset, "merge")

    @admin.action(description="Different works: create new studies")
    def create(self, request, queryset):
        self._resolve(request, queryset, "create")
