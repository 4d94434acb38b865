"""kb's serializer fields: DRF's, with text that is text.

DRF's ``CharField`` reads a JSON number or boolean as its text (``"title": 123`` is saved as ``"123"``), though
the OpenAPI schema says ``string``. Here every text field (``CharField`` and its kin, and those a
``ModelSerializer`` makes for text columns) refuses anything but a string with a 400 naming the field, so the
API refuses what its schema forbids; a boolean is ``true`` or ``false`` (not 1, 0 or "yes"). Modules import ``from apps.common import serializers`` and use it as DRF's
module (everything else is DRF's own). Related fields likewise take null, not "", for none.
"""

import copy

from django.core.validators import RegexValidator
from django.db import models
from rest_framework import serializers as drf
from rest_framework.relations import MANY_RELATION_KWARGS
from rest_framework.serializers import *  # noqa: F401,F403  (DRF's module, with the overrides below)


class StrictTextMixin:
    """Text only: a number, a boolean, a list or an object for a text field is a 400 ("Not a valid string.").
    The maximum length counts the text as sent, as the schema's maxLength does (DRF counts it after trimming
    the surrounding whitespace)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        if getattr(self, "max_length", None) is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class CharField(StrictTextMixin, drf.CharField):
    pass


class EmailField(StrictTextMixin, drf.EmailField):
    pass


class URLField(StrictTextMixin, drf.URLField):
    pass


class SlugField(StrictTextMixin, drf.SlugField):
    pass


class RegexField(StrictTextMixin, drf.RegexField):
    pass


class BooleanField(drf.BooleanField):
    """``true`` or ``false``: a JSON boolean, or that text (a multipart form's value). DRF also reads 1, 0, "yes",
    "on" and more, which the schema's boolean does not admit."""

    TRUE_VALUES = {True, "true"}
    FALSE_VALUES = {False, "false"}
    NULL_VALUES = {None}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        return super().to_internal_value(data if isinstance(data, str) else repr(data))


class ManyRelatedField(drf.ManyRelatedField):
    """A list of related values is a JSON array (DRF also reads an object as the list of its keys)."""

    def to_internal_value(self, data):
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        return super().to_internal_value(data)


class NullIsNoneMixin:
    """A related field's "none" is null: DRF reads "" as null too (for HTML forms), which the schema (a slug's
    pattern, an id's integer) does not admit; here "" is a 400 naming the field."""

    default_error_messages = {"blank": "Send null for none; an empty value names nothing."}

    def run_validation(self, data=drf.empty):
        if data == "":
            self.fail("blank")
        return super().run_validation(data)

    @classmethod
    def many_init(cls, *args, **kwargs):
        list_kwargs = {"child_relation": cls(*args, **kwargs)}
        list_kwargs.update({key: value for key, value in kwargs.items() if key in MANY_RELATION_KWARGS})
        return ManyRelatedField(**list_kwargs)


class PrimaryKeyRelatedField(NullIsNoneMixin, drf.PrimaryKeyRelatedField):
    """An id is a JSON integer (DRF also looks up "5")."""

    def to_internal_value(self, data):
        if not isinstance(data, int) or isinstance(data, bool):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


class SlugRelatedField(NullIsNoneMixin, drf.SlugRelatedField):
    """A slug is a string (DRF also looks up 0 as "0"); one with a NUL character names nothing (PostgreSQL
    cannot even compare it: the lookup would be a 500)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        if "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data.replace("\x00", "\\0"))
        return super().to_internal_value(data)


class ModelSerializer(drf.ModelSerializer):
    # Text columns become the strict text fields above, relations the strict related field. (No docstring: the
    # schema shows a serializer's own.)
    serializer_related_field = PrimaryKeyRelatedField
    serializer_field_mapping = {
        **drf.ModelSerializer.serializer_field_mapping,
        models.CharField: CharField,
        models.TextField: CharField,
        models.EmailField: EmailField,
        models.URLField: URLField,
        models.SlugField: SlugField,
        models.BooleanField: BooleanField,
    }


def shaped(pattern, message):
    """Field arguments for an identifier typed exactly in the shape ``pattern`` states (one regular expression,
    also the schema's ``pattern``: apps.common.schema); surrounding spaces are not trimmed, as the pattern does
    not admit them."""
    return {"validators": [RegexValidator(pattern, message)], "trim_whitespace": False}


class ParamsSerializer(drf.Serializer):
    """A serializer of a request's parameters, made for every request (the search API's, ~30 fields).

    DRF deep-copies each declared field for every serializer instance: the fields' arguments, the choice
    lists with them (the languages), and builds each field anew (0.5 ms of every search request). A
    parameter serializer only validates, and its fields are not changed once made, so each instance gets
    shallow copies, bound to it as DRF binds its own (the same errors and values, tests/common)."""

    def get_fields(self):
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}
