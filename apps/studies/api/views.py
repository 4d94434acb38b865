from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from apps.common.permissions import IsCurator
from apps.common.roles import is_curator
from apps.common.views import KBModelViewSet
from apps.imports import export as study_export
from apps.summaries.models import Summary

from .. import services
from ..filters import StudyFilterSet
from ..models import Authorship, Study
from .serializers import RelatedParamsSerializer, StudyListSerializer, StudySerializer, TopicAssignmentSerializer


class StudyViewSet(KBModelViewSet):
    """Studies: publications with their bibliographic metadata, authors, topics and summaries.

    Anonymous readers see published studies only; drafts answer 404. Curators see and change all.
    """

    queryset = Study.objects.all()
    serializer_class = StudySerializer
    filterset_class = StudyFilterSet
    ordering_fields = ["year", "title", "created_at", "updated_at"]
    ordering = ["-year", "title", "id"]
    delete_service = services.delete_study
    uses_search_engine = True  # related/

    def visible(self, queryset):
        user = self.request.user
        summaries = Summary.objects.visible_to(user).only("id", "audience", "language", "title").distinct()
        return (queryset.visible_to(user)
                .select_related("venue")
                .prefetch_related(
                    Prefetch("authorships", queryset=Authorship.objects.order_by("position")),
                    "topics",
                    Prefetch("summaries", queryset=summaries, to_attr="visible_summaries"),
                ))

    def get_serializer_class(self):
        return StudyListSerializer if self.action == "list" else StudySerializer

    @extend_schema(request=None, responses=StudySerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsCurator])
    def publish(self, request, pk=None):
        """Publish a draft study (curators)."""
        study = services.publish_study(request.user, self.get_object())
        return Response(StudySerializer(self.visible(Study.objects.filter(pk=study.pk)).get(),
                                        context=self.get_serializer_context()).data)

    @extend_schema(responses=StudyListSerializer(many=True), parameters=[RelatedParamsSerializer])
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def related(self, request, pk=None):
        """Studies similar to this one: shared words in title, keywords, topics and abstract, fused with the
        studies nearest in meaning when vectors exist (search/fusion.py). A plain list, not paginated."""
        from search.backends import get_backend
        from search.results import hydrate

        study = self.get_object()
        params = RelatedParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        size = params.validated_data["size"]
        hits = get_backend().related(study.pk, include_drafts=is_curator(request.user), size=size)
        objects = hydrate("studies", hits, request.user)
        return Response(StudyListSerializer(objects, many=True, context=self.get_serializer_context()).data)

    @extend_schema(request=TopicAssignmentSerializer, responses={200: TopicAssignmentSerializer})
    @action(detail=False, methods=["post"], url_path="assign-topics", permission_classes=[IsCurator])
    def assign_topics(self, request):
        """Add topics to many studies at once (or replace their topics with ``replace``)."""
        serializer = TopicAssignmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.assign_topics(request.user, data["studies"], data["topics"], replace=data["replace"])
        return Response(TopicAssignmentSerializer(data).data, status=status.HTTP_200_OK)

    @extend_schema(operation_id="studies_export", **study_export.schema(detail=False))
    @action(detail=False, methods=["get"], url_path="export", renderer_classes=[JSONRenderer],
            content_negotiation_class=study_export.ExportNegotiation, pagination_class=None)
    def export(self, request):
        """Export the studies the list shows (same filters, plus ``q``) as BibTeX, RIS or CSL-JSON, streamed."""
        queryset = self.filter_queryset(Study.objects.visible_to(request.user))
        return study_export.export_response(request, queryset)

    @extend_schema(operation_id="studies_export_one", **study_export.schema(detail=True))
    @action(detail=True, methods=["get"], url_path="export", url_name="export-one", renderer_classes=[JSONRenderer],
            content_negotiation_class=study_export.ExportNegotiation)
    def export_one(self, request, pk=None):
        """Export one study as BibTeX, RIS or CSL-JSON."""
        study = self.get_object()
        return study_export.export_response(request, Study.objects.visible_to(request.user),
                                            filename=f"study-{study.pk}", ids=[study.pk])
