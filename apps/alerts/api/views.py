from urllib.parse import urlencode

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from search.selection import StudySelectionParams

from .. import services
from ..feeds import render_feed
from ..models import SavedSearch
from .serializers import SavedSearchSerializer

ATOM = "application/atom+xml"


class AtomRenderer(BaseRenderer):
    """Feeds are rendered by the view; this renderer only lets clients that accept Atom alone negotiate."""

    media_type = ATOM
    format = "atom"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes) else JSONRenderer().render(data)


class FeedView(APIView):
    renderer_classes = [AtomRenderer, JSONRenderer]
    permission_classes = [AllowAny]

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response):  # errors are JSON, whatever the client asked for
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)

    @staticmethod
    def atom(body):
        return HttpResponse(body, content_type=f"{ATOM}; charset=utf-8")


class FeedParams(StudySelectionParams):
    limit = serializers.IntegerField(default=services.FEED_SIZE, min_value=1, max_value=100,
                                     help_text="How many studies (newest in kb first).")


ATOM_OK = OpenApiResponse(OpenApiTypes.STR, description="An Atom feed (RFC 4287).")


class SearchFeedView(FeedView):
    """An Atom feed of the newest published studies any search selects (the search API's q and filters),
    each with its published plain-language summaries. Subscribe to it in a feed reader."""

    @extend_schema(parameters=[FeedParams], responses={(200, ATOM): ATOM_OK,
                                                       400: OpenApiResponse(description="An invalid parameter.")})
    def get(self, request):
        serializer = FeedParams(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        q = data.get("q") or ""
        studies = services.newest_studies(data, request.user, limit=data["limit"])
        title = f"kb: studies matching “{q}”" if q.strip() else "kb: newest studies"
        alternate = f"/api/v1/search/?{request.GET.urlencode()}"
        return self.atom(render_feed(request, title, "Newest studies in the ROP knowledge base", alternate, studies))


class SavedSearchFeedView(FeedView):
    """The Atom feed of one saved search: for its owner (signed in), or anyone with the ``key`` from its
    ``feed_url``. Published studies only."""

    @extend_schema(
        parameters=[OpenApiParameter("key", str, description="The secret from the saved search's feed_url.")],
        responses={(200, ATOM): ATOM_OK, 401: OpenApiResponse(description="Sign in or give the key."),
                   404: OpenApiResponse(description="No such saved search (or not yours, or a wrong key).")})
    def get(self, request, pk):
        key = request.query_params.get("key")
        saved = SavedSearch.objects.filter(pk=pk).first()
        if key:
            if saved is None or saved.feed_key != key:
                raise Http404
        elif not request.user.is_authenticated:
            raise NotAuthenticated("Sign in, or use the feed_url (with its key) of the saved search.")
        elif saved is None or saved.user_id != request.user.pk:
            raise Http404
        data = services.validate(saved.params)
        studies = services.newest_studies(data, saved.user)
        alternate = f"/api/v1/search/?{urlencode(saved.params)}"
        return self.atom(render_feed(request, f"kb: {saved.name}", "A saved search in the ROP knowledge base",
                                     alternate, studies))


class SavedSearchViewSet(mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin,
                         mixins.DestroyModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """A signed-in user's saved searches (each user sees only their own), with the number of studies new
    since the last visit and a private Atom feed."""

    queryset = SavedSearch.objects.none()
    serializer_class = SavedSearchSerializer
    permission_classes = [IsAuthenticated]
    filterset_class = None
    ordering_fields = ["created_at", "name", "last_seen_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SavedSearch.objects.none()
        return SavedSearch.objects.filter(user=self.request.user)

    def perform_destroy(self, instance):
        services.delete_search(self.request.user, instance)

    @extend_schema(request=None, responses=SavedSearchSerializer)
    @action(detail=True, methods=["post"])
    def seen(self, request, pk=None):
        """Mark the saved search as visited now: ``new_since_last_visit`` counts from here."""
        saved = services.mark_seen(request.user, self.get_object())
        return Response(self.get_serializer(saved).data)
