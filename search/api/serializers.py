from rest_framework import serializers

from apps.researchers.api.serializers import ResearcherSerializer
from apps.studies.api.rows import study_list_rows_later
from apps.studies.api.serializers import StudyListSerializer
from apps.summaries.api.serializers import SummarySerializer


class HighlightSerializer(serializers.Serializer):
    title = serializers.ListField(child=serializers.CharField(), required=False)
    abstract = serializers.ListField(child=serializers.CharField(), required=False)
    body = serializers.ListField(child=serializers.CharField(), required=False)
    name = serializers.ListField(child=serializers.CharField(), required=False)


class WhySerializer(serializers.Serializer):
    matched = serializers.ListField(child=serializers.CharField(), required=False,
                                    help_text="Words of the query that the hit contains (as typed).")
    expansions = serializers.ListField(child=serializers.CharField(), required=False,
                                       help_text="Vocabulary expansions (other-language terms) the hit contains.")
    lexical_rank = serializers.IntegerField(allow_null=True, required=False,
                                            help_text="Hybrid: its place by the words alone (null: no word matched).")
    semantic_rank = serializers.IntegerField(allow_null=True, required=False,
                                             help_text="Hybrid: its place by meaning (null: not among the nearest).")


class ScoredMixin(serializers.Serializer):
    score = serializers.FloatField(allow_null=True, help_text="Relevance (higher is better); null when sorted otherwise.")
    highlight = HighlightSerializer(help_text="Fragments with matches wrapped in <mark>…</mark> (HTML-escaped).")
    why = WhySerializer(required=False, help_text="Why this is a hit: words matched, expansions, and in a hybrid "
                                                  "search its lexical and semantic ranks.")


class StudyHitSerializer(ScoredMixin, StudyListSerializer):
    class Meta(StudyListSerializer.Meta):
        fields = StudyListSerializer.Meta.fields + ["score", "highlight", "why"]


def study_hit_rows_later(hits, user):
    """``StudyHitSerializer``'s representation of the studies of these hits that ``user`` may see, in hit
    order, read as rows (apps/studies/api/rows.py); a hit the database does not have (the index is a
    moment ahead of or behind it) is left out, as ``hydrate`` leaves it out. The query is sent now (with
    the facet labels', in a ``prepared.together`` block); the returned function reads the hits."""
    studies_later = study_list_rows_later([h.id for h in hits], user)

    def read():
        studies = studies_later()
        out = []
        for hit in hits:
            study = studies.get(hit.id)
            if study is None:
                continue
            study["score"] = None if hit.score is None else float(hit.score)
            study["highlight"] = _known(hit.highlights, HIGHLIGHT_FIELDS)
            study["why"] = _known(hit.why, WHY_FIELDS)
            out.append(study)
        return out

    return read


def _known(values, fields):
    """The serializer's view of a dict: its declared fields that are there, and those that may be null as
    null when missing (DRF's rule for a missing key); None stays None."""
    if values is None:
        return None
    return {name: values.get(name) for name, nullable in fields if name in values or nullable}


def _fields(serializer):
    return tuple((name, field.allow_null) for name, field in serializer().fields.items())


HIGHLIGHT_FIELDS = _fields(HighlightSerializer)
WHY_FIELDS = _fields(WhySerializer)


class ResearcherHitSerializer(ScoredMixin, ResearcherSerializer):
    class Meta(ResearcherSerializer.Meta):
        fields = ResearcherSerializer.Meta.fields + ["score", "highlight"]


class SummaryHitSerializer(ScoredMixin, SummarySerializer):
    class Meta(SummarySerializer.Meta):
        fields = SummarySerializer.Meta.fields + ["score", "highlight"]


class FacetValueSerializer(serializers.Serializer):
    value = serializers.JSONField(help_text="The filter value to send back (slug, id, code or year).")
    label = serializers.CharField()
    label_nb = serializers.CharField(required=False)
    count = serializers.IntegerField()


class FacetsSerializer(serializers.Serializer):
    year = FacetValueSerializer(many=True, required=False)
    type = FacetValueSerializer(many=True, required=False)
    design = FacetValueSerializer(many=True, required=False)
    topic = FacetValueSerializer(many=True, required=False)
    language = FacetValueSerializer(many=True, required=False)
    researcher = FacetValueSerializer(many=True, required=False)
    institution = FacetValueSerializer(many=True, required=False)


class ExpansionSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="The term searched besides the words typed.")
    language = serializers.ChoiceField(choices=["nb", "en"])
    source = serializers.ListField(child=serializers.CharField(), help_text="The typed words it stands for.")


class SearchResponseSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Total number of hits.")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    next_cursor = serializers.CharField(allow_null=True, help_text="Pass as ``cursor`` for the next page "
                                        "(also beyond 10,000 hits).")
    results = serializers.ListField(child=serializers.DictField(),
                                    help_text="Studies, researchers or summaries (by ``type``), each with score "
                                              "and highlight.")
    facets = FacetsSerializer()
    did_you_mean = serializers.CharField(allow_null=True)
    warnings = serializers.ListField(child=serializers.CharField())
    backend = serializers.CharField()
    ranking = serializers.ChoiceField(choices=["hybrid", "lexical"],
                                      help_text="The ranking used: hybrid (words and meaning) or lexical.")
    expansions = ExpansionSerializer(many=True, help_text="Also searched: other-language terms from the "
                                     "vocabulary; send a ``text`` in ``unexpand`` to drop it.")
    took_ms = serializers.FloatField(allow_null=True)


class SuggestionSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["study", "researcher", "topic"])
    id = serializers.JSONField()
    text = serializers.CharField()


class SuggestResponseSerializer(serializers.Serializer):
    suggestions = SuggestionSerializer(many=True)
