"""Curators' BibTeX imports: upload a file, follow the job, read its report, resolve the review queue.

Built on the import app's service layer (``apps.imports.services``), the same functions its API
(``/api/v1/imports/``) calls; the job page polls that API for progress while the job runs.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _, gettext_lazy

from apps.imports import services
from apps.imports.models import ImportJob, JobStatus, Outcome, Policy, ReviewItem, ReviewStatus

from .common import page
from .curator import curator_required

POLICIES = {"fill": gettext_lazy("Fill in empty fields of studies already in kb"),
            "skip": gettext_lazy("Leave studies already in kb unchanged"),
            "overwrite": gettext_lazy("Replace fields of studies already in kb with the file's values")}
OUTCOMES = {"created": gettext_lazy("Created"), "merged": gettext_lazy("Merged"),
            "skipped": gettext_lazy("Skipped"), "duplicate": gettext_lazy("Duplicate in the file"),
            "review": gettext_lazy("For review"), "failed": gettext_lazy("Failed")}
STATUSES = {"queued": gettext_lazy("Queued"), "running": gettext_lazy("Running"), "done": gettext_lazy("Done"),
            "failed": gettext_lazy("Failed"), "undone": gettext_lazy("Undone")}


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("BibTeX file (.bib)"))
    policy = forms.ChoiceField(label=gettext_lazy("When an entry is already in kb"), widget=forms.RadioSelect,
                               choices=lambda: [(k, str(v)) for k, v in POLICIES.items()], initial=Policy.FILL)
    dry_run = forms.BooleanField(label=gettext_lazy("Trial run: write the report, change nothing"), required=False)

    def clean_file(self):
        f = self.cleaned_data["file"]
        if f.size > settings.KB_MAX_UPLOAD_BYTES:
            raise ValidationError(_("The file is too large (at most %(mb)s MB).")
                                  % {"mb": settings.KB_MAX_UPLOAD_BYTES // (1024 * 1024)})
        return f


def _job_row(job):
    total = max(job.total or 0, job.done) or None
    return {"job": job, "status": str(STATUSES.get(job.status, job.status)),
            "percent": round(100 * job.done / total) if total else (100 if job.status == JobStatus.DONE else 0),
            "counts": [(str(OUTCOMES[k]), k, int((job.counts or {}).get(k, 0))) for k in Outcome.values]}


@curator_required
def imports(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = services.create_job(request.user, data["file"], file_name=data["file"].name,
                                      policy=data["policy"], dry_run=data["dry_run"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("web:import-job", pk=job.pk)
    jobs = ImportJob.objects.select_related("uploaded_by").order_by("-created_at")[:20]
    return page(request, "web/curator/imports.html", {
        "form": form, "jobs": [_job_row(j) for j in jobs],
        "open_reviews": ReviewItem.objects.filter(status=ReviewStatus.OPEN).count(),
        "limit_mb": settings.KB_MAX_UPLOAD_BYTES // (1024 * 1024),
    }, nav="curator")


@curator_required
def import_job(request, pk):
    job = get_object_or_404(ImportJob.objects.select_related("uploaded_by"), pk=pk)
    chosen = request.GET.get("outcome", "")
    outcomes = job.outcomes.select_related("study").order_by("index")
    if chosen in Outcome.values:
        outcomes = outcomes.filter(outcome=chosen)
    paginator = Paginator(outcomes, 50)
    report = paginator.get_page(request.GET.get("page"))
    for o in report:
        o.label = str(OUTCOMES.get(o.outcome, o.outcome))
    return page(request, "web/curator/import_job.html", {
        **_job_row(job), "report": report, "chosen": chosen,
        "running": job.status in (JobStatus.QUEUED, JobStatus.RUNNING),
        "api_url": reverse("v1:import-job-detail", args=[job.pk]),
        "open_reviews": job.reviews.filter(status=ReviewStatus.OPEN).count(),
        "policy": str(POLICIES.get(job.policy, job.policy)),
    }, nav="curator")


@curator_required
def reviews(request):
    items = (ReviewItem.objects.filter(status=ReviewStatus.OPEN).select_related("outcome", "candidate", "job")
             .prefetch_related("candidate__authorships").order_by("created_at"))
    job = request.GET.get("job", "")
    if job.isdigit():
        items = items.filter(job_id=int(job))
    rows = []
    for item in items[:50]:
        data = item.data or {}
        fields = data.get("fields", {})
        rows.append({"item": item, "title": fields.get("title", ""), "year": fields.get("year"),
                     "doi": fields.get("doi", ""), "authors": [a.get("name", "") for a in data.get("authors", [])],
                     "key": data.get("key", item.outcome.key), "raw": data.get("raw", item.outcome.raw)})
    return page(request, "web/curator/reviews.html", {"rows": rows, "total": items.count(), "job": job},
                nav="curator")


@curator_required
def resolve(request, pk):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    item = get_object_or_404(ReviewItem, pk=pk)
    decision = request.POST.get("decision")
    if decision not in ("merge", "create"):
        messages.error(request, _("Choose whether the entry is the same work or a different one."))
    else:
        try:
            services.resolve_review(request.user, item, decision)
        except services.ImportError_ as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Merged into the existing study.") if decision == "merge"
                             else _("Created as a new study."))
    return redirect(request.POST.get("next") or reverse("web:import-reviews"))
