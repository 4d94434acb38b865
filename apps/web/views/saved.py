"""A signed-in user's saved searches: save the search on the search page, list them with the number
of studies new since the last visit, run one (which counts as a visit), follow its Atom feed, delete.

Every write goes through ``apps.alerts.services`` (the functions ``/api/v1/saved-searches/`` uses);
each user sees only their own (another user's answers 404).
"""

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _, gettext_lazy
from django.views.decorators.http import require_http_methods
from rest_framework import serializers

from apps.alerts import services
from apps.alerts.models import SavedSearch
from apps.researchers.models import Institution, Researcher
from apps.topics.models import Topic
from search.backends.base import SearchUnavailable

from .. import features, labels
from ..topics import topic_label
from .common import page


class SaveSearchForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    query = forms.CharField(required=False, max_length=4000, widget=forms.HiddenInput)


def search_url(saved):
    return reverse("web:search") + (f"?{urlencode(saved.params)}" if saved.params else "")


def describe(params):
    """The saved search's query and filters as (what, value) pairs in the interface language."""
    display = {"study_type": labels.STUDY_TYPES, "design": labels.DESIGNS, "language": labels.LANGUAGES}
    facet_of = {"study_type": "type", "design": "design", "language": "language", "topic": "topic",
                "researcher": "researcher", "institution": "institution"}
    out = []
    if params.get("q"):
        out.append((_("Search"), _("“%(q)s”") % {"q": params["q"]}))
    lo, hi = params.get("year_from"), params.get("year_to")
    if lo or hi:
        out.append((labels.FACET_TITLES["year"], lo if lo == hi else f"{lo or '…'}–{hi or '…'}"))
    for name, facet in facet_of.items():
        values = [v.strip() for v in params.get(name, "").split(",") if v.strip()]
        if not values:
            continue
        if name in display:
            texts = [labels.label(display[name], v) for v in values]
        elif name == "topic":
            names = {t.slug: topic_label(t) for t in Topic.objects.filter(slug__in=values)}
            texts = [names.get(v, v) for v in values]
        else:
            model = Researcher if name == "researcher" else Institution
            found = {str(o.pk): (o.full_name if name == "researcher" else o.name_nb)
                     for o in model.objects.filter(pk__in=[v for v in values if v.isdigit()])}
            texts = [found.get(v, v) for v in values]
        out.append((labels.FACET_TITLES[facet], ", ".join(texts)))
    if params.get("doi"):
        out.append(("DOI", params["doi"]))
    if params.get("has_summary"):
        out.append((_("Plain-language summary"), _("yes") if params["has_summary"] == "true" else _("no")))
    return out


@login_required
@require_http_methods(["GET", "POST"])
def saved_searches(request):
    if request.method == "POST":
        form = SaveSearchForm(request.POST)
        back = reverse("web:search") + ("?" + request.POST.get("query", "") if request.POST.get("query") else "")
        if not form.is_valid():
            messages.error(request, _("Give the search a name (at most 200 characters) to save it."))
            return redirect(back)
        try:
            params = services.clean_params(form.cleaned_data["query"])
        except serializers.ValidationError:
            messages.error(request, _("This search cannot be saved: a filter in it is not valid."))
            return redirect(back)
        saved = services.save_search(request.user, form.cleaned_data["name"].strip(), params)
        messages.success(request, _("Saved “%(name)s”. New studies that match it are counted here.")
                         % {"name": saved.name})
        return redirect("web:saved-searches")
    rows = []
    for saved in SavedSearch.objects.filter(user=request.user).order_by("-created_at", "-id"):
        try:
            new = services.new_since_last_visit(saved, request.user)
        except SearchUnavailable:
            new = None
        rows.append({"saved": saved, "new": new, "describe": describe(saved.params),
                     "run_url": reverse("web:saved-search-run", args=[saved.pk]),
                     "feed_url": request.build_absolute_uri(
                         reverse("v1:saved-search-feed", args=[saved.pk]) + f"?key={saved.feed_key}")
                     if features.has_saved_search_feed() else None})
    return page(request, "web/saved_searches.html", {"rows": rows}, nav="saved")


@login_required
def saved_search_run(request, pk):
    """Open the saved search on the search page; the visit resets its "new since last visit" count."""
    saved = get_object_or_404(SavedSearch, pk=pk, user=request.user)
    services.mark_seen(request.user, saved)
    return redirect(search_url(saved))


@login_required
@require_http_methods(["GET", "POST"])
def saved_search_delete(request, pk):
    """Delete a saved search after confirming (its feed stops answering)."""
    saved = get_object_or_404(SavedSearch, pk=pk, user=request.user)
    if request.method == "POST":
        name = saved.name
        services.delete_search(request.user, saved)
        messages.success(request, _("Deleted “%(name)s”.") % {"name": name})
        return redirect("web:saved-searches")
    return page(request, "web/saved_search_delete.html", {"saved": saved, "describe": describe(saved.params)},
                nav="saved")
