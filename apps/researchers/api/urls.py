from rest_framework.routers import SimpleRouter

from .views import InstitutionViewSet, ResearcherViewSet

router = SimpleRouter()
router.register("researchers", ResearcherViewSet, basename="researcher")
router.register("institutions", InstitutionViewSet, basename="institution")
urlpatterns = router.urls
