"""An API answer lets go of its view once it is rendered, so it is freed when the request ends.

DRF leaves every answer in reference cycles: the view keeps the response (``view.response``), and the
response's renderer context keeps the view and the response itself (``renderer_context["response"]``). The
answer's data (a search page: some 300 dicts and lists) then outlives the request until Python's cyclic
collector finds it; it was most of what the collector scanned and freed while serving searches, and the
collections that did it landed inside later requests. Reference counting frees it at once when these links
are gone (tests/common/test_release.py).
"""

from __future__ import annotations


class ReleaseRenderedAnswerMiddleware:
    """Drop the links from a rendered DRF answer to its view and renderer context (both used only while
    rendering)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        context = getattr(response, "renderer_context", None)
        if context is not None and getattr(response, "is_rendered", False):
            view = context.get("view")
            if getattr(view, "response", None) is response:
                view.response = None
            response.renderer_context = None
        return response
