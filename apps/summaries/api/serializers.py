from drf_spectacular.utils import extend_schema_field
from apps.common import serializers

from apps.studies.models import Study

from .. import services
from ..models import Summary, SummaryStatus, SummaryVersion
from ..readability import LEVELS


def _person(user):
    return (user.get_full_name() or user.get_username()) if user else None


READABILITY_LEVELS = [name for _, name in LEVELS] + ["very_difficult"]


class SummarySerializer(serializers.ModelSerializer):
    studies = serializers.PrimaryKeyRelatedField(queryset=Study.objects.all(), many=True, allow_empty=False)
    status = serializers.ChoiceField(
        choices=SummaryStatus.choices, required=False,
        help_text="A new summary starts as draft (or in_review). Later the status changes only through the "
                  "workflow actions submit, approve (by a curator who is not the author), reject and archive.")
    author = serializers.SerializerMethodField(help_text="The curator who wrote it.")
    reviewer = serializers.SerializerMethodField(help_text="The curator who approved it.")
    readability_level = serializers.SerializerMethodField(
        help_text="LIX band: very_easy (<25), easy (<35), medium (<45), difficult (<55), very_difficult.")
    change_note = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=500,
                                        help_text="What changed (kept with the new version of a published summary).")

    class Meta:
        model = Summary
        fields = ["id", "studies", "audience", "language", "title", "body", "key_findings", "implications",
                  "status", "author", "reviewer", "published_at", "version", "readability_lix",
                  "readability_level", "last_checked", "needs_review", "needs_review_reason",
                  "needs_review_since", "change_note", "created_at", "updated_at"]
        read_only_fields = ["id", "published_at", "version", "readability_lix", "needs_review",
                            "needs_review_reason", "needs_review_since", "created_at", "updated_at"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_author(self, summary):
        return _person(summary.author)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_reviewer(self, summary):
        return _person(summary.reviewer)

    # nullable rather than a choice of null: drf-spectacular would add an enum of only null (NullEnum), which
    # openapi-generator's Python client cannot compile
    @extend_schema_field({"type": "string", "enum": READABILITY_LEVELS, "nullable": True})
    def get_readability_level(self, summary):
        return summary.readability_level

    def validate_title(self, value):
        if not value.strip():
            raise serializers.ValidationError("A summary needs a title.")
        return value.strip()

    def validate_body(self, value):
        if not value.strip():
            raise serializers.ValidationError("A summary needs a body.")
        return value

    def validate_status(self, value):
        if self.instance is None and value not in services.INITIAL_STATUSES:
            raise serializers.ValidationError(
                "A new summary starts as draft or in_review; it is published by another curator's approval "
                "(POST /api/v1/summaries/{id}/approve/).", code="conflict")
        if self.instance is not None and value != self.instance.status:
            raise serializers.ValidationError(
                f"The status is {self.instance.status!r}; change it with the workflow actions (POST "
                f".../submit/, .../approve/, .../reject/, .../archive/), not by an edit.", code="conflict")
        return value

    def _save(self, validated_data, instance=None):
        note = validated_data.pop("change_note", "")
        try:
            return services.save_summary(self.context["request"].user, validated_data, instance, change_note=note)
        except services.WorkflowError as exc:
            raise serializers.ValidationError({"status": [exc.message]}, code="conflict")

    def create(self, validated_data):
        return self._save(validated_data)

    def update(self, instance, validated_data):
        return self._save(validated_data, instance)


class SummaryVersionSerializer(serializers.ModelSerializer):
    created_by = serializers.SerializerMethodField(help_text="Who published this version.")
    reviewer = serializers.SerializerMethodField(help_text="Who approved it (the first version).")
    current = serializers.SerializerMethodField()

    class Meta:
        model = SummaryVersion
        fields = ["number", "current", "audience", "language", "title", "body", "key_findings", "implications",
                  "readability_lix", "change_note", "created_by", "reviewer", "created_at"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_created_by(self, version):
        return _person(version.created_by)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_reviewer(self, version):
        return _person(version.reviewer)

    @extend_schema_field(serializers.BooleanField())
    def get_current(self, version):
        return version.number == self.context.get("current_version")


class WorkflowErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
