"""The API's body parsers: JSON, and multipart forms whose every part is read."""

import json

from django.http.multipartparser import MAX_TOTAL_HEADER_SIZE
from django.utils.http import parse_header_parameters
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing text that is not Unicode: a ``\\ud800``-``\\udfff`` escape without its pair
    decodes to a lone surrogate, which no database can store (PostgreSQL answered 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ParseError("JSON parse error - the body holds an unpaired surrogate escape (\\ud800-\\udfff), "
                             "which is not text.")
        return data


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser (Django's), reading a part sent without a body as the empty value it is.

    A part may end right after its header lines (RFC 2046: ``body-part := MIME-part-headers [CRLF *OCTET]``);
    werkzeug's encoder writes an empty file or value so. Django's parser expects the blank line of an empty
    body and silently drops such a part: 21 ``file`` parts of which 10 were empty reached kb as 11 good files
    and were imported, though the schema allows 20 non-empty files at most. Here each such part gets the blank
    line before Django reads the body, so it arrives as an empty file (or ``""``) and is refused with the
    field's other errors."""

    def parse(self, stream, media_type=None, parser_context=None):
        boundary = parse_header_parameters(media_type or "")[1].get("boundary", "")
        if stream is not None and boundary:
            try:
                stream = BodilessPartsFilled(stream, boundary.encode("ascii"))
            except UnicodeEncodeError:
                pass  # Django refuses that boundary with its own message
        return super().parse(stream, media_type, parser_context)


class BodilessPartsFilled:
    """A multipart body as a file (``read``), with the blank line that starts an empty body added to each part
    that has header lines and no body. Parts are split where Django splits them (at every ``--boundary``), and
    only a part short enough to be headers alone (Django reads at most MAX_TOTAL_HEADER_SIZE bytes of them) is
    held back until its end is seen: memory stays bounded by the reads, whatever the size of the files."""

    def __init__(self, stream, boundary: bytes, chunk_size=64 * 1024):
        chunks = iter(lambda: stream.read(chunk_size), b"")
        self._out = self._filled(chunks, b"--" + boundary)
        self._buffer = b""

    def read(self, size=-1):
        while size is None or size < 0 or len(self._buffer) < size:
            chunk = next(self._out, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size is None or size < 0:
            size = len(self._buffer)
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    @staticmethod
    def _filled(chunks, separator):
        short = MAX_TOTAL_HEADER_SIZE + 4  # header lines (and the line end after the separator) at most
        pending, at_part_start, done = b"", False, False  # the preamble before the first separator is no part
        while not done:
            chunk = next(chunks, None)
            done = chunk is None
            pending += chunk or b""
            while True:
                end = pending.find(separator)
                if at_part_start and end >= 0:
                    part = pending[:end]
                    head = part[:-1] if part.endswith(b"\n") else part  # Django leaves out the line end
                    head = head[:-1] if head.endswith(b"\r") else head  # before a separator too
                    if (len(head) <= short and b"\r\n\r\n" not in head
                            and b"content-disposition" in head.lower()):
                        part = head + b"\r\n" + part[len(head):]  # headers alone: an empty body
                    yield part + separator
                elif at_part_start and len(pending) <= short + len(separator) and not done:
                    break  # maybe headers alone: wait for the part's end
                elif end >= 0:
                    yield pending[:end + len(separator)]
                else:  # inside a body: keep what could be the start of a separator split between reads
                    cut = len(pending) if done else max(0, len(pending) - len(separator) + 1)
                    yield pending[:cut]
                    pending, at_part_start = pending[cut:], False
                    break
                pending, at_part_start = pending[end + len(separator):], True
