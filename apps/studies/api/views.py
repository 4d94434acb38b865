from django.db.models import Prefetch
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from apps.common.permissions import IsCurator
from apps.common.roles import is_curator
from apps.common.views import KBModelViewSet
from apps.studies import export as study_export
from apps.summaries.models import Summary

from .. import publication, services
from ..filters import StudyFilterSet
from ..models import Authorship, PublicationJob, Study
from .publication import PublicationJobSerializer, PublicationPreviewSerializer, PublicationRequestSerializer
from .rows import study_list_rows
from .serializers import RelatedParamsSerializer, StudyListSerializer, StudySerializer, TopicAssignmentSerializer

PUBLICATION_RESULT = PolymorphicProxySerializer(
    component_name="PublicationResult", serializers=[PublicationJobSerializer, PublicationPreviewSerializer],
    resource_type_field_name=None)
BULK_DOC = """ the studies chosen by ``ids``, ``import_job`` or ``filters`` (those of the study
        list). With ``dry_run``: only the counts. Up to KB_PUBLISH_IN_REQUEST (500) studies are done at once
        (200, the finished job); more become a background job (202, follow its ``url`` for progress).
        Studies that cannot be published are listed in ``refused`` with the reasons."""


def _bulk_view(kind, label):
    """``POST studies/publish/`` or ``studies/unpublish/`` (curators): StudyViewSet._bulk for one kind."""
    def view(self, request):
        return self._bulk(request, kind)

    view.__name__, view.__doc__ = f"{kind}_many", label + BULK_DOC
    view = action(detail=False, methods=["post"], url_path=kind, url_name=f"{kind}-many",
                  permission_classes=[IsCurator])(view)
    return extend_schema(operation_id=f"studies_{kind}_many", request=PublicationRequestSerializer,
                         responses={200: PUBLICATION_RESULT, 202: PublicationJobSerializer})(view)


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
        summaries = Summary.objects.visible_to(user).only("id", "audience", "language", "title", "status").distinct()
        return (queryset.visible_to(user)
                .select_related("venue")
                .prefetch_related(
                    Prefetch("authorships", queryset=Authorship.objects.order_by("position")),
                    "topics",
                    Prefetch("summaries", queryset=summaries, to_attr="visible_summaries"),
                ))

    def get_serializer_class(self):
        return StudyListSerializer if self.action == "list" else StudySerializer

    def list(self, request, *args, **kwargs):
        """A page of studies as ``StudyListSerializer`` renders them, read as rows (apps/studies/api/rows.py):
        the filters, ordering and page choose the ids; one query reads them."""
        queryset = self.filter_queryset(self.get_queryset()).select_related(None).prefetch_related(None).only("id")
        page = self.paginate_queryset(queryset)
        ids = [study.id for study in (queryset if page is None else page)]
        rows = study_list_rows(ids, request.user)
        found = [rows[i] for i in ids if i in rows]
        return Response(found) if page is None else self.get_paginated_response(found)

    @extend_schema(request=None, responses=StudySerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsCurator])
    def publish(self, request, pk=None):
        """Publish a draft study (curators)."""
        study = services.publish_study(request.user, self.get_object())
        return Response(StudySerializer(self.visible(Study.objects.filter(pk=study.pk)).get(),
                                        context=self.get_serializer_context()).data)

    publish_many = _bulk_view(PublicationJob.Action.PUBLISH, "Publish")
    unpublish_many = _bulk_view(PublicationJob.Action.UNPUBLISH, "Unpublish (back to draft)")

    def _bulk(self, request, kind):
        chosen = PublicationRequestSerializer(data=request.data, context=self.get_serializer_context())
        chosen.is_valid(raise_exception=True)
        ids = chosen.validated_data["study_ids"]
        if chosen.validated_data["dry_run"]:
            return Response(PublicationPreviewSerializer(publication.preview(kind, ids)).data)
        job = publication.start(request.user, kind, ids, chosen.selection(), via="api")
        job.refresh_from_db()
        data = PublicationJobSerializer(job, context=self.get_serializer_context()).data
        if publication.in_background(job.total):
            return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})
        return Response(data)

    @extend_schema(responses=StudyListSerializer(many=True), parameters=[RelatedParamsSerializer])
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def related(self, request, pk=None):
        """Studies similar to this one: shared words in title, keywords, topics and abstract, fused with the
        studies nearest in meaning when vectors exist (search/fusion.py). A plain list, not paginated."""
        from search.results import related

        study = self.get_object()
        params = RelatedParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        size = params.validated_data["size"]
        hits = related(study.pk, include_drafts=is_curator(request.user), size=size)
        rows = study_list_rows([h.id for h in hits], request.user)  # StudyListSerializer's output, as rows
        return Response([rows[h.id] for h in hits if h.id in rows])

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


class PublicationJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Bulk publish and unpublish jobs (curators): progress, counts and the studies refused, with why."""

    permission_classes = [IsCurator]
    serializer_class = PublicationJobSerializer
    queryset = PublicationJob.objects.select_related("requested_by")
    filterset_fields = ["status", "action"]
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]
