from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import SavedSearchFeedView, SavedSearchViewSet, SearchFeedView

router = SimpleRouter()
router.register("saved-searches", SavedSearchViewSet, basename="saved-search")
urlpatterns = [
    path("search/feed.atom", SearchFeedView.as_view(), name="search-feed"),
    path("saved-searches/<int:pk>/feed.atom", SavedSearchFeedView.as_view(), name="saved-search-feed"),
    *router.urls,
]
