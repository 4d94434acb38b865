from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response

from ..lockout import lockout_response

ERROR = inline_serializer("AuthError", {"detail": serializers.CharField(),
                                       "code": serializers.CharField(required=False)})


class TokenView(ObtainAuthToken):
    """Exchange a username and password for an API token (send it as ``Authorization: Token <key>``).

    Wrong credentials answer 401. After several failed attempts for one user name from one address, that
    pair is locked out for a while (429, even with the right password); an administrator can unlock it.
    """

    throttle_classes = []  # the lock-out below is the protection, per user name and address

    @extend_schema(
        operation_id="auth_token_create",
        responses={
            200: inline_serializer("Token", {"token": serializers.CharField()}),
            400: OpenApiResponse(description="username or password missing; the body names the field."),
            401: OpenApiResponse(ERROR, description="Wrong username or password."),
            429: OpenApiResponse(ERROR, description="Locked out after too many failed attempts; retry later."),
        },
    )
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except exceptions.ValidationError:
            if getattr(request, "axes_locked_out", False):  # set by django-axes' authentication backend
                return lockout_response(request)
            if "non_field_errors" in serializer.errors:  # both given, and wrong
                raise exceptions.AuthenticationFailed("Unable to sign in with the given username and password.")
            raise
        user = serializer.validated_data["user"]
        # A sign-in like the web's: django-axes clears the failed attempts, Django records last_login.
        user_logged_in.send(sender=type(user), request=request._request, user=user)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
