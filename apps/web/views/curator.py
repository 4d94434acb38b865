"""Curators' pages: sign in, the summaries work list, writing and publishing summaries.

Every write goes through ``apps.summaries.services`` (the same functions the API and the admin use).
Everything else stays in the Django admin.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _, gettext_lazy

from apps.common.roles import is_curator
from apps.studies.models import Study
from apps.summaries import services
from apps.summaries.models import Summary, SummaryStatus

from .. import features
from ..forms import SummaryForm
from .common import page

ACTIONS = {
    "submit": (services.submit_summary, gettext_lazy("Sent for review.")),
    "approve": (services.approve_summary, gettext_lazy("Published.")),
    "reject": (services.reject_summary, gettext_lazy("Sent back to draft.")),
    "archive": (services.archive_summary, gettext_lazy("Archived: readers no longer see it.")),
    "checked": (services.mark_checked, gettext_lazy("Marked as checked today.")),
}


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return reverse("web:curator") if is_curator(self.request.user) else reverse("web:home")


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("web:home")


def curator_required(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_curator(request.user):
            raise PermissionDenied(_("Only curators may do this."))
        return view(request, *args, **kwargs)

    return wrapped


@curator_required
def dashboard(request):
    base = Summary.objects.prefetch_related("studies").select_related("author")
    status = request.GET.get("status", "")
    listing = base.filter(status=status) if status in SummaryStatus.values else base
    return page(request, "web/curator/dashboard.html", {
        "in_review": base.filter(status=SummaryStatus.IN_REVIEW).order_by("-updated_at")[:50],
        "needs_review": base.filter(needs_review=True).exclude(status=SummaryStatus.ARCHIVED)
                            .order_by("-needs_review_since")[:50],
        "drafts": base.filter(status=SummaryStatus.DRAFT).order_by("-updated_at")[:50],
        "summaries": listing.order_by("-updated_at")[:100], "status": status,
        "statuses": SummaryStatus.choices, "has_imports": features.has_imports(),
        "studies_without": Study.objects.filter(status="published", summaries__isnull=True).order_by("-year")[:10],
    }, nav="curator")


@curator_required
def summary_edit(request, pk=None):
    summary = get_object_or_404(Summary.objects.prefetch_related("studies"), pk=pk) if pk else None
    if summary is None:
        study_ids = request.GET.getlist("study") or request.POST.getlist("studies")
        initial = {"studies": Study.objects.filter(pk__in=[i for i in study_ids if str(i).isdigit()]),
                   "language": request.LANGUAGE_CODE if request.LANGUAGE_CODE in ("nb", "en") else "nb",
                   "audience": "practitioners"}
    else:
        initial = {**summary.content(), "studies": summary.studies.all()}
    form = SummaryForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        note = data.pop("change_note", "")
        try:
            saved = services.save_summary(request.user, data, summary, change_note=note)
        except services.WorkflowError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Saved."))
            return redirect("web:summary-edit", pk=saved.pk)
    studies = list(summary.studies.all()) if summary else list(initial["studies"])
    return page(request, "web/curator/summary_edit.html", {
        "form": form, "summary": summary, "studies": studies,
        "versions": summary.versions.order_by("-number")[:10] if summary else [],
        "can_approve": summary is not None and summary.status == SummaryStatus.IN_REVIEW
                       and summary.author_id != request.user.pk,
    }, nav="curator")


@curator_required
def summary_action(request, pk, action):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if action not in ACTIONS:
        raise PermissionDenied
    summary = get_object_or_404(Summary, pk=pk)
    service, done = ACTIONS[action]
    try:
        service(request.user, summary)
    except services.WorkflowError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("web:summary-edit", pk=pk)
