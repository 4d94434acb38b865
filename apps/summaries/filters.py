import django_filters

from apps.common.filters import IdFilter

from .models import SUMMARY_LANGUAGES, Audience, Summary, SummaryStatus


class SummaryFilterSet(django_filters.FilterSet):
    study = IdFilter(field_name="studies")
    audience = django_filters.MultipleChoiceFilter(choices=Audience.choices)
    language = django_filters.ChoiceFilter(choices=SUMMARY_LANGUAGES)
    status = django_filters.ChoiceFilter(choices=SummaryStatus.choices)

    class Meta:
        model = Summary
        fields = []
