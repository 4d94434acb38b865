from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import MeView, UserViewSet

router = SimpleRouter()
router.register("users", UserViewSet, basename="user")
urlpatterns = router.urls + [path("me/", MeView.as_view(), name="me")]
