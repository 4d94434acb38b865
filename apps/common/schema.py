import copy
import re

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers
from django.core.validators import ProhibitNullCharactersValidator, RegexValidator
from rest_framework.permissions import SAFE_METHODS

from .permissions import CuratorWriteOrReadOnly

ERROR_SCHEMA = {
    "type": "object",
    "description": "``detail`` for general errors, or one key per invalid field with a list of messages.",
    "additionalProperties": True,
}


NO_NUL = "^[^\\u0000]*$"
#: Text with something in it besides whitespace (what a trimmed text field that may not be blank takes): a
#: character that is neither NUL nor whitespace as Python's ``str.strip`` sees it (ECMA's ``\\s`` differs).
NOT_BLANK = ("^[^\\u0000]*[^\\u0000\\t-\\r\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f"
             "\\u205f\\u3000][^\\u0000]*$")
#: The alternative drf-spectacular adds to a text field that may be blank but has a pattern or format.
BLANK = {"type": "string", "maxLength": 0}

#: The description of a 422 answer: schemathesis.toml expects it for schema-valid requests of exactly the
#: operations that document it (the only rules kb's schema cannot state are check digits and the like).
UNPROCESSABLE = ("Unprocessable: well formed as the schema says, but a value is wrong in a way no schema can state "
                 "(an identifier's check digit; a search's parameters or the study list's filters, which are another "
                 "operation's rules): the body names the field.")

#: Marks an array parameter that is sent as one comma-separated value (removed from the published schema).
COMMA_SEPARATED = "x-kb-comma-separated"


def comma_separated_schema(item_schema, max_items):
    """The schema of a query parameter listing values separated by commas (``?design=rct,cohort``)."""
    return {"type": "array", "items": item_schema, "maxItems": max_items, COMMA_SEPARATED: True}


class AutoSchema(SpectacularAutoSchema):
    """kb's schema conventions: public reads are open to anonymous clients; error responses are documented."""

    def get_auth(self):
        auths = super().get_auth()
        public_read = any(isinstance(p, CuratorWriteOrReadOnly) for p in self.view.get_permissions())
        if public_read and self.method in SAFE_METHODS and {} not in auths:
            auths.append({})
        return auths

    def _get_parameters(self):
        parameters = super()._get_parameters()
        for parameter in parameters:
            repeated = parameter["schema"].get("type") == "array" and parameter.get("explode", True)
            if parameter["in"] == "query" and not parameter.get("required") and not repeated:
                # DRF and django-filter read ``?name=`` as "not given"; say so, so that clients may send it.
                parameter["allowEmptyValue"] = True
        return parameters

    def _get_filter_parameters(self):
        parameters = super()._get_filter_parameters()
        for parameter in parameters:
            schema = parameter["schema"]
            plain_text = schema.get("type") == "string" and not {"enum", "format", "pattern"} & set(schema)
            if plain_text and parameter["name"] != "ordering":  # DRF ignores an unknown ordering
                schema["pattern"] = NO_NUL  # django-filter's text fields refuse NUL characters
        return parameters

    def _process_override_parameters(self, direction="request"):
        parameters = super()._process_override_parameters(direction)
        for parameter in parameters.values():
            if parameter and parameter["schema"].pop(COMMA_SEPARATED, False):
                parameter.update(style="form", explode=False)
        return parameters

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction == "request":
            if schema.get("type") == "array" and getattr(field, "allow_empty", True) is False:
                schema.setdefault("minItems", 1)  # DRF refuses an empty list here; say so
            validators = getattr(field, "validators", ())
            regexes = [v.regex.pattern for v in validators if isinstance(v, RegexValidator) and not v.inverse_match]
            if len(regexes) == 1 and schema.get("type") == "string" and "pattern" not in schema:
                schema["pattern"] = regexes[0].replace("\\Z", "$")  # e.g. a slug's letters, digits, - and _
            refuses_nul = any(isinstance(v, ProhibitNullCharactersValidator) for v in validators)
            if refuses_nul and schema.get("type") == "string" and not {"pattern", "format", "enum"} & set(schema):
                schema["pattern"] = NO_NUL  # DRF refuses NUL characters in text
            if isinstance(field, serializers.FileField) and not getattr(field, "allow_empty_file", True):
                schema.setdefault("minLength", 1)  # DRF refuses an empty file
            trimmed = isinstance(field, serializers.CharField) and field.trim_whitespace
            if trimmed and not field.allow_blank and schema.get("pattern") == NO_NUL:
                schema["pattern"] = NOT_BLANK  # DRF trims, then refuses what is left blank
        return schema

    def _map_basic_serializer(self, serializer, direction):
        outer, self._direction = getattr(self, "_direction", None), direction
        try:
            schema = super()._map_basic_serializer(serializer, direction)
        finally:
            self._direction = outer
        rules = getattr(serializer, "request_schema_rules", None)
        if direction == "request" and rules:
            schema.update(copy.deepcopy(rules))  # a rule across fields: exactly one of, not both
        return schema

    def _insert_field_validators(self, field, schema):
        super()._insert_field_validators(field, schema)
        # drf-spectacular offers a blank text field with a pattern or format as oneOf ["the pattern", empty].
        # Where the pattern admits "" too (NO_NUL), "" matches both and oneOf refuses it; and generated clients
        # (openapi-generator's Python) make such a oneOf a wrapper class that refuses "" as matching twice. One
        # string schema says it: a pattern "empty, or the pattern"; a format (email) or a minimum length the
        # empty text does not meet stays an alternative, as anyOf.
        one_of = schema.get("oneOf")
        if one_of and len(one_of) == 2 and one_of[1] == BLANK:
            inner = one_of[0]
            if getattr(self, "_direction", None) == "response":  # kb's own values, "" among them: plain text
                del schema["oneOf"]
                schema.update({k: v for k, v in inner.items() if k not in ("format", "pattern", "minLength")})
            elif "pattern" in inner and not {"format", "minLength", "enum"} & set(inner):
                del schema["oneOf"]
                schema.update(inner)
                if not re.search(inner["pattern"], ""):
                    schema["pattern"] = f"^$|{inner['pattern']}"
            else:
                schema["anyOf"] = schema.pop("oneOf")

    def _get_request_body(self, direction="request"):
        body = super()._get_request_body(direction)
        if body is not None and getattr(self.get_request_serializer(), "request_schema_rules", {}).get("oneOf"):
            body["required"] = True  # "one of these fields": an empty request has none
        return body

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)

        def add(code, description):
            responses.setdefault(str(code), {"description": description,
                                             "content": {"application/json": {"schema": ERROR_SCHEMA}}})

        has_params = bool(self._get_filter_parameters() or self._get_pagination_parameters()
                          or self.get_override_parameters())
        if self.method not in SAFE_METHODS or has_params:
            add(400, "Invalid input: the body names each field that is wrong.")
        if self.method not in SAFE_METHODS or not self.get_auth() or {} not in self.get_auth():
            add(401, "Authentication is required.")
            add(403, "The signed-in user may not do this.")
        if "{" in self.path or has_params or self.method not in SAFE_METHODS:
            add(404, "Not found (or not visible to this user; a page past the last; a cursor this API did not "
                     "make; in a body, an id or slug that names nothing: the body names the field).")
        if self.method in ("POST", "PUT", "PATCH") and getattr(self.get_request_serializer(), "beyond_schema", ()):
            add(422, UNPROCESSABLE)
        if self.method not in SAFE_METHODS:
            add(409, "Conflict: a value another row already holds, a change the current state does not allow, "
                     "or a row other rows still refer to.")
        add(429, "Too many requests from an anonymous client; retry later.")
        if has_params:  # answered by the HTTP server in front of kb, in its own format
            responses.setdefault("414", {"description": "The URL is longer than the server accepts (send fewer values)."})
        if getattr(self.view, "uses_search_engine", False):
            add(503, "The search engine is unavailable for a moment; retry shortly.")
        return responses
