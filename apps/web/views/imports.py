"""Curators' BibTeX imports: upload a file, follow the job, read its report, retry a failed entry with
corrected text, undo a job, resolve the review queue.

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
from django.utils.translation import get_language, gettext as _, gettext_lazy

from apps.imports import services
from apps.imports.models import ImportJob, JobStatus, Outcome, Policy, ReviewItem, ReviewStatus
from apps.imports.selection import NotSelectable, written_outcomes, written_study_ids
from apps.studies import publication
from apps.studies.models import PublicationJob, Status, Study

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
PUBLICATION_ACTIONS = {"publish": gettext_lazy("Publish the studies"),
                       "unpublish": gettext_lazy("Unpublish the studies")}
#: Why undo would lose later work (the reasons ``services.edited_since_import`` gives), for the page.
EDITED_REASONS = {"changed": gettext_lazy("changed since the import"), "topics": gettext_lazy("has topics"),
                  "summaries": gettext_lazy("has summaries")}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """One or more files (an ``<input type="file" multiple>``) -> a list of uploaded files."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        one = super().clean
        if isinstance(data, (list, tuple)) and data:
            return [one(d, initial) for d in data]
        return [one(data, initial)]


FORMATS = {"": gettext_lazy("Find out from the files"), "bibtex": "BibTeX", "ris": "RIS",
           "medline": gettext_lazy("MEDLINE (PubMed .nbib)")}


RECORD_LABELS = {"ris": gettext_lazy("The record in RIS"), "medline": gettext_lazy("The record in MEDLINE")}


class UploadForm(forms.Form):
    file = MultipleFileField(label=gettext_lazy("BibTeX, RIS or MEDLINE files"))
    format = forms.ChoiceField(label=gettext_lazy("Format"), required=False,
                               choices=lambda: [(k, str(v)) for k, v in FORMATS.items()])
    policy = forms.ChoiceField(label=gettext_lazy("When an entry is already in kb"), widget=forms.RadioSelect,
                               choices=lambda: [(k, str(v)) for k, v in POLICIES.items()], initial=Policy.FILL)
    dry_run = forms.BooleanField(label=gettext_lazy("Trial run: write the report, change nothing"), required=False)

    def clean_file(self):
        files = self.cleaned_data["file"]
        if sum(f.size for f in files) > settings.KB_MAX_UPLOAD_BYTES:
            raise ValidationError(_("The file is too large (at most %(mb)s MB).") if len(files) == 1 else
                                  _("The files are too large together (at most %(mb)s MB)."),
                                  params={"mb": settings.KB_MAX_UPLOAD_BYTES // (1024 * 1024)})
        return files


class RetryForm(forms.Form):
    text = forms.CharField(label=gettext_lazy("The entry in BibTeX"), strip=False,
                           help_text=gettext_lazy("Correct the entry and import it again with the job's options. "
                                                  "Exactly one entry, starting with @."),
                           widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false",
                                                        "aria-describedby": "id_text-hint", "class": "code"}))

    def full_clean(self):
        super().full_clean()
        if "text" in self.errors:
            self.fields["text"].widget.attrs.update({"aria-invalid": "true",
                                                     "aria-describedby": "id_text-hint id_text-error"})


def _can_undo(job):
    """Whether the page offers undo (``services.undo_job`` decides; this only spares a useless button)."""
    return not job.dry_run and job.status in (JobStatus.DONE, JobStatus.FAILED)


def _can_retry(job, outcome):
    return (outcome.outcome == Outcome.FAILED and not job.dry_run
            and job.status in (JobStatus.DONE, JobStatus.FAILED))


def _detail(o, job) -> str:
    """What happened to one entry, in the page's language. The stored message is English and says
    more (the matching rule's evidence); it is shown as it is in English and for failures, whose
    reasons come from the reader."""
    if (get_language() or "").startswith("en") or o.outcome == Outcome.FAILED:
        return o.message
    values = {"id": o.study_id, "n": (o.duplicate_of or 0) + 1}
    if job.dry_run and o.outcome == Outcome.CREATED:
        return _("Would create a new study (trial run).")
    if job.dry_run and o.outcome in (Outcome.MERGED, Outcome.SKIPPED):
        return _("Matches study %(id)s (trial run: nothing written).") % values
    if o.outcome == Outcome.CREATED:
        return _("Created study %(id)s.") % values
    if o.outcome == Outcome.MERGED:
        return _("Merged into study %(id)s.") % values
    if o.outcome == Outcome.SKIPPED:
        return _("Matches study %(id)s; left unchanged (policy: leave unchanged).") % values
    if o.outcome == Outcome.DUPLICATE:
        return _("Skipped: a duplicate of entry %(n)s of this file.") % values
    if o.outcome == Outcome.REVIEW:
        return _("Uncertain match with study %(id)s: waiting for a curator.") % values if o.study_id \
            else _("Uncertain match with another entry of this file: waiting for a curator.")
    return o.message


def _edited_rows(edited):
    """The studies that block an undo, with the reasons in the page's language."""
    return [{"id": e["id"], "title": e["title"],
             "why": ", ".join(str(EDITED_REASONS[code]) for code in e["reasons"])}
            for e in edited]


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
            job = services.create_job(request.user, data["file"], file_name=[f.name for f in data["file"]],
                                      policy=data["policy"], dry_run=data["dry_run"], format=data["format"] or None)
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
    outcomes = job.outcomes.select_related("study", "study__venue").order_by("index")
    if chosen in Outcome.values:
        outcomes = outcomes.filter(outcome=chosen)
    elif chosen == "incomplete":  # the incomplete drafts (no title) the import created or merged into
        outcomes = job.incomplete_outcomes().select_related("study", "study__venue").order_by("index")
    paginator = Paginator(outcomes, 50)
    report = paginator.get_page(request.GET.get("page"))
    names = [f.file_name for f in job.files.order_by("position")]
    for o in report:
        o.label = str(OUTCOMES.get(o.outcome, o.outcome))
        o.detail = _detail(o, job)
        o.file_name = names[o.file_position] if len(names) > 1 and o.file_position < len(names) else ""
    return page(request, "web/curator/import_job.html", {
        **_job_row(job), "report": report, "chosen": chosen,
        "running": job.status in (JobStatus.QUEUED, JobStatus.RUNNING),
        "api_url": reverse("v1:import-job-detail", args=[job.pk]),
        "open_reviews": job.reviews.filter(status=ReviewStatus.OPEN).count(),
        "incomplete": job.incomplete_outcomes().count(),
        "policy": str(POLICIES.get(job.policy, job.policy)),
        "can_undo": _can_undo(job),
        "can_retry": not job.dry_run and job.status in (JobStatus.DONE, JobStatus.FAILED),
        **_publishing(job),
    }, nav="curator")


def _publishing(job) -> dict:
    """The page's publishing panel: how many of the studies the import wrote are drafts or published, and
    the last bulk publish/unpublish of them (with its progress while it runs)."""
    try:
        written = Study.objects.filter(pk__in=written_outcomes(job).values("study_id"))
    except NotSelectable:
        return {"can_publish": False}
    last = PublicationJob.objects.filter(selection__import_job=job.pk).order_by("-created_at", "-id").first()
    return {"can_publish": True, "drafts": written.filter(status=Status.DRAFT).count(),
            "published": written.filter(status=Status.PUBLISHED).count(), "publication": last,
            "publication_status": str(STATUSES.get(last.status, last.status)) if last else "",
            "publication_action": str(PUBLICATION_ACTIONS[last.action]) if last else "",
            "publication_running": bool(last and last.status in (PublicationJob.State.QUEUED,
                                                                  PublicationJob.State.RUNNING)),
            "publication_url": reverse("v1:publication-job-detail", args=[last.pk]) if last else ""}


@curator_required
def import_publish(request, pk):
    """Publish (or unpublish) the studies the import wrote, as one bulk job (``apps.studies.publication``);
    a large one runs in the background and the import's page follows its progress."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    job = get_object_or_404(ImportJob, pk=pk)
    action = request.POST.get("action")
    if action not in PublicationJob.Action.values:
        messages.error(request, _("Choose to publish or to unpublish."))
        return redirect("web:import-job", pk=job.pk)
    try:
        ids = written_study_ids(job)
    except NotSelectable as exc:
        messages.error(request, str(exc))
        return redirect("web:import-job", pk=job.pk)
    done = publication.start(request.user, action, ids, {"import_job": job.pk}, via="web")
    done.refresh_from_db()
    if done.status == PublicationJob.State.DONE:
        messages.success(request, (_("Published %(n)s studies.") if action == PublicationJob.Action.PUBLISH
                                   else _("Unpublished %(n)s studies.")) % {"n": done.changed})
    elif done.status == PublicationJob.State.FAILED:
        messages.error(request, done.error)
    return redirect(reverse("web:import-job", args=[job.pk]) + "#publishing-h")


@curator_required
def import_undo(request, pk):
    """Undo a job: a confirmation page (what will be deleted and restored), then ``services.undo_job``.

    When studies the job wrote were edited since, the service refuses and nothing changes; the page
    lists those studies (answering 409), and already shows them before the curator confirms.
    """
    job = get_object_or_404(ImportJob.objects.select_related("uploaded_by"), pk=pk)
    status = 200
    if request.method == "POST" and _can_undo(job):
        try:
            services.undo_job(request.user, job)
        except services.ImportRefused as exc:
            if "edited_studies" not in exc.extra:
                messages.error(request, exc.message)
                return redirect("web:import-job", pk=job.pk)
            edited, status = exc.extra["edited_studies"], exc.status
            messages.error(request, _("Nothing was undone: studies this import wrote were changed since."))
        else:
            messages.success(request, _("The import was undone: the studies it created are deleted and the "
                                        "fields it changed have their earlier values again."))
            return redirect("web:import-job", pk=job.pk)
    elif request.method == "POST":
        messages.error(request, _("This import cannot be undone."))
        return redirect("web:import-job", pk=job.pk)
    else:
        edited = services.edited_since_import(job) if _can_undo(job) else []
    written = job.outcomes.filter(study__isnull=False)
    return page(request, "web/curator/import_undo.html", {
        **_job_row(job), "can_undo": _can_undo(job), "edited": _edited_rows(edited),
        "created": written.filter(outcome=Outcome.CREATED).count(),
        "merged": written.filter(outcome=Outcome.MERGED).exclude(changed_fields=[]).count(),
        "open_reviews": job.reviews.filter(status=ReviewStatus.OPEN).count(),
    }, nav="curator", status=status)


@curator_required
def import_entry(request, pk, index):
    """One entry of a job's report; a failed one can be corrected and imported again (``services.retry_outcome``)."""
    job = get_object_or_404(ImportJob, pk=pk)
    outcome = get_object_or_404(job.outcomes.select_related("study"), index=index)
    form = RetryForm(request.POST or None, initial={"text": outcome.raw})
    if job.format != "bibtex":  # a RIS or MEDLINE job: the record in that format
        form.fields["text"].label = RECORD_LABELS[job.format]
        form.fields["text"].help_text = _("Correct the record and import it again with the job's options. "
                                          "Exactly one record.")
    status = 200
    if request.method == "POST":
        if not _can_retry(job, outcome):
            messages.error(request, _("Only failed entries of a finished import can be retried."))
            return redirect("web:import-entry", pk=job.pk, index=outcome.index)
        if form.is_valid():
            try:
                outcome = services.retry_outcome(request.user, outcome, form.cleaned_data["text"])
            except ValidationError:
                form.add_error("text", _("Write exactly one complete BibTeX entry, starting with @.")
                               if job.format == "bibtex" else _("Write exactly one complete record."))
                status = 400
            except services.ImportRefused as exc:
                messages.error(request, exc.message)
                status = exc.status
            else:
                label = str(OUTCOMES.get(outcome.outcome, outcome.outcome))
                if outcome.outcome == Outcome.FAILED:
                    messages.error(request, _("The corrected entry failed again: see why below."))
                else:
                    messages.success(request, _("Imported again. Outcome: %(outcome)s.") % {"outcome": label})
                return redirect("web:import-entry", pk=job.pk, index=outcome.index)
        else:
            status = 400
    outcome.label = str(OUTCOMES.get(outcome.outcome, outcome.outcome))
    return page(request, "web/curator/import_entry.html", {
        "job": job, "outcome": outcome, "form": form, "can_retry": _can_retry(job, outcome),
        "failed_left": job.outcomes.filter(outcome=Outcome.FAILED).count(),
    }, nav="curator", status=status)


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
        except services.ImportRefused as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Merged into the existing study.") if decision == "merge"
                             else _("Created as a new study."))
    return redirect(request.POST.get("next") or reverse("web:import-reviews"))
