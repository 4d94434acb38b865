"""kb's HTTP API as a client sees it, over urllib (the harness uses the standard library only)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass


class Failure(AssertionError):
    """What the smoke test found wrong; the message says what a user would notice."""


@dataclass
class Response:
    status: int
    body: bytes
    seconds: float

    def json(self):
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            raise Failure(f"HTTP {self.status}: not JSON: {self.body[:300]!r}") from None

    def expect(self, *statuses) -> "Response":
        if self.status not in statuses:
            raise Failure(f"expected HTTP {'/'.join(map(str, statuses))}, got {self.status}: {self.body[:500]!r}")
        return self


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a redirect is an answer to check, not to follow
        return None


_opener = urllib.request.build_opener(_NoRedirects)


class Api:
    """Requests to one kb. ``token`` authenticates as a user; without it the client is anonymous."""

    def __init__(self, base: str, token: str | None = None):
        self.base, self.token = base.rstrip("/"), token

    def as_user(self, token: str) -> "Api":
        return Api(self.base, token)

    def request(self, method: str, path: str, *, body: bytes | None = None, content_type: str | None = None,
                timeout: float = 60) -> Response:
        # kb runs behind a TLS proxy in production (SECURE_SSL_REDIRECT, SECURE_PROXY_SSL_HEADER): say
        # what that proxy says, as it would.
        headers = {"Accept": "application/json", "X-Forwarded-Proto": "https"}
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        start = time.perf_counter()
        try:
            with _opener.open(request, timeout=timeout) as answer:
                status, data = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            status, data = error.code, error.read()
        return Response(status, data, time.perf_counter() - start)

    def get(self, path: str, **kwargs) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, payload=None, **kwargs) -> Response:
        body = None if payload is None else json.dumps(payload).encode()
        return self.request("POST", path, body=body, content_type="application/json" if body else None, **kwargs)

    def upload(self, path: str, name: str, content: bytes, **fields) -> Response:
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                 for k, v in fields.items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                     f"Content-Type: application/x-bibtex\r\n\r\n".encode() + content + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request("POST", path, body=b"".join(parts),
                            content_type=f"multipart/form-data; boundary={boundary}")

    def answers(self) -> Response | None:
        """``GET /health/``, or None when nothing answers on the address."""
        try:
            return self.get("/health/", timeout=10)
        except OSError:
            return None


def wait_until(what: str, check, timeout: float, interval: float = 0.5):
    """Call ``check`` until it returns something true; returns (that value, seconds waited).
    Raises Failure naming ``what`` and the last value seen after ``timeout`` seconds."""
    start = time.monotonic()
    last = None
    while True:
        try:
            last = check()
        except OSError as exc:  # connection refused, reset, timeout: the service is not there (yet)
            last = f"{type(exc).__name__}: {exc}"
        else:
            if last:
                return last, time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise Failure(f"{what}: not within {timeout:.0f} s (last seen: {str(last)[:300]})")
        time.sleep(interval)
