from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.permissions import IsAdmin
from apps.common.roles import is_admin, is_curator
from apps.common.views import KBModelViewSet

from .serializers import MeSerializer, UserSerializer


class UserViewSet(KBModelViewSet):
    """User accounts and roles. Administrators only."""

    queryset = get_user_model().objects.prefetch_related("groups")
    serializer_class = UserSerializer
    permission_classes = [IsAdmin]
    ordering_fields = ["username", "date_joined"]
    ordering = ["username", "id"]
    filterset_fields = ["is_active", "is_superuser"]


class MeView(APIView):
    """Who the API sees: the signed-in user's name and roles."""

    permission_classes = [AllowAny]

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        user = request.user
        return Response(MeSerializer({
            "username": user.get_username() if user.is_authenticated else None,
            "is_authenticated": user.is_authenticated,
            "is_curator": is_curator(user),
            "is_admin": is_admin(user),
        }).data)
