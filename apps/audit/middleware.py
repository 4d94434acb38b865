from .context import for_request


class AuditContextMiddleware:
    """Make the request's user the actor of every audited change made while answering it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with for_request(request, via="admin" if request.path.startswith("/admin/") else "api"):
            return self.get_response(request)
