"""Every API error is JSON: validation errors name each field; others carry a ``detail``."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .identifiers import CHECKSUM


class Conflict(exceptions.APIException):
    """409: the request is well formed but the resource's current state does not allow it."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The change conflicts with the current state of the resource."
    default_code = "conflict"


#: Validation errors that are not about the request's form but about what exists: a value another row
#: already holds (409, like a state conflict), or a reference to a row that does not exist (404, as
#: JSON:API asks). The body still names each field.
CONFLICT_CODES = {"unique", "conflict"}
MISSING_CODES = {"does_not_exist"}
#: A value of the shape the schema states whose content is still wrong in a way no schema can state (an
#: identifier's check digit; a search's parameters inside a body, which are another operation's rules): 422,
#: the status schemathesis is told to expect for it (schemathesis.toml).
UNPROCESSABLE = "unprocessable"
UNPROCESSABLE_CODES = {CHECKSUM, UNPROCESSABLE}


def unprocessable(errors):
    """``errors`` (a ``ValidationError``'s detail: messages by field) as a 422's ``ValidationError``."""
    def plain(detail):
        if isinstance(detail, dict):
            return {key: plain(value) for key, value in detail.items()}
        if isinstance(detail, (list, tuple)):
            return [plain(value) for value in detail]
        return str(detail)

    return exceptions.ValidationError(plain(errors), code=UNPROCESSABLE)


def _leaf_codes(codes):
    if isinstance(codes, dict):
        return {c for value in codes.values() for c in _leaf_codes(value)}
    if isinstance(codes, (list, tuple)):
        return {c for value in codes for c in _leaf_codes(value)}
    return {codes}


def _validation_status(exc):
    codes = _leaf_codes(exc.get_codes())
    if codes and codes <= CONFLICT_CODES | MISSING_CODES | UNPROCESSABLE_CODES:
        if codes & MISSING_CODES:
            return status.HTTP_404_NOT_FOUND
        return status.HTTP_409_CONFLICT if codes & CONFLICT_CODES else status.HTTP_422_UNPROCESSABLE_ENTITY
    return status.HTTP_400_BAD_REQUEST


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    from search.backends.base import SearchUnavailable

    if isinstance(exc, SearchUnavailable):
        return Response({"detail": "Search is unavailable at the moment; please try again shortly.",
                         "code": "search_unavailable"}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        response.status_code = _validation_status(exc)
    if response is None and isinstance(exc, IntegrityError):
        # A race past validation (e.g. two clients creating the same DOI at once).
        return Response({"detail": "The change conflicts with existing data.", "code": "conflict"},
                        status=status.HTTP_409_CONFLICT)
    return response
