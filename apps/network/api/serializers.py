"""Request parameters and (for the schema) response shapes of the network, expert and evidence-map APIs."""

from rest_framework import serializers

from search.params import CommaSeparated
from search.selection import StudySelectionParams

from ..evidence_map import AXES
from ..graph import CENTRALITIES


class NetworkParamsSerializer(serializers.Serializer):
    topic = CommaSeparated(help_text="Topic slugs, comma-separated; only studies on any of them (with sub-topics).")
    institution = CommaSeparated(child=serializers.IntegerField(min_value=1, max_value=2**62),
                                 help_text="Institution ids; only researchers ever affiliated with any of them "
                                           "or their sub-units.")
    year_from = serializers.IntegerField(required=False, min_value=0, max_value=9999)
    year_to = serializers.IntegerField(required=False, min_value=0, max_value=9999)
    members_only = serializers.BooleanField(default=False, help_text="Only members of the researcher network.")
    include_institutions = serializers.BooleanField(
        default=False, help_text="Add institution nodes, linked to their researchers (type 'affiliation').")
    min_weight = serializers.IntegerField(default=1, min_value=1, max_value=1000,
                                          help_text="Leave out links with fewer shared studies.")
    centrality = serializers.ChoiceField(choices=list(CENTRALITIES), default="degree",
                                         help_text="; ".join(f"{k}: {v}" for k, v in CENTRALITIES.items()))
    include_drafts = serializers.BooleanField(default=False, help_text="Curators only: count draft studies too.")


class NetworkNodeSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="'r<id>' for a researcher, 'i<id>' for an institution.")
    type = serializers.CharField(help_text="researcher or institution")
    object_id = serializers.IntegerField(help_text="The researcher's or institution's id.")
    label = serializers.CharField()
    member = serializers.BooleanField(allow_null=True, help_text="Member of the researcher network.")
    studies = serializers.IntegerField(allow_null=True, help_text="Matching studies of the researcher.")
    degree = serializers.IntegerField(help_text="Co-authors (researchers) or researchers (institutions).")
    weighted_degree = serializers.IntegerField(help_text="Shared studies summed over the co-authors.")
    centrality = serializers.FloatField(allow_null=True)


class NetworkLinkSerializer(serializers.Serializer):
    source = serializers.CharField()
    target = serializers.CharField()
    type = serializers.CharField(help_text="coauthor (shared studies) or affiliation (researcher-institution)")
    weight = serializers.IntegerField(help_text="Shared studies (1 for an affiliation).")
    first_year = serializers.IntegerField(allow_null=True)
    last_year = serializers.IntegerField(allow_null=True, help_text="Empty for a current affiliation.")


class NetworkMetaSerializer(serializers.Serializer):
    researchers = serializers.IntegerField()
    coauthor_links = serializers.IntegerField()
    studies = serializers.IntegerField()
    centrality = serializers.CharField(help_text="The measure used (degree when another did not converge).")
    centrality_description = serializers.CharField()
    centrality_note = serializers.CharField(allow_null=True, help_text="Set when the measure was estimated or "
                                                                       "replaced.")


class NetworkSerializer(serializers.Serializer):
    nodes = NetworkNodeSerializer(many=True)
    links = NetworkLinkSerializer(many=True)
    meta = NetworkMetaSerializer()


class ExpertParamsSerializer(StudySelectionParams):
    limit = serializers.IntegerField(default=20, min_value=1, max_value=100, help_text="How many experts.")
    evidence = serializers.IntegerField(default=3, min_value=1, max_value=10,
                                        help_text="Best-matching studies shown per expert.")
    members_only = serializers.BooleanField(default=False, help_text="Only members of the researcher network.")


class EvidenceStudySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    year = serializers.IntegerField(allow_null=True)
    relevance = serializers.FloatField(help_text="Relative to the best match (1).")


class ExpertSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField()
    orcid_url = serializers.URLField(allow_null=True)
    is_member = serializers.BooleanField()
    institutions = serializers.ListField(child=serializers.CharField(), help_text="Current affiliations.")
    score = serializers.FloatField(help_text="Sum of the relevance of the researcher's matching studies.")
    matching_studies = serializers.IntegerField()
    evidence = EvidenceStudySerializer(many=True)


class ExpertsSerializer(serializers.Serializer):
    total_matching_studies = serializers.IntegerField()
    studies_considered = serializers.IntegerField(help_text="The best-ranked matches the experts come from.")
    results = ExpertSerializer(many=True)


class EvidenceMapParamsSerializer(StudySelectionParams):
    rows = serializers.ChoiceField(choices=AXES, default="topic")
    cols = serializers.ChoiceField(choices=AXES, required=False, allow_null=True, default=None,
                                   help_text="Leave out for a single column of counts. The same axis as rows: "
                                             "a cell counts the studies with both values (the diagonal: each "
                                             "value's studies; topic x topic: topics studied together).")
    year_step = serializers.IntegerField(default=1, min_value=1, max_value=50,
                                         help_text="Years per bucket on a year axis.")


class AxisValueSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    label_nb = serializers.CharField()
    total = serializers.IntegerField(help_text="Studies with this value (each counted once).")
    search_url = serializers.CharField(allow_null=True)


class AxisSerializer(serializers.Serializer):
    axis = serializers.ChoiceField(choices=AXES)
    values = AxisValueSerializer(many=True)


class CellSerializer(serializers.Serializer):
    row = serializers.CharField()
    col = serializers.CharField(allow_null=True)
    count = serializers.IntegerField()
    search_url = serializers.CharField(allow_null=True, help_text="The search that lists this cell's studies.")


class EvidenceMapSerializer(serializers.Serializer):
    rows = AxisSerializer()
    cols = AxisSerializer(allow_null=True)
    cells = CellSerializer(many=True)
    total = serializers.IntegerField(help_text="Studies the query and filters select.")
    truncated = serializers.BooleanField(help_text="The query matched more studies than are mapped (10,000).")
    search_url = serializers.CharField()
