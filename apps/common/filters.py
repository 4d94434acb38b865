"""Filter pieces shared by the list APIs."""

import django_filters
from django import forms
from django.core.exceptions import ValidationError


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


class IdFilter(django_filters.NumberFilter):
    """A primary key: a positive whole number (rejects floats and out-of-range values with a 400)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class YearFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", 9999)
        super().__init__(*args, **kwargs)
