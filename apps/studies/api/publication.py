"""The API of bulk publishing: the request (which studies), the job, the dry run's preview."""

from django.http import QueryDict
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from apps.common import serializers

from apps.common.exceptions import unprocessable
from apps.common.filters import MAX_ID
from apps.imports.models import ImportJob
from apps.imports.selection import NotSelectable, written_study_ids

from ..filters import StudyFilterSet
from ..models import PublicationJob, Study

MAX_IDS = 100_000
SELECTORS = ("ids", "import_job", "filters")


def _filter_data(value) -> QueryDict:
    """The study list's query parameters, given as an object ({"type": ["article"], "year_from": 2000})
    or as the list URL's query string ("type=article&year_from=2000")."""
    if isinstance(value, str):
        return QueryDict(value.lstrip("?"))
    if not isinstance(value, dict):
        raise serializers.ValidationError("An object of the study list's filters, or its query string.")
    data = QueryDict(mutable=True)
    for key, item in value.items():
        items = item if isinstance(item, list) else [item]
        data.setlist(key, ["true" if v is True else "false" if v is False else str(v) for v in items])
    return data


@extend_schema_field({"oneOf": [{"type": "object", "minProperties": 1, "additionalProperties": True},
                               {"type": "string", "minLength": 1}]})
class FiltersField(serializers.JSONField):
    """The study list's filters: an object, or the list's query string."""


class PublicationRequestSerializer(serializers.Serializer):
    """Choose the studies by exactly one of ``ids``, ``import_job`` or ``filters``."""

    #: Exactly one selector (the schema's oneOf); the filters' content is checked beyond the schema (a 422).
    request_schema_rules = {"oneOf": [{"required": [name]} for name in SELECTORS]}
    beyond_schema = ("filters",)

    ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False, allow_empty=False,
                                max_length=MAX_IDS, help_text="Study ids.")
    import_job = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID,
                                          help_text="An import job: the studies it created or changed.")
    filters = FiltersField(required=False, help_text=(
        "The filters of GET /api/v1/studies/ (year_from, year_to, type, design, language, status, topic, "
        "researcher, institution, year, venue, has_summary, retracted, doi, pmid), as an object or as the "
        "list's query string; at least one."))
    dry_run = serializers.BooleanField(default=False,
                                       help_text="Only count: what would change, what would be refused.")

    def validate_ids(self, ids):
        ids = list(dict.fromkeys(ids))
        found = set()
        for start in range(0, len(ids), 10_000):
            found.update(Study.objects.filter(pk__in=ids[start:start + 10_000]).values_list("pk", flat=True))
        missing = [i for i in ids if i not in found]
        if missing:
            more = f" and {len(missing) - 20} more" if len(missing) > 20 else ""
            raise serializers.ValidationError(f"No study with id {', '.join(map(str, missing[:20]))}{more}.",
                                              code="does_not_exist")
        return ids

    def validate_import_job(self, value):
        job = ImportJob.objects.filter(pk=value).first()
        if job is None:
            raise serializers.ValidationError(f"No import job {value}.", code="does_not_exist")
        try:
            return written_study_ids(job)
        except NotSelectable as exc:
            raise serializers.ValidationError(str(exc), code="conflict")

    def validate_filters(self, value):
        """The study list's filters: their names and values are that operation's rules (not repeated in this
        body's schema), so a wrong one is a 422 naming ``filters``; what the schema states (an object with a
        filter or a non-empty string) is a 400."""
        if not value or not isinstance(value, (dict, str)):
            raise serializers.ValidationError("Name at least one filter, as an object or as the list's query string.")
        try:
            return self._filtered_ids(value)
        except serializers.ValidationError as exc:
            raise unprocessable(exc.detail)

    def _filtered_ids(self, value):
        data = _filter_data(value)
        filterset = StudyFilterSet(data=data, queryset=Study.objects.all(), request=self.context.get("request"))
        unknown = sorted(set(data) - set(filterset.filters))
        if unknown:
            raise serializers.ValidationError(f"Unknown filter(s) {', '.join(unknown)}; the study list's are "
                                              f"{', '.join(filterset.filters)}.")
        if not any(v for v in data.values()):
            raise serializers.ValidationError("Name at least one filter: no filter would choose every study.")
        if not filterset.is_valid():
            raise serializers.ValidationError(filterset.errors)
        return list(filterset.qs.order_by("pk").values_list("pk", flat=True).distinct())

    def to_internal_value(self, data):
        # exactly one selector, before the selector's own checks: a request the schema forbids is a 400
        given = [name for name in SELECTORS if isinstance(data, dict) and name in data]
        if not given:
            raise serializers.ValidationError({"ids": "Choose the studies: give ids, import_job or filters."})
        if len(given) > 1:
            raise serializers.ValidationError({name: f"Give only one of {', '.join(given)}." for name in given})
        return super().to_internal_value(data)

    def validate(self, attrs):
        given = [name for name in SELECTORS if name in attrs]
        attrs["selector"] = given[0]
        attrs["study_ids"] = attrs[given[0]]
        return attrs

    def selection(self) -> dict:
        """How the studies were chosen, as the job records it (the request's own values)."""
        name = self.validated_data["selector"]
        return {name: self.initial_data[name]}


class RefusedStudySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   help_text="Why it cannot be published: messages by field.")


class PublicationJobSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    progress = serializers.SerializerMethodField()
    refused_count = serializers.SerializerMethodField()
    refused = RefusedStudySerializer(many=True, read_only=True)

    class Meta:
        model = PublicationJob
        fields = ["id", "url", "action", "status", "selection", "total", "done", "changed", "unchanged",
                  "refused_count", "refused", "progress", "error", "requested_by", "via", "created_at",
                  "started_at", "finished_at"]
        read_only_fields = fields

    def get_url(self, job) -> str:
        path = reverse("v1:publication-job-detail", args=[job.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_progress(self, job) -> dict[str, int]:
        return {"done": job.done, "total": job.total, "percent": job.percent}

    def get_refused_count(self, job) -> int:
        return len(job.refused)


class PublicationPreviewSerializer(serializers.Serializer):
    """What a request would do (``dry_run``): nothing is written and no job is recorded."""

    action = serializers.ChoiceField(choices=PublicationJob.Action.choices)
    dry_run = serializers.BooleanField()
    selected = serializers.IntegerField()
    would_change = serializers.IntegerField()
    unchanged = serializers.IntegerField(help_text="Already have that status.")
    refused_count = serializers.IntegerField()
    refused = RefusedStudySerializer(many=True)
    background = serializers.BooleanField(help_text="Whether the request would run as a background job.")
