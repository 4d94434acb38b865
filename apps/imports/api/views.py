from django.conf import settings
from django.db.models import Count, Prefetch, Q
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser
from rest_framework.response import Response

from apps.common.pagination import PAGE_PARAMETERS
from apps.common.parsers import JSONParser, MultiPartParser
from apps.common.permissions import IsCurator
from apps.common.schema import comma_separated_schema
from apps.studies.models import Authorship

from .. import services
from ..models import ImportJob, Outcome, ReviewItem, ReviewStatus
from .serializers import (ImportJobSerializer, file_names, ImportOutcomeSerializer, ImportUploadSerializer, ResolveSerializer,
                          RetrySerializer, ReviewItemSerializer, UndoConflictSerializer)

OUTCOME_PAGE = inline_serializer("PaginatedImportOutcomeList", {
    "count": serializers.IntegerField(), "next": serializers.URLField(allow_null=True),
    "previous": serializers.URLField(allow_null=True), "results": ImportOutcomeSerializer(many=True)})
ACCEPTED = inline_serializer("ImportAccepted", {
    "id": serializers.IntegerField(), "url": serializers.URLField(), "status": serializers.CharField(),
    "detail": serializers.CharField()})


def _conflict(exc: services.ImportRefused):
    return Response({"detail": exc.message, **exc.extra}, status=exc.status)


def _list_param(request, name, choices):
    raw = request.query_params.get(name)
    if not raw:
        return []
    values = [v.strip() for v in raw.split(",") if v.strip()]
    wrong = [v for v in values if v not in choices]
    if wrong:
        raise ValidationError({name: f"Unknown value(s) {', '.join(wrong)}; choose from {', '.join(choices)}."})
    return values


class ImportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """BibTeX import jobs (curators): upload a file, follow its progress, read the per-entry report,
    retry a failed entry with corrected text, undo the import."""

    permission_classes = [IsCurator]
    serializer_class = ImportJobSerializer
    queryset = ImportJob.objects.select_related("uploaded_by").prefetch_related("files").annotate(
        open_reviews=Count("reviews", filter=Q(reviews__status=ReviewStatus.OPEN)),
        incomplete_drafts=ImportJob.incomplete_count())
    filterset_fields = ["status", "dry_run"]
    ordering_fields = ["created_at", "finished_at"]
    ordering = ["-created_at", "-id"]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": ImportUploadSerializer},
                   responses={202: ACCEPTED, 413: OpenApiResponse(OpenApiTypes.OBJECT,
                                                                  description="The file is larger than the limit.")})
    def create(self, request):
        """Upload a BibTeX, RIS or MEDLINE file (or several as one import): answers 202 with the job's URL; a
        worker imports it after commit."""
        limit = settings.KB_MAX_UPLOAD_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        too_big = {"file": [f"The file is larger than the limit of {limit:,} bytes."],
                   "detail": f"The upload is larger than the limit of {limit:,} bytes.", "code": "too_large"}
        if length > limit + 256 * 1024:  # refuse before reading the body (the form adds a little)
            return Response(too_big, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        upload = ImportUploadSerializer(data=request.data)
        if not upload.is_valid():
            files = request.data.getlist("file") if hasattr(request.data, "getlist") else []
            if sum(getattr(f, "size", 0) for f in files) > limit:
                return Response(too_big, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
            raise ValidationError(upload.errors)
        data = upload.validated_data
        job = services.create_job(request.user, data["file"], file_name=[f.name for f in data["file"]],
                                  policy=data["policy"], dry_run=data["dry_run"], format=data.get("format") or None)
        url = self.get_serializer(job).data["url"]
        return Response({"id": job.pk, "url": url, "status": job.status,
                         "detail": "Queued: follow the job's URL for progress and the report."},
                        status=status.HTTP_202_ACCEPTED, headers={"Location": url})

    @extend_schema(responses=OUTCOME_PAGE, parameters=[
        OpenApiParameter("outcome", comma_separated_schema({"type": "string", "enum": Outcome.values}, len(Outcome.values)),
                         description="Only these outcomes, comma-separated."), *PAGE_PARAMETERS])
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def outcomes(self, request, pk=None):
        """The report: what became of every raw entry of the file, in file order (paginated)."""
        from apps.common.pagination import PageNumberPagination

        job = self.get_object()
        qs = job.outcomes.order_by("index")
        kinds = _list_param(request, "outcome", Outcome.values)
        if kinds:
            qs = qs.filter(outcome__in=kinds)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        names = {"file_names": file_names(job)}
        return paginator.get_paginated_response(ImportOutcomeSerializer(page, many=True, context=names).data)

    @extend_schema(request=RetrySerializer, responses={200: ImportOutcomeSerializer, 409: UndoConflictSerializer})
    @action(detail=True, methods=["post"], url_path=r"outcomes/(?P<index>[0-9]{1,9})/retry")
    def retry(self, request, pk=None, index=None):
        """Import corrected text for one failed entry (with the job's options); returns its new outcome."""
        job = self.get_object()
        outcome = get_object_or_404(job.outcomes, index=int(index))
        serializer = RetrySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            outcome = services.retry_outcome(request.user, outcome, serializer.validated_data["text"])
        except services.ImportRefused as exc:
            return _conflict(exc)
        return Response(ImportOutcomeSerializer(outcome).data)

    @extend_schema(request=None, responses={200: ImportJobSerializer, 409: UndoConflictSerializer})
    @action(detail=True, methods=["post"])
    def undo(self, request, pk=None):
        """Remove the studies the job created and restore what it changed. 409 (listing them) when any of
        those studies was edited since."""
        job = self.get_object()
        try:
            services.undo_job(request.user, job)
        except services.ImportRefused as exc:
            return _conflict(exc)
        return Response(self.get_serializer(self.get_queryset().get(pk=job.pk)).data)

    @extend_schema(request=None, responses={202: ImportJobSerializer, 409: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Run an interrupted (queued, running or failed) job again: it resumes after its last recorded entry."""
        job = self.get_object()
        try:
            services.resume_job(request.user, job)
        except services.ImportRefused as exc:
            return _conflict(exc)
        return Response(self.get_serializer(job).data, status=status.HTTP_202_ACCEPTED)


class ReviewItemViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The review queue (curators): uncertain duplicate matches held back from imports."""

    permission_classes = [IsCurator]
    serializer_class = ReviewItemSerializer
    queryset = ReviewItem.objects.select_related("outcome", "resolved_by", "candidate").prefetch_related(
        Prefetch("candidate__authorships", queryset=Authorship.objects.order_by("position")))
    filterset_fields = ["status", "job"]
    ordering_fields = ["created_at", "score"]
    ordering = ["-created_at", "-id"]

    @extend_schema(request=ResolveSerializer, responses={200: ReviewItemSerializer, 409: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        """``merge``: the entry is the same work as the candidate; ``create``: different works."""
        item = self.get_object()
        serializer = ResolveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.resolve_review(request.user, item, serializer.validated_data["decision"])
        except services.ImportRefused as exc:
            return _conflict(exc)
        return Response(self.get_serializer(self.get_queryset().get(pk=item.pk)).data)

