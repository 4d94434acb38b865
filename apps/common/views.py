from django.db import connection
from django.views.decorators.csrf import csrf_exempt
from rest_framework import viewsets


class KBModelViewSet(viewsets.ModelViewSet):
    """Shared behaviour of kb's viewsets: what a user may see, and writes through services.

    Subclasses set ``queryset``/``serializer_class``/``filterset_class`` and may define
    ``visible(queryset)`` to hide unpublished rows from readers who are not curators, and
    ``delete_service`` to route deletes through the app's service layer.
    """

    delete_service = None

    def visible(self, queryset):
        return queryset

    def get_queryset(self):
        return self.visible(super().get_queryset())

    def perform_destroy(self, instance):
        if self.delete_service is not None:
            type(self).delete_service(self.request.user, instance)
        else:
            instance.delete()


def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"status": "ok", "vendor": connection.vendor}


@csrf_exempt  # a 404 must not turn into a CSRF 403 (an HTML page) for a client that sends a session cookie
def api_not_found(request, path=""):
    """Every /api/ URL that no API route matches: a JSON 404, also under DEBUG (where Django would answer
    with its HTML debug page). A URL that only lacks its trailing slash says so."""
    from django.http import HttpResponsePermanentRedirect, JsonResponse
    from django.urls import Resolver404, resolve

    if not request.path_info.endswith("/"):
        try:
            match = resolve(request.path_info + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found:
            if request.method in ("GET", "HEAD"):
                return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
            return JsonResponse({"detail": f"Not found: the URL ends with a slash ({request.path}/).",
                                 "code": "not_found"}, status=404)
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)


def not_found(request, exception=None):
    """404 for URLs no route matches: JSON under /api/, Django's page elsewhere."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return page_not_found(request, exception)


def server_error(request):
    from django.http import JsonResponse
    from django.views.defaults import server_error as default_server_error

    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Internal server error.", "code": "server_error"}, status=500)
    return default_server_error(request)
