"""Small SQL helpers shared by the apps and the search backends."""

import json

from django.db import connection
from django.db.models.expressions import RawSQL


def id_list(ids):
    """A sub-select over a list of ids passed as one JSON parameter (any length, constant SQL text)."""
    payload = json.dumps(sorted(int(i) for i in ids))
    if connection.vendor == "postgresql":
        return RawSQL("SELECT (jsonb_array_elements_text(%s::jsonb))::bigint", [payload])
    return RawSQL("SELECT value FROM json_each(%s)", [payload])
