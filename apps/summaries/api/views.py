from apps.common.views import KBModelViewSet

from .. import services
from ..filters import SummaryFilterSet
from ..models import Summary
from .serializers import SummarySerializer


class SummaryViewSet(KBModelViewSet):
    """Plain-language summaries for practitioners, users and relatives, or researchers.

    Anonymous readers see published summaries of published studies only.
    """

    queryset = Summary.objects.all()
    serializer_class = SummarySerializer
    filterset_class = SummaryFilterSet
    ordering_fields = ["published_at", "created_at", "title"]
    ordering = ["-published_at", "-created_at", "id"]
    delete_service = services.delete_summary

    def visible(self, queryset):
        return (queryset.visible_to(self.request.user).distinct()
                .select_related("author", "reviewer").prefetch_related("studies"))
