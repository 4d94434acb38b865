"""Every API error is JSON: validation errors name each field; others carry a ``detail``."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    from search.backends.base import SearchUnavailable

    if isinstance(exc, SearchUnavailable):
        return Response({"detail": "Search is unavailable at the moment; please try again shortly.",
                         "code": "search_unavailable"}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
    response = drf_exception_handler(exc, context)
    if response is None and isinstance(exc, IntegrityError):
        # A race past validation (e.g. two clients creating the same DOI at once).
        return Response({"detail": "The change conflicts with existing data.", "code": "conflict"},
                        status=status.HTTP_409_CONFLICT)
    return response
