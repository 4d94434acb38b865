"""``StudyListSerializer``'s representation of many studies at once, read as plain rows.

A page of search hits or of the study list shows 20 studies with their venue, authors, topics and
summaries. Through the ORM and DRF that is four queries with their model instances (some 100 authorships
on a page) and a nested serializer per study, field by field: ~15 ms of a search whose Elasticsearch
part takes 8-15 ms (docs/benchmarks.md, "Growth"). Here the page is one query, each study a row with its
authors, topics and visible summaries aggregated into JSON arrays beside it (PostgreSQL's ``JSONB_AGG``,
SQLite's ``JSON_GROUP_ARRAY``), compiled once per page size (apps/common/prepared.py), and one dict per
study is built from the rows.

``StudyListSerializer`` stays the definition: the OpenAPI schema is generated from it, writes go through
it, and tests/studies/test_study_rows.py checks that these dicts equal its output for studies of every shape
(venue or none, linked and unlinked authors, topics, summaries published and draft, for readers and
curators, untitled drafts). A field added to the serializer and not here fails that test.
"""

from __future__ import annotations

import orjson
from django.conf import settings
from django.contrib.postgres.aggregates import JSONBAgg
from django.db import connection
from django.db.models import Aggregate, F, JSONField, OuterRef, Subquery
from django.db.models.functions import JSONArray
from django.utils import timezone
from rest_framework import ISO_8601
from rest_framework.fields import DateTimeField
from rest_framework.settings import api_settings

from apps.common import prepared
from apps.common.roles import is_curator
from apps.summaries.models import Summary, SummaryStatus

from ..models import GAPS, Authorship, Study

#: Study columns in the representation, by output name (the output's order is the serializer's).
_COLUMNS = ("id", "title", "subtitle", "abstract", "language", "year", "month", "day", "study_type", "design",
            "venue_id", "volume", "issue", "pages", "publisher", "edition", "chapter", "doi", "pmid", "pmcid",
            "isbn", "url", "keywords", "status", "published_at", "retracted", "provenance", "source_key",
            "created_at", "updated_at", "venue__name", "venue__kind", "venue__issn")
#: Aggregated per study: an author's columns (in order of position), a topic's (by its order, then label).
_AUTHOR_COLUMNS = ("position", "name", "family_name", "given_name", "researcher_id", "corresponding")
_TOPIC_COLUMNS = ("topic__sort_order", "topic__label_en", "topic__slug")
#: A visible summary's columns, newest first (the ``Summary`` model's ordering).
_SUMMARY_COLUMNS = ("summary__published_at", "summary__created_at", "summary_id", "summary__audience",
                    "summary__language", "summary__title", "summary__status")
_SUMMARY_ORDER = ("-summary__published_at", "-summary__created_at")
_moment = DateTimeField()  # DRF's own rendering of a timestamp (the current time zone, ISO 8601)


def _drf_when(value):
    return None if value is None else _moment.to_representation(value)


def _timestamps():
    """DRF's rendering of a timestamp, the time zone looked up once for a page (60 timestamps: DRF looks it
    up for each): an aware timestamp in the current time zone, ISO 8601, UTC written ``Z``."""
    if not settings.USE_TZ or (api_settings.DATETIME_FORMAT or "").lower() != ISO_8601:
        return _drf_when
    zone = timezone.get_current_timezone()

    def when(value):
        if value is None or value.tzinfo is None:
            return _drf_when(value)
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return when


class _Arrays(JSONField):
    """The aggregated JSON arrays, read with orjson (three per study of a page: the standard library's
    decoder, which Django's ``JSONField`` uses, took three times as long)."""

    def from_db_value(self, value, expression, connection):
        return None if value is None else orjson.loads(value)


class _GroupArray(Aggregate):
    """SQLite's JSON array of the aggregated values, in no particular order."""

    function = "JSON_GROUP_ARRAY"
    output_field = _Arrays()


def _each_study(queryset, columns, order_by):
    """A subquery: per study (``OuterRef("pk")``), the JSON array of ``columns`` of its ``queryset`` rows, in
    the order of ``order_by`` on PostgreSQL (its collation, as the serializer's queries order); SQLite's arrays
    are sorted where read (on ``columns``, which lead with ``order_by``'s: SQLite compares text by code point,
    as Python does)."""
    if connection.vendor == "postgresql":
        listed = JSONBAgg(JSONArray(*columns), order_by=order_by, output_field=_Arrays())
    else:
        listed = _GroupArray(JSONArray(*columns))
    return Subquery(queryset.filter(study_id=OuterRef("pk")).order_by().values("study_id")
                    .annotate(listed=listed).values("listed"))


def _studies(ids, curator):
    """The page's studies as rows: their columns, venue, and the JSON arrays of their authors, topics and
    the summaries a curator, or anyone else, may see."""
    summaries = Summary.studies.through.objects.filter(summary__in=Summary.objects.visible(curator).values("id"))
    return (Study.objects.visible(curator).filter(prepared.InIds(F("id"), ids)).order_by()
            .annotate(_authors=_each_study(Authorship.objects, _AUTHOR_COLUMNS, _AUTHOR_COLUMNS[:1]),
                      _topics=_each_study(Study.topics.through.objects, _TOPIC_COLUMNS, _TOPIC_COLUMNS[:2]),
                      _summaries=_each_study(summaries, _SUMMARY_COLUMNS, _SUMMARY_ORDER))
            .values_list(*_COLUMNS, "_authors", "_topics", "_summaries"))


def _newest_first(summaries):
    """SQLite's ``ORDER BY published_at DESC, created_at DESC`` (NULL is its least value; ISO text)."""
    return sorted(summaries, key=lambda s: (s[0] is not None, s[0] or "", s[1]), reverse=True)


def study_list_rows(ids, user) -> dict[int, dict]:
    """{id: representation} of the studies among ``ids`` that ``user`` may see (missing ones left out),
    each exactly as ``StudyListSerializer`` renders it: one query, compiled once (apps/common/prepared.py)."""
    return study_list_rows_later(ids, user)()


def study_list_rows_later(ids, user):
    """``study_list_rows``, its query sent now (with others, in a ``prepared.together`` block): a function
    that reads it and returns the representations."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return dict
    answer = prepared.send(_studies, ids, is_curator(user))
    return lambda: _representations(answer())


def _representations(rows):
    ordered = connection.vendor == "postgresql"
    studies = {}
    for *row, authors, topics, summaries in rows:
        r = dict(zip(_COLUMNS, row))
        authors, topics, summaries = authors or [], topics or [], summaries or []
        r["authors"] = authors if ordered else sorted(authors)
        r["topics"] = [slug for *_, slug in (topics if ordered else sorted(topics))]
        r["summaries"] = [summary[2:] for summary in (summaries if ordered else _newest_first(summaries))]
        studies[r["id"]] = r
    untitled = [i for i, r in studies.items() if not r["title"]]
    display = {s.id: s.display_title for s in Study.objects.filter(id__in=untitled).select_related("venue")
               .prefetch_related("authorships")} if untitled else {}
    when = _timestamps()
    return {i: _represent(r, display, when) for i, r in studies.items()}


def _represent(r, display, when):
    gaps = [name for name in GAPS if not str(r[name] or "").strip()]
    return {
        "id": r["id"], "title": r["title"], "display_title": r["title"] or display[r["id"]],
        "incomplete": bool(gaps), "gaps": gaps, "subtitle": r["subtitle"], "abstract": r["abstract"],
        "language": r["language"], "year": r["year"], "month": r["month"], "day": r["day"],
        "type": r["study_type"], "design": r["design"],
        "venue": None if r["venue_id"] is None else {"id": r["venue_id"], "name": r["venue__name"],
                                                     "kind": r["venue__kind"], "issn": r["venue__issn"]},
        "volume": r["volume"], "issue": r["issue"], "pages": r["pages"], "publisher": r["publisher"],
        "edition": r["edition"], "chapter": r["chapter"], "doi": r["doi"], "pmid": r["pmid"], "pmcid": r["pmcid"],
        "isbn": r["isbn"], "url": r["url"], "keywords": r["keywords"], "topics": r["topics"],
        "authors": [{"position": position, "name": name, "family_name": family, "given_name": given,
                     "researcher": researcher, "corresponding": bool(corresponding)}
                    for position, name, family, given, researcher, corresponding in r["authors"]],
        "status": r["status"], "published_at": when(r["published_at"]), "retracted": r["retracted"],
        "provenance": r["provenance"], "source_key": r["source_key"],
        "summaries": [{"id": i, "audience": audience, "language": language, "title": title}
                      for i, audience, language, title, _ in r["summaries"]],
        "has_summary": any(status == SummaryStatus.PUBLISHED for *_, status in r["summaries"]),
        "created_at": when(r["created_at"]), "updated_at": when(r["updated_at"]),
    }
