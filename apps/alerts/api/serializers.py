from drf_spectacular.utils import extend_schema_field
from apps.common import serializers

from .. import services
from ..models import SavedSearch


class SavedSearchSerializer(serializers.ModelSerializer):
    #: params or query_string, not both (the schema's not); their content is the search API's parameters,
    #: checked beyond this schema (a 422 naming the field).
    request_schema_rules = {"not": {"required": ["params", "query_string"]}}
    beyond_schema = ("params", "query_string")
    params = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False,
        help_text="The search API's parameters (q and filters), "
                  "e.g. {\"q\": \"FACT team\", \"design\": \"rct,cohort\"}.")
    query_string = serializers.CharField(
        required=False, write_only=True, max_length=4000,
        help_text="Instead of params: the query string of a search URL, e.g. q=FACT&design=rct.")
    search_url = serializers.SerializerMethodField()
    feed_url = serializers.SerializerMethodField(help_text="Atom feed; the key in it lets a feed reader fetch it "
                                                           "without signing in. Keep it private.")
    new_since_last_visit = serializers.SerializerMethodField(
        help_text="Matching studies published in kb since last_seen_at (POST .../seen/ resets it).")

    class Meta:
        model = SavedSearch
        fields = ["id", "name", "params", "query_string", "search_url", "feed_url", "new_since_last_visit",
                  "last_seen_at", "created_at", "updated_at"]
        read_only_fields = ["id", "last_seen_at", "created_at", "updated_at"]

    @extend_schema_field(serializers.CharField())
    def get_search_url(self, saved):
        from urllib.parse import urlencode

        return f"/api/v1/search/?{urlencode(saved.params)}"

    @extend_schema_field(serializers.URLField())
    def get_feed_url(self, saved):
        path = f"/api/v1/saved-searches/{saved.pk}/feed.atom?key={saved.feed_key}"
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    @extend_schema_field(serializers.IntegerField())
    def get_new_since_last_visit(self, saved):
        request = self.context.get("request")
        return services.new_since_last_visit(saved, getattr(request, "user", None))

    def validate(self, attrs):
        query_string = attrs.pop("query_string", None)
        if query_string is not None and "params" in attrs:
            raise serializers.ValidationError({"query_string": ["Give params or query_string, not both."]})
        if query_string is not None:
            attrs["params"] = services.clean_params(query_string.split("?", 1)[-1])
        elif "params" in attrs:
            attrs["params"] = services.clean_params(attrs["params"])
        elif self.instance is None:
            attrs["params"] = {}
        return attrs

    def create(self, validated_data):
        request = self.context["request"]
        return services.save_search(request.user, validated_data["name"], validated_data.get("params"))

    def update(self, instance, validated_data):
        return services.save_search(instance.user, validated_data.get("name"), validated_data.get("params"),
                                    saved=instance)
