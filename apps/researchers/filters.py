import django_filters

from apps.common.filters import IdFilter
from django.db.models import Q

from apps.topics.models import Topic

from .models import HealthRegion, Institution, Researcher


class ResearcherFilterSet(django_filters.FilterSet):
    member = django_filters.BooleanFilter(field_name="member_since", lookup_expr="isnull", exclude=True,
                                          label="Network members only (true) or non-members (false)")
    member_since_from = django_filters.DateFilter(field_name="member_since", lookup_expr="gte")
    institution = IdFilter(method="filter_institution",
                                              label="Institution id (includes its sub-units)")
    health_region = django_filters.ChoiceFilter(choices=HealthRegion.choices, method="filter_health_region")
    topic = django_filters.CharFilter(method="filter_topic", label="Interest topic slug (includes sub-topics)")
    name = django_filters.CharFilter(method="filter_name", label="Part of the given or family name")
    orcid = django_filters.CharFilter()

    class Meta:
        model = Researcher
        fields = []

    def filter_institution(self, qs, name, value):
        return qs.filter(affiliations__institution_id__in=Institution.descendant_ids([value])).distinct()

    def filter_health_region(self, qs, name, value):
        roots = Institution.objects.filter(health_region=value).values_list("id", flat=True)
        ids = Institution.descendant_ids(list(roots))  # a division lies in its trust's region
        return qs.filter(affiliations__institution_id__in=ids).distinct()

    def filter_topic(self, qs, name, value):
        roots = list(Topic.objects.filter(slug=value).values_list("id", flat=True))
        return qs.filter(interests__in=Topic.descendant_ids(roots)).distinct() if roots else qs.none()

    def filter_name(self, qs, name, value):
        q = Q()
        for word in value.split():
            q &= Q(given_name__icontains=word) | Q(family_name__icontains=word)
        return qs.filter(q)


class InstitutionFilterSet(django_filters.FilterSet):
    parent = IdFilter()
    health_region = django_filters.ChoiceFilter(choices=HealthRegion.choices)
    name = django_filters.CharFilter(method="filter_name")

    class Meta:
        model = Institution
        fields = ["short_name", "ror_id"]

    def filter_name(self, qs, name, value):
        return qs.filter(Q(name_nb__icontains=value) | Q(name_en__icontains=value) | Q(short_name__iexact=value))
