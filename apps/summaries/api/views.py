from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.common.permissions import IsCurator
from apps.common.views import KBModelViewSet

from .. import services
from ..filters import SummaryFilterSet
from ..models import Summary
from .serializers import SummarySerializer, SummaryVersionSerializer, WorkflowErrorSerializer


def _transition_schema(summary_text):
    return extend_schema(
        request=None, description=summary_text,
        responses={200: SummarySerializer,
                   409: OpenApiResponse(WorkflowErrorSerializer, description="Not allowed in the current status."),
                   403: OpenApiResponse(WorkflowErrorSerializer,
                                        description="Not a curator (or, to approve: the summary's author).")})


class SummaryViewSet(KBModelViewSet):
    """Plain-language summaries for practitioners, users and relatives, or researchers.

    Anonymous readers see published summaries of published studies only. Curators write; the status
    changes through the workflow actions (submit, approve, reject, archive), never by an edit.
    ``?needs_review=true`` lists summaries whose study changed materially (a curator's work list).
    """

    queryset = Summary.objects.all()
    serializer_class = SummarySerializer
    filterset_class = SummaryFilterSet
    ordering_fields = ["published_at", "created_at", "title", "readability_lix", "last_checked",
                       "needs_review_since"]
    ordering = ["-published_at", "-created_at", "id"]
    delete_service = services.delete_summary

    def visible(self, queryset):
        return (queryset.visible_to(self.request.user).distinct()
                .select_related("author", "reviewer").prefetch_related("studies"))

    def _run(self, service, **kwargs):
        summary = self.get_object()
        try:
            service(self.request.user, summary, **kwargs)
        except services.WorkflowError as exc:
            return Response({"detail": exc.message, "code": exc.code}, status=exc.status)
        fresh = self.visible(Summary.objects.filter(pk=summary.pk)).get()
        return Response(SummarySerializer(fresh, context=self.get_serializer_context()).data)

    @_transition_schema("Send a draft for review.")
    @action(detail=True, methods=["post"], permission_classes=[IsCurator])
    def submit(self, request, pk=None):
        return self._run(services.submit_summary)

    @_transition_schema("Publish a summary in review. The approving curator becomes the reviewer and must not "
                        "be the author (403 otherwise). Creates version 1 (or the next version).")
    @action(detail=True, methods=["post"], permission_classes=[IsCurator])
    def approve(self, request, pk=None):
        return self._run(services.approve_summary)

    @_transition_schema("Send a summary in review back to draft.")
    @action(detail=True, methods=["post"], permission_classes=[IsCurator])
    def reject(self, request, pk=None):
        return self._run(services.reject_summary)

    @_transition_schema("Withdraw a summary from readers; its versions are kept.")
    @action(detail=True, methods=["post"], permission_classes=[IsCurator])
    def archive(self, request, pk=None):
        return self._run(services.archive_summary)

    @_transition_schema("Record that a curator checked the summary against its studies today: sets "
                        "``last_checked`` and clears ``needs_review``.")
    @action(detail=True, methods=["post"], permission_classes=[IsCurator])
    def checked(self, request, pk=None):
        return self._run(services.mark_checked)

    @extend_schema(responses=SummaryVersionSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def versions(self, request, pk=None):
        """Every published version of the summary, newest first; ``current`` marks the one shown now."""
        summary = self.get_object()
        versions = summary.versions.select_related("created_by", "reviewer").order_by("-number")
        context = {**self.get_serializer_context(), "current_version": summary.version}
        return Response(SummaryVersionSerializer(versions, many=True, context=context).data,
                        status=status.HTTP_200_OK)
