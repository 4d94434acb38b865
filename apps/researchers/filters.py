import django_filters
from django.db.models import Exists, OuterRef, Q

from apps.common.filters import BooleanFilter, IdFilter
from apps.studies.models import Authorship, Status, Study
from apps.topics.models import Topic

from .models import Affiliation, HealthRegion, Institution, Researcher


class ResearcherFilterSet(django_filters.FilterSet):
    member = BooleanFilter(field_name="member_since", lookup_expr="isnull", exclude=True,
                                          label="Network members only (true) or non-members (false)")
    member_since_from = django_filters.DateFilter(field_name="member_since", lookup_expr="gte",
                                                  label="Members who joined on or after this date")
    member_since_to = django_filters.DateFilter(field_name="member_since", lookup_expr="lte",
                                                label="Members who joined on or before this date")
    institution = IdFilter(method="filter_institution",
                           label="Institution id (includes its sub-units)")
    current = BooleanFilter(
        method="filter_current", label="With institution or health_region: only current affiliations count")
    health_region = django_filters.ChoiceFilter(choices=HealthRegion.choices, method="filter_health_region")
    topic = django_filters.CharFilter(
        method="filter_topic",
        label="Topic slugs, comma-separated (each includes sub-topics): an interest, or a published study on it")
    name = django_filters.CharFilter(method="filter_name", label="Part of the given or family name")
    orcid = django_filters.CharFilter()

    class Meta:
        model = Researcher
        fields = []

    def _affiliated(self, qs, institution_ids):
        affiliations = Affiliation.objects.filter(researcher_id=OuterRef("pk"), institution_id__in=institution_ids)
        if self.form.cleaned_data.get("current"):
            from django.utils import timezone

            affiliations = affiliations.filter(Q(end_date__isnull=True) | Q(end_date__gte=timezone.localdate()))
        return qs.filter(Exists(affiliations))

    def filter_current(self, qs, name, value):
        return qs  # read by the institution and health_region filters

    def filter_institution(self, qs, name, value):
        return self._affiliated(qs, Institution.descendant_ids([value]))

    def filter_health_region(self, qs, name, value):
        roots = Institution.objects.filter(health_region=value).values_list("id", flat=True)
        return self._affiliated(qs, Institution.descendant_ids(list(roots)))  # a division lies in its trust's region

    def filter_topic(self, qs, name, value):
        slugs = [v.strip() for v in value.split(",") if v.strip()][:50]
        roots = list(Topic.objects.filter(slug__in=slugs).values_list("id", flat=True))
        if not roots:
            return qs.none()
        ids = Topic.descendant_ids(roots)
        studies = Study.topics.through.objects.filter(topic_id__in=ids, study__status=Status.PUBLISHED)
        wrote = Authorship.objects.filter(researcher_id=OuterRef("pk"), study_id__in=studies.values("study_id"))
        interested = Researcher.interests.through.objects.filter(researcher_id=OuterRef("pk"), topic_id__in=ids)
        return qs.filter(Exists(interested) | Exists(wrote))

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
