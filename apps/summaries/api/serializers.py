from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.studies.models import Study

from .. import services
from ..models import Summary


class SummarySerializer(serializers.ModelSerializer):
    studies = serializers.PrimaryKeyRelatedField(queryset=Study.objects.all(), many=True, allow_empty=False)
    author = serializers.SerializerMethodField(help_text="The curator who wrote it.")
    reviewer = serializers.SerializerMethodField(help_text="The curator who approved it.")

    class Meta:
        model = Summary
        fields = ["id", "studies", "audience", "language", "title", "body", "key_findings", "implications",
                  "status", "author", "reviewer", "published_at", "created_at", "updated_at"]
        read_only_fields = ["id", "published_at", "created_at", "updated_at"]

    @staticmethod
    def _person(user):
        return (user.get_full_name() or user.get_username()) if user else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_author(self, summary):
        return self._person(summary.author)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_reviewer(self, summary):
        return self._person(summary.reviewer)

    def validate_title(self, value):
        if not value.strip():
            raise serializers.ValidationError("A summary needs a title.")
        return value.strip()

    def validate_body(self, value):
        if not value.strip():
            raise serializers.ValidationError("A summary needs a body.")
        return value

    def create(self, validated_data):
        return services.save_summary(self.context["request"].user, validated_data)

    def update(self, instance, validated_data):
        return services.save_summary(self.context["request"].user, validated_data, instance)
