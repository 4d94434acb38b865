"""The language of the web pages: the visitor's choice (cookie), else their browser's
(Accept-Language), else Norwegian Bokmål. The API and the admin keep Django's rule (LANGUAGE_CODE)."""

from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation.trans_real import parse_accept_lang_header

#: Languages a Norwegian browser may ask for that the interface answers in Bokmål.
NORWEGIAN = {"no", "nn", "nb", "no-no", "nn-no", "nb-no"}
NOT_WEB = ("/api/", "/admin/", "/api-auth/", "/health/", "/static/")


def web_language(request):
    supported = {code for code, _ in settings.LANGUAGES}
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if chosen in supported:
        return chosen
    for code, _ in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        code = code.lower()
        if code == "*":
            break
        if code in NORWEGIAN:
            return "nb"
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return getattr(settings, "KB_WEB_DEFAULT_LANGUAGE", "nb")


class WebLanguageMiddleware:
    """Runs after ``LocaleMiddleware`` and, for the web pages only, replaces its fallback."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(NOT_WEB):
            language = web_language(request)
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if not request.path.startswith(NOT_WEB):
            response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
            patch_vary_headers(response, ("Cookie", "Accept-Language"))
        return response
