"""apps/common/renderers.py: the API's JSON, written by orjson, is the JSON DRF's renderer writes."""

import datetime
import decimal
import json
import uuid

import pytest
from django.utils import timezone
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer as DRFRenderer
from rest_framework.utils.serializer_helpers import ReturnDict

from apps.common.renderers import JSONRenderer

pytestmark = pytest.mark.smoke

PAYLOAD = ReturnDict({
    "count": 2, "next": None, "ok": True, "score": 12.3456789, "whole": 2.0, "text": "Ødegård – «rus» \u2028 ok\u2029",
    "when": timezone.make_aware(datetime.datetime(2026, 12, 7, 21, 5, 3, 123456), datetime.timezone.utc),
    "day": datetime.date(2026, 12, 7), "at": datetime.time(9, 30), "price": decimal.Decimal("1.50"),
    "label": gettext_lazy("Search"), "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "results": [{"id": 1, "authors": [{"name": "Smith, J", "researcher": None}], "keywords": ["a", "b"]}],
    3: "an integer key",
}, serializer=None)


def test_the_same_bytes_as_drf_for_what_the_api_returns():
    assert JSONRenderer().render(PAYLOAD) == DRFRenderer().render(PAYLOAD)
    assert b"\\u2028" in JSONRenderer().render(PAYLOAD)


def test_indented_and_refused_values_are_drfs_own():
    indented = JSONRenderer().render({"a": [1]}, "application/json; indent=2")
    assert indented == DRFRenderer().render({"a": [1]}, "application/json; indent=2") and b"\n" in indented
    huge = {"n": 2 ** 70}  # beyond orjson's 64 bits
    assert JSONRenderer().render(huge) == DRFRenderer().render(huge)
    assert JSONRenderer().render({"score": float("nan")}) == b'{"score":null}'  # valid JSON, not a 500
    with pytest.raises(TypeError):
        JSONRenderer().render({"what": object()})
    assert JSONRenderer().render(None) == b""


def test_api_answers_use_it(anon_client, db):
    response = anon_client.get("/api/v1/topics/")
    assert response.status_code == 200 and isinstance(response.accepted_renderer, JSONRenderer)
    assert json.loads(response.content) == response.json()
