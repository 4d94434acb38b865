from rest_framework import viewsets

from apps.common.permissions import IsCurator

from ..filters import AuditEntryFilterSet
from ..models import AuditEntry
from .serializers import AuditEntrySerializer


class AuditEntryViewSet(viewsets.ReadOnlyModelViewSet):
    """Who changed which study, summary or researcher, when, and each field from what to what (curators).

    Filter by ``object_type`` and ``object_id`` (one object's history), ``user``, ``action`` and a
    time window (``since``/``until``: dates or ISO 8601 date-times). Newest first.
    """

    queryset = AuditEntry.objects.all()
    serializer_class = AuditEntrySerializer
    filterset_class = AuditEntryFilterSet
    permission_classes = [IsCurator]
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]
