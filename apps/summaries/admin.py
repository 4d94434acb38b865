from django.contrib import admin, messages

from . import services
from .models import Summary, SummaryVersion


class SummaryVersionInline(admin.TabularInline):
    model = SummaryVersion
    extra = 0
    can_delete = False
    fields = ["number", "title", "readability_lix", "change_note", "created_by", "reviewer", "created_at"]
    readonly_fields = fields
    ordering = ["-number"]
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Summary)
class SummaryAdmin(admin.ModelAdmin):
    list_display = ["title", "audience", "language", "status", "version", "readability_lix", "needs_review",
                    "last_checked", "author", "reviewer", "published_at"]
    list_filter = ["status", "needs_review", "audience", "language"]
    search_fields = ["title", "body", "studies__title"]
    autocomplete_fields = ["studies"]
    readonly_fields = ["status", "version", "readability_lix", "needs_review", "needs_review_reason",
                       "needs_review_since", "reviewer", "published_at", "created_at", "updated_at", "created_by",
                       "updated_by"]
    raw_id_fields = ["author"]
    inlines = [SummaryVersionInline]
    actions = ["submit", "approve", "reject", "archive", "mark_checked"]

    def save_model(self, request, obj, form, change):
        # Through the service, so an edit of a published summary makes a new version; the status is
        # read-only here and changes only through the actions below.
        data = {f: form.cleaned_data[f] for f in services.FIELDS if f in form.cleaned_data}
        if not change and form.cleaned_data.get("author"):
            data["author"] = form.cleaned_data["author"]
        services.save_summary(request.user, data, obj)

    def _apply(self, request, queryset, service, done):
        ok, refused = 0, []
        for summary in queryset:
            try:
                service(request.user, summary)
                ok += 1
            except services.WorkflowError as exc:
                refused.append(f"«{summary.title[:60]}»: {exc.message}")
        if ok:
            self.message_user(request, f"{done}: {ok}.", messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.ERROR)

    @admin.action(description="Submit for review")
    def submit(self, request, queryset):
        self._apply(request, queryset, services.submit_summary, "Submitted")

    @admin.action(description="Approve and publish (not your own)")
    def approve(self, request, queryset):
        self._apply(request, queryset, services.approve_summary, "Published")

    @admin.action(description="Send back to draft")
    def reject(self, request, queryset):
        self._apply(request, queryset, services.reject_summary, "Back to draft")

    @admin.action(description="Archive")
    def archive(self, request, queryset):
        self._apply(request, queryset, services.archive_summary, "Archived")

    @admin.action(description="Mark as checked today (clears 'needs review')")
    def mark_checked(self, request, queryset):
        self._apply(request, queryset, services.mark_checked, "Checked")
