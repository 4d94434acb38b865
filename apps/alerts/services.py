"""Saved searches: storing a search's parameters, counting what is new, and listing the newest matches."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F, Prefetch
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.utils import timezone
from rest_framework import serializers

from search.selection import SELECTION_PARAMS, StudySelectionParams, select
from apps.studies.models import Authorship
from apps.summaries.models import Summary

from apps.common.exceptions import unprocessable

from .models import SavedSearch

FEED_SIZE = 50


def clean_params(raw) -> dict:
    """The search parameters of ``raw`` (a dict or a query string's QueryDict) that the search API reads,
    as strings; raises a 422's ``ValidationError`` naming each invalid one (the search API's rules, which the
    saved search's schema does not repeat)."""
    try:
        return _clean_params(raw)
    except serializers.ValidationError as exc:
        raise unprocessable(exc.detail)


def _clean_params(raw) -> dict:
    if isinstance(raw, str):
        raw = QueryDict(raw.lstrip("?"))
    params = {}
    for name in SELECTION_PARAMS:
        if isinstance(raw, QueryDict):
            values = [v for v in raw.getlist(name) if v != ""]
            value = ",".join(values) if values else None
        else:
            value = raw.get(name)
            if isinstance(value, (list, tuple)):
                value = ",".join(str(v) for v in value)
        if value is not None and value != "":
            params[name] = value if isinstance(value, str) else str(value).lower() \
                if isinstance(value, bool) else str(value)
    unknown = sorted(set(raw.keys()) - set(SELECTION_PARAMS) - {"type", "sort", "page", "page_size", "cursor",
                                                                  "facets", "highlight", "format"})
    if unknown:
        raise serializers.ValidationError({"params": [f"Not a search parameter: {', '.join(unknown)}."]})
    validate(params)
    return params


def validate(params):
    serializer = StudySelectionParams(data=params)
    if not serializer.is_valid():
        raise serializers.ValidationError({"params": serializer.errors})
    return serializer.validated_data


@transaction.atomic
def save_search(user, name, params, saved=None):
    saved = saved or SavedSearch(user=user)
    if name is not None:
        saved.name = name
    if params is not None:
        saved.params = params
    saved.save()
    return saved


@transaction.atomic
def mark_seen(user, saved, when=None):
    saved.last_seen_at = when or timezone.now()
    saved.save(update_fields=["last_seen_at", "updated_at"])
    return saved


@transaction.atomic
def delete_search(user, saved):
    saved.delete()


def matching(params, user, include_drafts=None):
    return select(validate(params), user, include_drafts=include_drafts)


def _arrived():
    """When a study became visible in kb: its publication there (or its creation, for rows loaded as published)."""
    return Coalesce(F("published_at"), F("created_at"))


def new_since_last_visit(saved, user) -> int:
    """Matching studies published in kb after the user's last visit to this saved search."""
    return (matching(saved.params, user, include_drafts=False).queryset
            .annotate(arrived=_arrived()).filter(arrived__gt=saved.last_seen_at).count())


def newest_studies(data, user, limit=FEED_SIZE):
    """The newest published studies the search selects (newest in kb first), ready for a feed."""
    selection = select(data, user, include_drafts=False)
    return list(selection.queryset
                .select_related("venue")
                .prefetch_related(Prefetch("authorships", queryset=Authorship.objects.order_by("position")),
                                  "topics",
                                  Prefetch("summaries", queryset=Summary.objects.published().order_by("-published_at"),
                                           to_attr="published_summaries"))
                .annotate(arrived=_arrived()).order_by("-arrived", "-id")[:limit])
