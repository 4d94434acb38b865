from drf_spectacular.utils import extend_schema_field
from apps.common import serializers

from apps.common.identifiers import (
    CHECKSUM, DOI_INPUT, ISBN_INPUT, PMID_INPUT, clean_doi, clean_pmid, is_valid_doi, is_valid_pmid, normalize_isbn,
)
from apps.common.serializers import shaped
from apps.researchers.models import Researcher
from apps.summaries.models import SummaryStatus
from apps.topics.models import Topic

from .. import services
from ..models import Authorship, Study, Venue


class VenueSerializer(serializers.ModelSerializer):
    class Meta:
        model = Venue
        fields = ["id", "name", "kind", "issn"]
        read_only_fields = ["id"]


class VenueInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=500)
    issn = serializers.CharField(max_length=9, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        # a study's PATCH makes this partial too, but a venue is named in full (the schema's required)
        if "name" not in attrs:
            raise serializers.ValidationError({"name": ["This field is required."]})
        return attrs


class AuthorshipSerializer(serializers.ModelSerializer):
    researcher = serializers.PrimaryKeyRelatedField(queryset=Researcher.objects.all(), allow_null=True,
                                                    required=False)

    class Meta:
        model = Authorship
        fields = ["position", "name", "family_name", "given_name", "researcher", "corresponding"]
        read_only_fields = ["position"]
        extra_kwargs = {"family_name": {"required": False}, "given_name": {"required": False}}

    def validate(self, attrs):
        # A PATCH of a study is partial, and DRF makes its nested authors partial too; but the list replaces the
        # authors, so each needs its name (the schema's required; a missing one was a 500).
        if "name" not in attrs:
            raise serializers.ValidationError({"name": [self.error_messages.get("required", "This field is required.")]})
        return attrs


class SummaryBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    audience = serializers.CharField()
    language = serializers.CharField()
    title = serializers.CharField()


#: (part, whole): a study's day needs its month, its month its year.
DATE_PARTS = (("day", "month"), ("month", "year"))


def _date_rules(partial):
    """The schema's statement of DATE_PARTS for a body: a given (non-null) part needs its whole given and not null;
    in a PATCH the whole may be left out (the stored one counts)."""
    def given(name):
        return {"required": [name], "properties": {name: {"type": "integer"}}}

    rules = []
    for part, whole in DATE_PARTS:
        needs = {"properties": {whole: {"type": "integer"}}} if partial else given(whole)
        rules.append({"anyOf": [{"not": given(part)}, needs]})
    return {"allOf": rules}


class StudySerializer(serializers.ModelSerializer):
    #: Fields checked beyond what the schema states (a check digit): a wrong one is a 422, documented.
    beyond_schema = ("isbn",)

    @property
    def request_schema_rules(self):
        return _date_rules(self.partial)
    type = serializers.ChoiceField(source="study_type", choices=Study._meta.get_field("study_type").choices,
                                   required=False)
    venue = VenueSerializer(read_only=True, allow_null=True)
    venue_input = VenueInputSerializer(write_only=True, required=False, allow_null=True, source="venue")
    authors = AuthorshipSerializer(many=True, source="authorships", required=False)
    topics = serializers.SlugRelatedField(slug_field="slug", many=True, queryset=Topic.objects.all(),
                                          required=False)
    keywords = serializers.ListField(child=serializers.CharField(max_length=200), required=False,
                                     max_length=200)
    summaries = serializers.SerializerMethodField()
    has_summary = serializers.SerializerMethodField()
    title = serializers.CharField(help_text="Empty only on an incomplete draft (imported without a title; see `gaps`).")
    display_title = serializers.CharField(read_only=True, help_text=(
        "The title, or for a study without one \"[untitled] first author, venue volume:pages, year\"."))
    incomplete = serializers.BooleanField(read_only=True, help_text=(
        "The study lacks what a published study needs (`gaps`): it cannot be published until that is filled."))
    gaps = serializers.ListField(child=serializers.CharField(), read_only=True, help_text=(
        "The fields to fill before the study can be published, e.g. [\"title\"]; empty for a complete study."))

    class Meta:
        model = Study
        fields = [
            "id", "title", "display_title", "incomplete", "gaps", "subtitle", "abstract", "language", "year", "month", "day", "type", "design",
            "venue", "venue_input", "volume", "issue", "pages", "publisher", "edition", "chapter", "doi", "pmid",
            "pmcid", "isbn", "url", "keywords", "topics", "authors", "status", "published_at", "retracted",
            "provenance", "source_key", "source_entry", "summaries", "has_summary", "created_at", "updated_at",
        ]
        read_only_fields = ["id", "published_at", "provenance", "source_key", "source_entry", "created_at",
                            "updated_at"]
        extra_kwargs = {
            "doi": shaped(DOI_INPUT, "Not a DOI: expected 10.<registrant>/<suffix> (printable ASCII, no percent sign), "
                                     "or it as a https://doi.org/ URL."),
            "pmid": shaped(PMID_INPUT, "A PMID is 1 to 9 digits, the first not 0."),
            "isbn": shaped(ISBN_INPUT, "An ISBN is 10 or 13 digits (ISBN-10's last may be X), optionally "
                                       "separated by hyphens or spaces."),
        }

    @extend_schema_field(SummaryBriefSerializer(many=True))
    def get_summaries(self, study):
        # ``visible_summaries`` is prefetched by the viewset with only what the user may see.
        summaries = getattr(study, "visible_summaries", None)
        if summaries is None:
            return []
        return [{"id": s.id, "audience": s.audience, "language": s.language, "title": s.title}
                for s in summaries]

    @extend_schema_field(serializers.BooleanField())
    def get_has_summary(self, study):
        """A published summary, for every reader: what ``?has_summary=true`` selects (a curator sees
        draft summaries under ``summaries``, but they do not make this true)."""
        return any(s.status == SummaryStatus.PUBLISHED for s in getattr(study, "visible_summaries", None) or ())

    def validate_title(self, value):
        value = " ".join(value.split())
        if not value:
            raise serializers.ValidationError("A study needs a title.")
        return value

    def _unique(self, field, value, label):
        qs = Study.objects.filter(**{field: value})
        if self.instance is not None:
            qs = qs.exclude(pk=self.instance.pk)
        if value and qs.exists():
            raise serializers.ValidationError(f"Another study already has this {label} (id {qs.first().pk}).",
                                              code="unique")

    def validate_doi(self, value):
        value = clean_doi(value)
        if value and not is_valid_doi(value):
            raise serializers.ValidationError("Not a DOI: expected 10.<registrant>/<suffix>.")
        self._unique("doi", value, "DOI")
        return value

    def validate_pmid(self, value):
        value = clean_pmid(value)
        if value and not is_valid_pmid(value):
            raise serializers.ValidationError("A PMID is 1 to 9 digits.")
        self._unique("pmid", value, "PMID")
        return value

    def validate_isbn(self, value):
        if value and not normalize_isbn(value):
            raise serializers.ValidationError("Not a valid ISBN-10 or ISBN-13 (check digit).", code=CHECKSUM)
        return normalize_isbn(value) if value else ""

    def validate(self, attrs):
        """A day needs a month, a month a year: in the body (the schema's rule, a 400), or in a PATCH the study's
        stored value (when that is missing, the study as it stands refuses the change: a 409)."""
        for part, whole in DATE_PARTS:
            if attrs.get(part) is None:
                continue
            if whole in attrs or not self.partial:
                if attrs.get(whole) is None:
                    raise serializers.ValidationError({part: f"A {part} needs a {whole}."})
            elif getattr(self.instance, whole, None) is None:
                raise serializers.ValidationError({part: f"A {part} needs a {whole}; the study has none."},
                                                  code="conflict")
        return attrs

    def _service_data(self, validated):
        data = dict(validated)
        if "authorships" in data:
            data["authors"] = data.pop("authorships")
        return data

    def create(self, validated_data):
        data = self._service_data(validated_data)
        data.setdefault("provenance", "api")
        return services.create_study(self.context["request"].user, data)

    def update(self, instance, validated_data):
        return services.update_study(self.context["request"].user, instance, self._service_data(validated_data))


class StudyListSerializer(StudySerializer):
    """The list view leaves out the raw source entry (it can be large)."""

    class Meta(StudySerializer.Meta):
        fields = [f for f in StudySerializer.Meta.fields if f != "source_entry"]


class TopicAssignmentSerializer(serializers.Serializer):
    studies = serializers.PrimaryKeyRelatedField(queryset=Study.objects.all(), many=True, allow_empty=False)
    topics = serializers.SlugRelatedField(slug_field="slug", queryset=Topic.objects.all(), many=True,
                                          allow_empty=False)
    replace = serializers.BooleanField(default=False)


class RelatedParamsSerializer(serializers.Serializer):
    size = serializers.IntegerField(default=10, min_value=1, max_value=50, help_text="How many related studies.")
