"""A strict Content-Security-Policy on every response.

kb serves every script, style sheet, font and image itself (no CDN; the API docs use the sidecar's Swagger
UI), and its pages have no inline script, inline style or ``javascript:`` URL, so the policy allows only
``'self'``: an injected ``<script>`` or ``onerror=`` would not run even if escaping ever failed. Images may
also be ``data:`` URIs (Swagger UI's icons). A view that needs another policy sets the header itself.
"""

from django.conf import settings

DEFAULT_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def header_value(policy):
    return "; ".join(f"{directive} {' '.join(sources)}" for directive, sources in policy.items())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.value = header_value(getattr(settings, "KB_CONTENT_SECURITY_POLICY", DEFAULT_POLICY))

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.value)
        return response
