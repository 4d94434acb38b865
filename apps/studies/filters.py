import django_filters

from apps.common.filters import BooleanFilter, CommaListFilter, IdFilter, YearFilter
from apps.common.identifiers import clean_doi, clean_pmid
from apps.researchers.models import Institution
from apps.topics.models import Topic

from .models import LANGUAGE_CHOICES, Status, Study, StudyDesign, StudyType


class StudyFilterSet(django_filters.FilterSet):
    year_from = YearFilter(field_name="year", lookup_expr="gte", label="Published in or after")
    year_to = YearFilter(field_name="year", lookup_expr="lte", label="Published in or before")
    type = django_filters.MultipleChoiceFilter(field_name="study_type", choices=StudyType.choices)
    design = django_filters.MultipleChoiceFilter(choices=StudyDesign.choices)
    language = django_filters.MultipleChoiceFilter(choices=[c for c in LANGUAGE_CHOICES if c[0]])
    status = django_filters.ChoiceFilter(choices=Status.choices)
    topic = django_filters.CharFilter(method="filter_topic", label="Topic slug (includes its sub-topics)")
    researcher = IdFilter(method="filter_researcher", label="Researcher id (linked author)")
    institution = IdFilter(method="filter_institution",
                                              label="Institution id (an author affiliated with it or a sub-unit)")
    year = YearFilter()
    venue = IdFilter()
    has_summary = BooleanFilter(method="filter_has_summary")
    retracted = BooleanFilter()
    incomplete = BooleanFilter(method="filter_incomplete",
                               label="Incomplete drafts: studies that lack what a published study needs (a title); "
                                     "they cannot be published until a curator fills the gap (see `gaps`)")
    doi = CommaListFilter(field_name="doi", max_items=50, normalize=clean_doi,
                          label="One DOI or up to 50, comma-separated; resolver prefix optional")
    pmid = CommaListFilter(field_name="pmid", max_items=50, normalize=clean_pmid,
                           label="One PMID or up to 50, comma-separated")

    class Meta:
        model = Study
        fields = []

    def filter_topic(self, qs, name, value):
        roots = list(Topic.objects.filter(slug__in=[v.strip() for v in value.split(",")]).values_list("id", flat=True))
        if not roots:
            return qs.none()
        return qs.with_topics(Topic.descendant_ids(roots))

    def filter_researcher(self, qs, name, value):
        return qs.by_researchers([value])

    def filter_institution(self, qs, name, value):
        return qs.at_institutions(Institution.descendant_ids([value]))

    def filter_has_summary(self, qs, name, value):
        return qs.with_summary(value)

    def filter_incomplete(self, qs, name, value):
        return qs.incomplete(value)
