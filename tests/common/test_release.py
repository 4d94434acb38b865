"""apps/common/release.py: an API answer is freed when its request ends, without the cyclic collector."""

import gc
import io
import weakref

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]


def _get(path, query=""):
    """A GET through Django's WSGI handler, as a WSGI server calls it: the answer, its status, its body.
    The test's database connection stays open (as Django's test client keeps it)."""
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "testserver",
               "SERVER_PORT": "80", "HTTP_HOST": "testserver", "wsgi.url_scheme": "http",
               "wsgi.input": io.BytesIO(b""), "wsgi.errors": io.StringIO()}
    status = []
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = WSGIHandler()(environ, lambda s, headers, exc_info=None: status.append(s))
        body = b"".join(response)
        response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return response, status[0], body


@pytest.mark.parametrize("path", ["/api/v1/studies/", "/api/v1/search/", "/api/v1/topics/"])
def test_an_answer_is_freed_when_the_request_ends(path):
    from tests import factories

    factories.study(title="Housing first")
    gc.collect()
    gc.disable()
    try:
        response, status, body = _get(path, "q=housing")
        assert status.startswith("200") and body[:1] in (b"{", b"[")
        gone = weakref.ref(response)
        del response
        assert gone() is None  # freed by reference counting: the collector is off
    finally:
        gc.enable()
