"""The evidence map: studies per topic x study design (or other axes) as a heat map; each cell opens its search."""

from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy as _

from apps.network.api.serializers import EvidenceMapParamsSerializer
from apps.network.evidence_map import SEARCH_PATH, evidence_map as build_map

from .. import labels
from ..urlstate import UrlState
from .common import page

AXIS_TITLES = {"topic": _("Topic"), "design": _("Study design"), "year": _("Year"), "type": _("Type"),
               "language": _("Language")}
#: Steps of the colour scale (light to dark); text is dark on the first three and white on the rest.
SHADES = 6


def evidence_map(request):
    query = request.GET.copy()
    query.setdefault("rows", "topic")
    query.setdefault("cols", "design")
    params = EvidenceMapParamsSerializer(data=query)
    state = UrlState(request.GET, reverse("web:evidence-map"))
    context = {"state": state, "q": request.GET.get("q", ""), "axes": [(k, str(v)) for k, v in AXIS_TITLES.items()],
               "rows": query["rows"], "cols": query["cols"], "errors": []}
    if not params.is_valid():
        context["errors"] = [f"{k}: {' '.join(map(str, v))}" for k, v in params.errors.items()]
        return page(request, "web/evidence_map.html", context, nav="evidence", status=400)
    data = params.validated_data
    result = build_map(data, request.user, request.GET, rows=data["rows"], cols=data.get("cols"),
                       year_step=data["year_step"])
    language = get_language() or "nb"
    search_path = reverse("web:search")

    def web_url(url):
        return search_path + url[len(SEARCH_PATH):] if url and url.startswith(SEARCH_PATH) else url

    def label(axis, value):
        if axis == "topic":
            return value["label_nb"] if language == "nb" else value["label"]
        mapping = {"design": labels.DESIGNS, "type": labels.STUDY_TYPES, "language": labels.LANGUAGES}.get(axis)
        return labels.label(mapping, value["key"]) if mapping else value["label"]

    rows_axis, cols_axis = result["rows"], result["cols"]
    cells = {(c["row"], c["col"]): c for c in result["cells"]}
    peak = max((c["count"] for c in result["cells"]), default=0)
    columns = [{"key": v["key"], "label": label(cols_axis["axis"], v), "total": v["total"],
                "href": web_url(v["search_url"])} for v in cols_axis["values"]] if cols_axis else []
    table = []
    for rv in rows_axis["values"]:
        row_cells = []
        for cv in (cols_axis["values"] if cols_axis else [None]):
            cell = cells.get((rv["key"], cv["key"] if cv else None), {"count": 0, "search_url": None})
            count = cell["count"]
            shade = 0 if not count else 1 + min(SHADES - 1, int((SHADES - 1) * count / peak)) if peak else 0
            row_cells.append({"count": count, "href": web_url(cell["search_url"]) if count else None, "shade": shade,
                              "col": label(cols_axis["axis"], cv) if cv else ""})
        table.append({"key": rv["key"], "label": label(rows_axis["axis"], rv), "total": rv["total"],
                      "href": web_url(rv["search_url"]), "cells": row_cells})
    context.update({
        "table": table, "columns": columns, "total": result["total"], "truncated": result["truncated"],
        "rows_title": AXIS_TITLES[rows_axis["axis"]], "cols_title": AXIS_TITLES[cols_axis["axis"]] if cols_axis else "",
        "search_url": web_url(result["search_url"]), "shades": range(1, SHADES + 1),
        "filters": state.hidden_fields("q", "rows", "cols"),
    })
    return page(request, "web/evidence_map.html", context, nav="evidence")
