from rest_framework.routers import SimpleRouter

from .views import PublicationJobViewSet, StudyViewSet

router = SimpleRouter()
router.register("studies", StudyViewSet, basename="study")
router.register("publication-jobs", PublicationJobViewSet, basename="publication-job")
urlpatterns = router.urls
