"""The search page: the search layer called in-process with the search API's own parameters."""

from __future__ import annotations

from .common import page as render_page
from django.urls import reverse
from django.utils.translation import get_language, gettext as _

from apps.common.roles import is_curator
from apps.researchers.models import Institution, Researcher
from search.backends.base import MAX_WINDOW, SearchUnavailable
from search.params import SearchParamsSerializer, build_request
from search.results import hydrate, label_facets, search as search_results

from .. import features, labels
from ..topics import all_topics, children_map, topic_label
from ..urlstate import FACET_PARAMS, UrlState

PAGE_WINDOW = 2  # page links shown on each side of the current page


def search(request):
    state = UrlState(request.GET, reverse("web:search"))
    params = SearchParamsSerializer(data=request.GET)
    context = {"state": state, "q": request.GET.get("q", ""), "kind": request.GET.get("type") or "studies",
               "sort": request.GET.get("sort") or "relevance", "errors": [], "results": [], "searched": False,
               "sorts": list(labels.SORTS.items()), "export_formats": [], "feed_url": None}
    context["kinds"] = [(k, label, state.with_(type=None if k == "studies" else k))
                        for k, label in (("studies", _("Studies")), ("researchers", _("Researchers")),
                                         ("summaries", _("Plain-language summaries")))]
    if not params.is_valid():
        context["errors"] = _errors(params.errors)
        return render_page(request, "web/search.html", context, nav="search", status=400)

    data = params.validated_data
    search_request = build_request(data, request.user)
    try:
        result = search_results(search_request)
    except SearchUnavailable:
        context["errors"] = [_("Search is not available right now. Please try again in a minute.")]
        return render_page(request, "web/search.html", context, nav="search", status=503)

    objects = hydrate(search_request.kind, [] if search_request.past_window else result.hits, request.user)
    kind = search_request.kind
    context.update({
        "kind": kind, "sort": data["sort"], "searched": True, "results": objects, "total": result.total,
        "did_you_mean": result.did_you_mean,
        "did_you_mean_url": state.with_(q=result.did_you_mean) if result.did_you_mean else None,
        "warnings": search_request.query.warnings,
        # "also searched": vocabulary expansions, each with the link that drops it
        "expansions": [{"text": e.text, "language": e.language, "source": " ".join(e.source),
                        "remove_url": state.toggle("unexpand", e.text)} for e in search_request.query.expansions],
        "ranking": result.ranking,
        "page": data["page"], "page_size": search_request.page_size,
        "first_shown": (data["page"] - 1) * search_request.page_size + 1 if objects else 0,
        "last_shown": (data["page"] - 1) * search_request.page_size + len(objects),
        "pages": _pagination(state, data["page"], search_request.page_size, result.total),
        "include_drafts": search_request.filters.include_drafts,
        "can_include_drafts": is_curator(request.user),
    })
    if kind == "studies":
        labelled = label_facets(result.facets)
        context["facets"] = _facets(state, labelled, data)
        context["summary_filter"] = {"selected": data.get("has_summary") is True,
                                     "href": state.with_(has_summary=None if data.get("has_summary") else "true")}
        context["active"] = _active_filters(state, data, labelled)
        selection = state.selection_query()
        context["selection_query"] = selection
        if features.has_export():
            context["export_formats"] = [(label, f"/api/v1/studies/export/?{selection}&format={code}".replace("?&", "?"))
                                         for code, label in features.EXPORT_FORMATS]
        if features.has_search_feed():
            context["feed_url"] = "/api/v1/search/feed.atom" + (f"?{selection}" if selection else "")
        context["evidence_map_url"] = reverse("web:evidence-map") + (f"?{selection}" if selection else "")
    return render_page(request, "web/search.html", context, nav="search")


def _errors(errors):
    out = []
    for field, messages in errors.items():
        for message in messages if isinstance(messages, list) else [messages]:
            out.append(str(message) if field == "non_field_errors" else f"{field}: {message}")
    return out


def _pagination(state, page, size, total):
    reachable = min(total, MAX_WINDOW)
    last = max(1, -(-reachable // size))
    if last == 1:
        return None
    numbers = sorted({1, last, *range(max(1, page - PAGE_WINDOW), min(last, page + PAGE_WINDOW) + 1)})
    items, previous = [], 0
    for n in numbers:
        if n - previous > 1:
            items.append({"gap": True})
        items.append({"number": n, "href": state.with_(page=n if n > 1 else None), "current": n == page})
        previous = n
    return {
        "items": items, "last": last,
        "previous": state.with_(page=page - 1 if page > 2 else None) if page > 1 else None,
        "next": state.with_(page=page + 1) if page < last else None,
    }


def _facets(state, labelled, data):
    """The facets in display order, each value with its count, its link and whether it is chosen."""
    language = get_language() or "nb"
    out = []
    years = labelled.get("year") or []
    if years or data.get("year_from") is not None or data.get("year_to") is not None:
        peak = max((v["count"] for v in years), default=0) or 1
        counts = {v["value"]: v["count"] for v in years}
        span = range(years[0]["value"], years[-1]["value"] + 1) if years and \
            years[-1]["value"] - years[0]["value"] <= 80 else [v["value"] for v in years]
        out.append({"name": "year", "title": labels.FACET_TITLES["year"], "years": [
            {"year": y, "count": counts.get(y, 0),
             # a bar's height in steps of 5 % (CSS classes h0..h100: no inline style under the CSP)
             "height": max(5, 5 * round(20 * counts[y] / peak)) if counts.get(y) else 0,
             "href": state.with_(year_from=y, year_to=y)} for y in span],
            "min": years[0]["value"] if years else None, "max": years[-1]["value"] if years else None,
            "year_from": data.get("year_from"), "year_to": data.get("year_to"),
            "clear": state.without("year_from", "year_to")
            if data.get("year_from") is not None or data.get("year_to") is not None else None,
            "hidden": state.hidden_fields("year_from", "year_to")})
    display = {"type": labels.STUDY_TYPES, "design": labels.DESIGNS, "language": labels.LANGUAGES}
    for name in ("type", "design", "topic", "language", "researcher", "institution"):
        param = FACET_PARAMS[name]
        chosen = set(state.values(param))
        values = []
        for v in labelled.get(name) or []:
            key = str(v["value"])
            if name in display:
                text = labels.label(display[name], v["value"])
            elif name == "topic":
                text = v["label_nb"] if language == "nb" else v["label"]
            else:
                text = v["label"]
            values.append({"key": key, "label": text, "count": v["count"], "selected": key in chosen,
                           "href": state.toggle(param, key)})
        if name == "topic":
            values = _topic_tree(values)
        if values:
            out.append({"name": name, "title": labels.FACET_TITLES[name], "values": values,
                        "clear": state.without(param) if chosen else None,
                        "collapsed": len(values) > 8})
    return out


def _topic_tree(values):
    """Facet values of the topic facet placed in the vocabulary's tree (parents shown for context)."""
    by_slug = {v["key"]: v for v in values}
    topics = all_topics()
    children = children_map(topics)
    out = []

    def walk(parent_id, depth):
        shown_any = False
        for t in children.get(parent_id, []):
            value = by_slug.get(t.slug)
            mark = len(out)
            out.append(dict(value, depth=depth) if value else
                       {"key": t.slug, "label": topic_label(t), "count": None, "selected": False, "href": None,
                        "depth": depth})
            below = walk(t.id, depth + 1)
            if value is None and not below:
                del out[mark:]
                continue
            shown_any = True
        return shown_any

    walk(None, 0)
    return out


def _active_filters(state, data, labelled):
    """Chips for every filter in force, each with the link that removes it."""
    language = get_language() or "nb"
    chips = []
    if data.get("year_from") is not None or data.get("year_to") is not None:
        lo, hi = data.get("year_from"), data.get("year_to")
        text = f"{lo}" if lo == hi else f"{lo or '…'}–{hi or '…'}"
        chips.append({"facet": labels.FACET_TITLES["year"], "label": text, "href": state.without("year_from", "year_to")})
    names = {}
    for name in ("topic", "researcher", "institution"):
        names[name] = {str(v["value"]): (v.get("label_nb") if name == "topic" and language == "nb" else v["label"])
                       for v in labelled.get(name) or []}
    missing_people = [i for i in state.values("researcher") if i not in names["researcher"] and i.isdigit()]
    for r in Researcher.objects.filter(id__in=missing_people):
        names["researcher"][str(r.id)] = r.full_name
    missing_places = [i for i in state.values("institution") if i not in names["institution"] and i.isdigit()]
    for i in Institution.objects.filter(id__in=missing_places):
        names["institution"][str(i.id)] = i.name_nb
    missing_topics = [s for s in state.values("topic") if s not in names["topic"]]
    if missing_topics:
        from apps.topics.models import Topic

        for t in Topic.objects.filter(slug__in=missing_topics):
            names["topic"][t.slug] = topic_label(t)
    display = {"type": labels.STUDY_TYPES, "design": labels.DESIGNS, "language": labels.LANGUAGES}
    for facet, param in FACET_PARAMS.items():
        for value in state.values(param):
            text = labels.label(display[facet], value) if facet in display else names[facet].get(value, value)
            chips.append({"facet": labels.FACET_TITLES[facet], "label": text, "href": state.toggle(param, value)})
    if data.get("has_summary") is not None:
        chips.append({"facet": _("Plain-language summary"), "label": _("yes") if data["has_summary"] else _("no"),
                      "href": state.without("has_summary")})
    return chips
