"""Brute-force protection of sign-in: django-axes counts failed attempts per user name and client address
(``AXES_LOCKOUT_PARAMETERS``) and, after ``KB_LOGIN_FAILURE_LIMIT`` of them, refuses that pair for
``KB_LOGIN_LOCKOUT_MINUTES`` with a 429, even with the right password.

The API token endpoint answers a JSON 429 (apps.accounts.api.token); the web sign-in page and the admin's
answer their page again with the message and status 429 (this module's ``lockout_response``, which axes
calls). An administrator unlocks at once in the admin (Axes > Access attempts: delete the user's rows) or
with ``manage.py axes_reset_username NAME``.
"""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def lockout_message():
    minutes = settings.KB_LOGIN_LOCKOUT_MINUTES
    return _("Too many failed sign-in attempts for this user name from this address. Try again in %(minutes)s "
             "minutes, or ask an administrator to unlock the account.") % {"minutes": minutes}


def lockout_response(request, original_response=None, credentials=None):
    """What a locked-out sign-in gets: JSON under /api/, the sign-in page with the message elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": lockout_message(), "code": "locked_out"}, status=429,
                            headers={"Retry-After": str(settings.KB_LOGIN_LOCKOUT_MINUTES * 60)})
    return render(request, "web/login.html", {"locked_out": lockout_message()}, status=429)
