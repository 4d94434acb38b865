import django_filters

from .models import SUMMARY_LANGUAGES, Audience, Summary, SummaryStatus


class SummaryFilterSet(django_filters.FilterSet):
    study = django_filters.NumberFilter(field_name="studies")
    audience = django_filters.MultipleChoiceFilter(choices=Audience.choices)
    language = django_filters.ChoiceFilter(choices=SUMMARY_LANGUAGES)
    status = django_filters.ChoiceFilter(choices=SummaryStatus.choices)

    class Meta:
        model = Summary
        fields = []
