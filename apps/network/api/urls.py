from django.urls import path

from .views import EvidenceMapView, ExpertView, NetworkView

urlpatterns = [
    path("network/", NetworkView.as_view(), name="network"),
    path("experts/", ExpertView.as_view(), name="experts"),
    path("evidence-map/", EvidenceMapView.as_view(), name="evidence-map"),
]
