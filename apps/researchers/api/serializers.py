from drf_spectacular.utils import extend_schema_field
from apps.common import serializers

from apps.common.identifiers import CHECKSUM, ORCID_INPUT, ROR_INPUT, clean_orcid, is_valid_orcid
from apps.common.serializers import shaped
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
        extra_kwargs = {"ror_id": shaped(ROR_INPUT, "A ROR id is 0, six letters or digits of Crockford's base 32 "
                                                    "and two digits, e.g. 01xtthb56.")}

    def validate_ror_id(self, value):
        qs = Institution.objects.filter(ror_id=value)
        if self.instance is not None:
            qs = qs.exclude(pk=self.instance.pk)
        if value and qs.exists():
            raise serializers.ValidationError("Another institution already has this ROR id.", code="unique")
        return value

    def validate_parent(self, value):
        node = value
        while node is not None and self.instance is not None:
            if node.pk == self.instance.pk:
                raise serializers.ValidationError("An institution cannot be its own ancestor.", code="conflict")
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
    #: Fields checked beyond what the schema states (a check digit): a wrong one is a 422, documented.
    beyond_schema = ("orcid",)
    full_name = serializers.CharField(read_only=True)
    orcid_url = serializers.SerializerMethodField()
    is_member = serializers.BooleanField(read_only=True)
    interests = serializers.SlugRelatedField(slug_field="slug", many=True, queryset=Topic.objects.all(),
                                             required=False)
    affiliations = AffiliationSerializer(many=True, required=False)
    orcid = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                  help_text="ORCID iD, with or without https://orcid.org/.",
                                  **shaped(ORCID_INPUT, "An ORCID iD is 0000-0000-0000-000X (16 digits, the last "
                                                        "may be X), optionally after https://orcid.org/."))

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
        value = clean_orcid(value) if value else ""
        if value and not is_valid_orcid(value):
            raise serializers.ValidationError("Not a valid ORCID iD: its check digit is wrong.", code=CHECKSUM)
        qs = Researcher.objects.filter(orcid=value)
        if self.instance is not None:
            qs = qs.exclude(pk=self.instance.pk)
        if value and qs.exists():
            raise serializers.ValidationError("Another researcher already has this ORCID iD.", code="unique")
        return value

    def create(self, validated_data):
        return services.save_researcher(self.context["request"].user, validated_data)

    def update(self, instance, validated_data):
        return services.save_researcher(self.context["request"].user, validated_data, instance)


class ProfileStudySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    year = serializers.IntegerField(allow_null=True)
    type = serializers.CharField()
    design = serializers.CharField()
    venue = serializers.CharField(allow_null=True)
    doi = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    retracted = serializers.BooleanField()
    author_position = serializers.IntegerField(allow_null=True, help_text="1 for the first author.")


class ProfileTopicSerializer(serializers.Serializer):
    slug = serializers.CharField()
    label_nb = serializers.CharField()
    label_en = serializers.CharField()
    studies = serializers.IntegerField(help_text="How many of the researcher's studies have this topic.")
    weight = serializers.FloatField(help_text="studies / all the researcher's studies (0-1).")


class ProfileCoauthorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField()
    is_member = serializers.BooleanField()
    shared_studies = serializers.IntegerField()
    first_year = serializers.IntegerField(allow_null=True)
    last_year = serializers.IntegerField(allow_null=True)


class ProfileNetworkSerializer(serializers.Serializer):
    is_member = serializers.BooleanField()
    member_since = serializers.DateField(allow_null=True)
    coauthors = serializers.IntegerField(help_text="Distinct linked co-authors.")
    coauthors_in_network = serializers.IntegerField(help_text="Of them, members of the researcher network.")


class ResearcherProfileSerializer(ResearcherSerializer):
    """A researcher with their studies (newest first), topics weighted by their studies, co-authors and
    network membership. Readers see published studies only."""

    studies = serializers.SerializerMethodField()
    study_count = serializers.SerializerMethodField()
    topics = serializers.SerializerMethodField()
    coauthors = serializers.SerializerMethodField()
    network = serializers.SerializerMethodField()

    class Meta(ResearcherSerializer.Meta):
        fields = ResearcherSerializer.Meta.fields + ["studies", "study_count", "topics", "coauthors", "network"]

    def _profile(self):
        return self.context["profile"]

    @extend_schema_field(ProfileStudySerializer(many=True))
    def get_studies(self, researcher):
        return self._profile()["studies"]

    @extend_schema_field(serializers.IntegerField())
    def get_study_count(self, researcher):
        return self._profile()["study_count"]

    @extend_schema_field(ProfileTopicSerializer(many=True))
    def get_topics(self, researcher):
        return self._profile()["topics"]

    @extend_schema_field(ProfileCoauthorSerializer(many=True))
    def get_coauthors(self, researcher):
        return self._profile()["coauthors"]

    @extend_schema_field(ProfileNetworkSerializer())
    def get_network(self, researcher):
        return ProfileNetworkSerializer(self._profile()["network"]).data
