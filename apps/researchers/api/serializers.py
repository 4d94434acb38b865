from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.common.identifiers import is_valid_orcid, normalize_orcid
from apps.common.roles import is_curator
from apps.topics.models import Topic

from .. import services
from ..models import Affiliation, Institution, Researcher


class InstitutionSerializer(serializers.ModelSerializer):
    parent = serializers.PrimaryKeyRelatedField(queryset=Institution.objects.all(), allow_null=True,
                                                required=False)

    class Meta:
        model = Institution
        fields = ["id", "name_nb", "name_en", "short_name", "ror_id", "parent", "city", "health_region",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_ror_id(self, value):
        value = (value or "").strip().lower().removeprefix("https://ror.org/")
        if value and (len(value) != 9 or not value.isalnum() or value[0] != "0"):
            raise serializers.ValidationError("A ROR id is 9 characters starting with 0, e.g. 01xtthb56.")
        qs = Institution.objects.filter(ror_id=value)
        if self.instance is not None:
            qs = qs.exclude(pk=self.instance.pk)
        if value and qs.exists():
            raise serializers.ValidationError("Another institution already has this ROR id.")
        return value

    def validate_parent(self, value):
        node = value
        while node is not None and self.instance is not None:
            if node.pk == self.instance.pk:
                raise serializers.ValidationError("An institution cannot be its own ancestor.")
            node = node.parent
        return value

    def create(self, validated_data):
        return services.save_institution(self.context["request"].user, validated_data)

    def update(self, instance, validated_data):
        return services.save_institution(self.context["request"].user, validated_data, instance)


class AffiliationSerializer(serializers.ModelSerializer):
    institution = serializers.PrimaryKeyRelatedField(queryset=Institution.objects.all())
    institution_name = serializers.CharField(source="institution.name_nb", read_only=True)
    current = serializers.BooleanField(source="is_current", read_only=True)

    class Meta:
        model = Affiliation
        fields = ["institution", "institution_name", "role", "start_date", "end_date", "current"]

    def validate(self, attrs):
        start, end = attrs.get("start_date"), attrs.get("end_date")
        if start and end and end < start:
            raise serializers.ValidationError({"end_date": "The end date must not be before the start date."})
        return attrs


class ResearcherSerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(read_only=True)
    orcid_url = serializers.SerializerMethodField()
    is_member = serializers.BooleanField(read_only=True)
    interests = serializers.SlugRelatedField(slug_field="slug", many=True, queryset=Topic.objects.all(),
                                             required=False)
    affiliations = AffiliationSerializer(many=True, required=False)
    orcid = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                  help_text="ORCID iD, with or without https://orcid.org/.")

    class Meta:
        model = Researcher
        fields = ["id", "given_name", "family_name", "full_name", "orcid", "orcid_url", "email", "member_since",
                  "is_member", "interests", "bio_nb", "bio_en", "affiliations", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"email": {"required": False, "help_text": "Only curators see it."}}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        if not (request and is_curator(request.user)):
            data.pop("email", None)
        return data

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_orcid_url(self, researcher):
        return f"https://orcid.org/{researcher.orcid}" if researcher.orcid else None

    def validate_orcid(self, value):
        value = normalize_orcid(value) if value else ""
        if value and not is_valid_orcid(value):
            raise serializers.ValidationError(
                "Not a valid ORCID iD (expected 0000-0000-0000-000X with a correct checksum).")
        qs = Researcher.objects.filter(orcid=value)
        if self.instance is not None:
            qs = qs.exclude(pk=self.instance.pk)
        if value and qs.exists():
            raise serializers.ValidationError("Another researcher already has this ORCID iD.")
        return value

    def create(self, validated_data):
        return services.save_researcher(self.context["request"].user, validated_data)

    def update(self, instance, validated_data):
        return services.save_researcher(self.context["request"].user, validated_data, instance)
