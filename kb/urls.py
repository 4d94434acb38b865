from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import APIRootView

from apps.accounts.api.token import TokenView

from apps.common.health import health
from apps.common.views import api_not_found

api_v1 = [
    path("", include("search.api.urls")),  # first: the most requested, resolved before every other pattern is tried
    path("", include("apps.studies.api.urls")),
    path("", include("apps.researchers.api.urls")),
    path("", include("apps.summaries.api.urls")),
    path("", include("apps.topics.api.urls")),
    path("", include("apps.accounts.api.urls")),
    path("", include("apps.imports.api.urls")),
    path("", include("apps.network.api.urls")),
    path("", include("apps.alerts.api.urls")),
    path("", include("apps.audit.api.urls")),
    path("auth/token/", TokenView.as_view(), name="api-token"),
]

#: What ``GET /api/v1/`` lists (DRF's browsable API root): resource -> the URL name of its entry point.
#: tests/api/test_api_root.py checks that every route registered above is listed.
API_RESOURCES = {
    "studies": "study-list", "publication-jobs": "publication-job-list", "search": "search", "search/suggest": "search-suggest",
    "researchers": "researcher-list", "institutions": "institution-list", "summaries": "summary-list",
    "topics": "topic-list", "network": "network", "experts": "experts", "evidence-map": "evidence-map",
    "saved-searches": "saved-search-list", "search/feed.atom": "search-feed",
    "imports": "import-job-list", "import-reviews": "import-review-list", "audit-log": "audit-entry-list",
    "users": "user-list", "me": "me", "auth/token": "api-token",
}
api_v1.insert(0, path("", APIRootView.as_view(api_root_dict=API_RESOURCES), name="api-root"))

urlpatterns = [
    path("health/", health, name="health"),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "v1"), namespace="v1")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start script as a file, so the docs page runs under the strict CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="kb/api_docs.html"),
         name="api-docs"),
    re_path(r"^api/(?P<path>[\s\S]*)\Z", api_not_found),  # after every API route: any other /api/ URL is a JSON 404
    path("api-auth/", include("rest_framework.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    # The web interface last: it owns "/" and must not shadow any route above.
    path("", include("apps.web.urls")),
]

handler404 = "apps.common.views.not_found"
handler500 = "apps.common.views.server_error"
