from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.roles import is_curator

from ..evidence_map import evidence_map
from ..experts import find_experts
from ..graph import NetworkQuery, build_network
from .serializers import (
    EvidenceMapParamsSerializer, EvidenceMapSerializer, ExpertParamsSerializer, ExpertsSerializer,
    NetworkParamsSerializer, NetworkSerializer,
)

BAD_PARAMS = OpenApiResponse(description="A parameter is invalid: the body names it.")


def _params(serializer_class, request):
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class NetworkView(APIView):
    """The co-authorship network as a graph for d3-force: ``nodes`` (researchers, optionally institutions)
    with degree and a centrality measure, and ``links`` with the number of shared studies and their
    first and last year. Filter by topic, institution, years and membership. Published studies only
    (curators may add ``include_drafts``)."""

    @extend_schema(parameters=[NetworkParamsSerializer], responses={200: NetworkSerializer, 400: BAD_PARAMS})
    def get(self, request):
        data = _params(NetworkParamsSerializer, request)
        query = NetworkQuery(
            topic_slugs=data.get("topic") or [], institution_ids=data.get("institution") or [],
            year_from=data.get("year_from"), year_to=data.get("year_to"), members_only=data["members_only"],
            include_institutions=data["include_institutions"], min_weight=data["min_weight"],
            centrality=data["centrality"], include_drafts=data["include_drafts"] and is_curator(request.user))
        return Response(build_network(query))


class ExpertView(APIView):
    """Researchers ranked by how relevant their studies are to the query, each with the best-matching
    studies as evidence. Takes the search API's query syntax and filters; works on either search backend.
    Without words in ``q``, every study the filters select counts alike (the newest 200): the researchers with
    most of them, e.g. the most published on a topic."""

    @extend_schema(parameters=[ExpertParamsSerializer], responses={200: ExpertsSerializer, 400: BAD_PARAMS})
    def get(self, request):
        data = _params(ExpertParamsSerializer, request)
        return Response(find_experts(data, request.user, limit=data["limit"], evidence=data["evidence"],
                                     members_only=data["members_only"]))


class EvidenceMapView(APIView):
    """Counts of studies per cell of two axes (topic, design, year, type, language) for the search API's
    query and filters; each cell links to the search that lists its studies. Empty cells show where
    evidence is missing."""

    @extend_schema(parameters=[EvidenceMapParamsSerializer], responses={200: EvidenceMapSerializer, 400: BAD_PARAMS})
    def get(self, request):
        data = _params(EvidenceMapParamsSerializer, request)
        return Response(evidence_map(data, request.user, request.query_params, rows=data["rows"],
                                     cols=data.get("cols"), year_step=data["year_step"]))
