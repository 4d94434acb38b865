"""Filter pieces shared by the list APIs.

Every filter here refuses a value it cannot read with a 400 naming the parameter (django-filter's own
boolean and foreign-key filters ignore such values or refuse existing-looking ids), and says in the
OpenAPI schema what it accepts (``extend_schema_field``), so the schema and the API agree.
"""

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django_filters import rest_framework as drf_filters
from drf_spectacular.utils import extend_schema_field

#: The largest id a client may send (PostgreSQL's bigint).
MAX_ID = 2**63 - 1


class CommaListField(forms.CharField):
    """``?doi=a,b,c``: a comma-separated list with a maximum length."""

    def __init__(self, *args, max_items=50, normalize=None, **kwargs):
        self.max_items = max_items
        self.normalize = normalize or (lambda v: v.strip())
        super().__init__(*args, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return []
        items = [self.normalize(v) for v in value.split(",") if v.strip()]
        if len(items) > self.max_items:
            raise ValidationError(f"At most {self.max_items} values, comma-separated.")
        return items


class CommaListFilter(django_filters.Filter):
    field_class = CommaListField

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__in": value})


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    """A primary key: a positive whole number (rejects floats and out-of-range values with a 400). An id
    that names nothing selects nothing."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


@extend_schema_field({"type": "integer", "minimum": 0, "maximum": 9999})
class YearFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", 9999)
        super().__init__(*args, **kwargs)


@extend_schema_field({"type": "number", "minimum": 0, "maximum": 1000})
class ScoreFilter(django_filters.NumberFilter):
    """A score such as a readability index: a number from 0 to 1,000."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", 1000)
        super().__init__(*args, **kwargs)


class BooleanField(forms.Field):
    """``true``/``false`` (or ``1``/``0``); anything else is an error, not "no filter"."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ValidationError("Expected true or false.")


class BooleanFilter(django_filters.BooleanFilter):
    field_class = BooleanField


class FilterSet(drf_filters.FilterSet):
    """The base of filter sets made from a view's ``filterset_fields``: strict booleans, and foreign keys
    filtered by id (an unknown id selects nothing instead of being refused)."""

    FILTER_DEFAULTS = {
        **drf_filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": BooleanFilter},
        models.ForeignKey: {"filter_class": IdFilter},
    }


class FilterBackend(drf_filters.DjangoFilterBackend):
    filterset_base = FilterSet
