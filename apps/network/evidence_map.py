"""The evidence map: how many studies a search selects, per pair of axis values (e.g. topic x design).

Each cell links to the search that lists its studies, so a practitioner sees where evidence is
thick and where it is missing and can open it. Counts are SQL aggregations over the studies the
query and filters select (``selection.select``), a constant number of queries.

Axis values follow the filters, so every cell's link selects exactly the studies counted in it:
the topic axis shows the top-level topics, the sub-topics of one filtered topic, or the filtered
topics; design, type and language show the filtered values (else all); years are bucketed by
``year_step`` within the filtered range.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from urllib.parse import urlencode

from django.db.models import Case, Count, ExpressionWrapper, F, IntegerField, Max, Min, Value, When

from apps.studies.models import LANGUAGE_CHOICES, StudyDesign, StudyType
from apps.topics.models import Topic

from search.selection import SELECTION_PARAMS, select

AXES = ("topic", "design", "year", "type", "language")
SEARCH_PATH = "/api/v1/search/"
LANGUAGE_LABELS = dict(LANGUAGE_CHOICES)
NONE = Value(None, output_field=IntegerField())


class Axis:
    """One axis: its values (key, labels), the SQL expression placing a study, and a cell's search filter."""

    def __init__(self, name, data, queryset, year_step=1):
        self.name = name
        self.data = data
        self.values = []    # [{"key": str, "label": str, "label_nb": str}]
        self.expression = None
        self.year_step = year_step
        getattr(self, f"_setup_{name}")(queryset)

    # --- axes --------------------------------------------------------------------------------------
    def _setup_topic(self, queryset):
        topics = {t.id: t for t in Topic.objects.all()}
        children = {}
        for t in sorted(topics.values(), key=lambda t: (t.sort_order, t.label_en)):
            children.setdefault(t.parent_id, []).append(t)
        filtered = [t for t in topics.values() if t.slug in (self.data.get("topic") or [])]
        if len(filtered) == 1 and children.get(filtered[0].id):
            shown = children[filtered[0].id]
        elif filtered:
            shown = sorted(filtered, key=lambda t: (t.sort_order, t.label_en))
        else:
            shown = children.get(None, [])
        whens = []
        for topic in shown:
            subtree, stack = [], [topic]
            while stack:
                node = stack.pop()
                subtree.append(node.id)
                stack.extend(children.get(node.id, []))
            whens.append(When(_axis_topic__in=subtree, then=Value(topic.id)))
            self.values.append({"key": topic.slug, "label": topic.label_en, "label_nb": topic.label_nb,
                                "_id": topic.id})
        self.expression = Case(*whens, default=None, output_field=IntegerField()) if whens else NONE

    def _choices(self, column, choices, param):
        chosen = self.data.get(param) or []
        self.values = [{"key": value, "label": str(label), "label_nb": str(label), "_id": value}
                       for value, label in choices if not chosen or value in chosen]
        self.expression = F(column)

    def _setup_design(self, queryset):
        self._choices("design", StudyDesign.choices, "design")

    def _setup_type(self, queryset):
        self._choices("study_type", StudyType.choices, "study_type")

    def _setup_language(self, queryset):
        chosen = self.data.get("language") or []
        present = set(queryset.order_by().values_list("language", flat=True).distinct())
        codes = [c for c, _ in LANGUAGE_CHOICES if c in present and (not chosen or c in chosen)]
        self.values = [{"key": c, "label": LANGUAGE_LABELS[c], "label_nb": LANGUAGE_LABELS[c], "_id": c}
                       for c in codes]
        self.expression = F("language")

    def _setup_year(self, queryset):
        step = self.year_step
        bounds = queryset.order_by().aggregate(first=Min("year"), last=Max("year"))
        first = max(b for b in (bounds["first"], self.data.get("year_from")) if b is not None) \
            if bounds["first"] is not None else None
        last = min(b for b in (bounds["last"], self.data.get("year_to")) if b is not None) \
            if bounds["last"] is not None else None
        self.expression = F("year") if step == 1 else ExpressionWrapper(
            F("year") / Value(step) * Value(step), output_field=IntegerField())
        if first is None or last is None or first > last:
            return
        start = first - first % step
        for bucket in range(start, last + 1, step):
            end = bucket + step - 1
            lo, hi = max(bucket, first), min(end, last)
            self.values.append({"key": str(bucket) if step == 1 else f"{bucket}-{end}",
                                "label": str(bucket) if step == 1 else f"{bucket}–{end}",
                                "label_nb": str(bucket) if step == 1 else f"{bucket}–{end}",
                                "_id": bucket, "_range": (lo, hi)})

    def prepare(self, queryset):
        """Joins the axis needs: one row per (study, topic) for the topic axis."""
        return queryset.annotate(_axis_topic=F("topics")) if self.name == "topic" else queryset

    # --- cells -------------------------------------------------------------------------------------
    def search_params(self, value):
        """The search parameters that restrict a search to this axis value."""
        if self.name == "topic":
            return {"topic": value["key"]}
        if self.name == "design":
            return {"design": value["key"]}
        if self.name == "type":
            return {"study_type": value["key"]}
        if self.name == "language":
            return {"language": value["key"]} if value["key"] else None
        lo, hi = value["_range"]
        return {"year_from": lo, "year_to": hi}


def _passthrough(query_params):
    """The caller's search parameters, as given, to carry into each cell's search link."""
    out = []
    for name in SELECTION_PARAMS:
        for value in query_params.getlist(name) if hasattr(query_params, "getlist") else [query_params.get(name)]:
            if value not in (None, ""):
                out.append((name, value))
    return out


def _search_url(base_params, *overrides):
    if any(o is None for o in overrides):
        return None
    replaced = {k for o in overrides for k in o}
    params = [(k, v) for k, v in base_params if k not in replaced]
    for o in overrides:
        params.extend(o.items())
    return f"{SEARCH_PATH}?{urlencode(params)}"


def _pair_counts(axis, studies):
    """The cells of an axis against itself: studies with both values, so the diagonal holds each value's
    studies and, on the topic axis, the rest how often two topics go together (a study has one design, year,
    type and language: zero off the diagonal). One query, one row per (study, value)."""
    values = defaultdict(set)
    placed = axis.prepare(studies).annotate(_value=axis.expression)
    for pk, value in placed.values_list("id", "_value").distinct().iterator():
        if value is not None:
            values[pk].add(value)
    counts = Counter()
    for chosen in values.values():
        counts.update(itertools.product(chosen, chosen))
    return counts


def evidence_map(data, user, query_params, rows, cols=None, year_step=1) -> dict:
    selection = select(data, user)
    studies = selection.queryset.order_by()
    row_axis = Axis(rows, data, studies, year_step)
    same_axis = cols == rows
    col_axis = row_axis if same_axis else Axis(cols, data, studies, year_step) if cols else None

    if same_axis:
        counts = _pair_counts(row_axis, studies)
    else:
        placed = studies
        for axis in (row_axis, col_axis):
            placed = axis.prepare(placed) if axis is not None else placed
        annotated = placed.annotate(row=row_axis.expression, col=col_axis.expression if col_axis else NONE)
        counts = {(r["row"], r["col"]): r["n"]
                  for r in annotated.values("row", "col").annotate(n=Count("id", distinct=True)).order_by()}

    def totals(axis):  # studies counted once per value, whatever the other axis
        rows_ = axis.prepare(studies).annotate(v=axis.expression).values("v").annotate(
            n=Count("id", distinct=True)).order_by()
        return {r["v"]: r["n"] for r in rows_}

    row_totals = totals(row_axis)
    col_totals = row_totals if same_axis else totals(col_axis) if col_axis else {}

    base = _passthrough(query_params)
    cells = []
    for rv in row_axis.values:
        for cv in (col_axis.values if col_axis else [None]):
            overrides = [row_axis.search_params(rv)] + ([col_axis.search_params(cv)] if cv else [])
            if same_axis:  # "both values" is no search filter (a filter's values mean "any of")
                overrides = overrides[:1] if cv is rv else [None]
            cells.append({"row": rv["key"], "col": cv["key"] if cv else None,
                          "count": counts.get((rv["_id"], cv["_id"] if cv else None), 0),
                          "search_url": _search_url(base, *overrides)})

    def axis_out(axis, totals_):
        if axis is None:
            return None
        return {"axis": axis.name, "values": [
            {"key": v["key"], "label": v["label"], "label_nb": v["label_nb"], "total": totals_.get(v["_id"], 0),
             "search_url": _search_url(base, axis.search_params(v))} for v in axis.values]}

    return {
        "rows": axis_out(row_axis, row_totals),
        "cols": axis_out(col_axis, col_totals),
        "cells": cells,
        "total": studies.count(),
        "truncated": selection.truncated,
        "search_url": _search_url(base),
    }
