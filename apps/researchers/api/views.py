from django.db.models import Prefetch

from apps.common.views import KBModelViewSet

from .. import services
from ..filters import InstitutionFilterSet, ResearcherFilterSet
from ..models import Affiliation, Institution, Researcher
from .serializers import InstitutionSerializer, ResearcherSerializer


class InstitutionViewSet(KBModelViewSet):
    """Universities, health trusts and their units; ``parent`` makes the hierarchy."""

    queryset = Institution.objects.all()
    serializer_class = InstitutionSerializer
    filterset_class = InstitutionFilterSet
    ordering_fields = ["name_nb", "name_en", "short_name", "created_at"]
    ordering = ["name_nb", "id"]
    delete_service = services.delete_institution


class ResearcherViewSet(KBModelViewSet):
    """Researchers in the network and authors of studies. E-mail addresses are shown to curators only."""

    queryset = Researcher.objects.all()
    serializer_class = ResearcherSerializer
    filterset_class = ResearcherFilterSet
    ordering_fields = ["family_name", "given_name", "member_since", "created_at"]
    ordering = ["family_name", "given_name", "id"]
    delete_service = services.delete_researcher

    def visible(self, queryset):
        return queryset.prefetch_related(
            "interests", Prefetch("affiliations", queryset=Affiliation.objects.select_related("institution")))
