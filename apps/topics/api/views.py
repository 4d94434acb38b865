import django_filters
from django.db.models import ProtectedError

from apps.common.exceptions import Conflict
from apps.common.filters import BooleanFilter
from apps.common.views import KBModelViewSet

from ..models import Topic
from .serializers import TopicSerializer


class TopicFilterSet(django_filters.FilterSet):
    parent = django_filters.CharFilter(field_name="parent__slug", label="Parent slug")
    root = BooleanFilter(field_name="parent", lookup_expr="isnull", label="Top-level topics only")

    class Meta:
        model = Topic
        fields = []


class TopicViewSet(KBModelViewSet):
    """The bilingual ROP topic vocabulary, addressed by slug."""

    queryset = Topic.objects.select_related("parent")
    serializer_class = TopicSerializer
    filterset_class = TopicFilterSet
    lookup_field = "slug"
    ordering_fields = ["sort_order", "label_en", "label_nb", "slug"]
    ordering = ["sort_order", "label_en", "id"]
    pagination_class = None

    def perform_destroy(self, instance):
        try:
            instance.delete()
        except ProtectedError:
            raise Conflict({"parent": ["This topic has sub-topics; move or delete them first."]})
