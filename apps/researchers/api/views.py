from django.db.models import F, Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from apps.common.views import KBModelViewSet
from apps.network.profile import build_profile

from .. import services
from ..filters import InstitutionFilterSet, ResearcherFilterSet
from ..models import Affiliation, Institution, Researcher
from .serializers import InstitutionSerializer, ResearcherProfileSerializer, ResearcherSerializer


class InstitutionViewSet(KBModelViewSet):
    """Universities, health trusts and their units; ``parent`` makes the hierarchy."""

    queryset = Institution.objects.all()
    serializer_class = InstitutionSerializer
    filterset_class = InstitutionFilterSet
    ordering_fields = ["name_nb", "name_en", "short_name", "created_at"]
    ordering = ["name_nb", "id"]
    delete_service = services.delete_institution


class ResearcherViewSet(KBModelViewSet):
    """Researchers in the network and authors of studies. E-mail addresses are shown to curators only.

    The list filters network members by institution (with its sub-units), health region, topic and
    membership date. One researcher (``GET /researchers/{id}/``) is a profile: affiliations (each
    marked ``current``), studies newest first, topics weighted by the studies, co-authors with the
    number of shared studies, the ORCID link and network membership.
    """

    queryset = Researcher.objects.all()
    serializer_class = ResearcherSerializer
    filterset_class = ResearcherFilterSet
    ordering_fields = ["family_name", "given_name", "member_since", "created_at"]
    ordering = ["family_name", "given_name", "id"]
    delete_service = services.delete_researcher

    def visible(self, queryset):
        return queryset.prefetch_related(
            "interests", Prefetch("affiliations", queryset=Affiliation.objects.select_related("institution")
                                  .order_by(F("end_date").desc(nulls_first=True),
                                            F("start_date").desc(nulls_last=True), "id")))

    @extend_schema(responses=ResearcherProfileSerializer)
    def retrieve(self, request, *args, **kwargs):
        researcher = self.get_object()
        context = {**self.get_serializer_context(), "profile": build_profile(researcher, request.user)}
        return Response(ResearcherProfileSerializer(researcher, context=context).data)
