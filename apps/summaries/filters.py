import django_filters

from apps.common.filters import BooleanFilter, IdFilter, ScoreFilter

from .models import SUMMARY_LANGUAGES, Audience, Summary, SummaryStatus


class SummaryFilterSet(django_filters.FilterSet):
    study = IdFilter(field_name="studies")
    audience = django_filters.MultipleChoiceFilter(choices=Audience.choices)
    language = django_filters.ChoiceFilter(choices=SUMMARY_LANGUAGES)
    status = django_filters.ChoiceFilter(choices=SummaryStatus.choices)
    needs_review = BooleanFilter(
        label="Summaries whose study changed materially since they were last checked (a curator's work list)")
    last_checked_before = django_filters.DateFilter(
        method="filter_last_checked_before", label="Not checked since this date (never checked included)")
    lix_max = ScoreFilter(field_name="readability_lix", lookup_expr="lte",
                                          label="Readability: LIX at most this (lower is easier)")

    class Meta:
        model = Summary
        fields = []

    def filter_last_checked_before(self, qs, name, value):
        from django.db.models import Q

        return qs.filter(Q(last_checked__lt=value) | Q(last_checked__isnull=True))
