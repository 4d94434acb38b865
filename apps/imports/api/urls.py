from rest_framework.routers import SimpleRouter

from .views import ImportJobViewSet, ReviewItemViewSet

router = SimpleRouter()
router.register("imports", ImportJobViewSet, basename="import-job")
router.register("import-reviews", ReviewItemViewSet, basename="import-review")
urlpatterns = router.urls
