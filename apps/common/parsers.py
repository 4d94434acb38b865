"""The API's JSON body parser."""

import json

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
