import datetime

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from apps.common.filters import IdFilter

from .models import Action, AuditEntry, ObjectType


def _in_utc(moment):
    """``moment`` in UTC: the database takes offsets of at most 15:59 (ISO 8601 allows up to 23:59); a moment
    past either end of the calendar in UTC (``0001-01-01T00:00+01:00``) is that end."""
    try:
        return moment.astimezone(datetime.timezone.utc)
    except OverflowError:
        end = datetime.datetime.min if moment.year == 1 else datetime.datetime.max
        return end.replace(tzinfo=datetime.timezone.utc)


class MomentField(forms.CharField):
    """A date (``2025-03-01``) or a date-time (``2025-03-01T12:00:00+01:00``); returns (moment, is_date)."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        value = value.strip()
        try:
            day = parse_date(value) if len(value) == 10 else None
            if day is not None:
                return _in_utc(timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))), True
            moment = parse_datetime(value)
        except ValueError:
            moment = None
        if moment is None:
            raise ValidationError("Expected a date (YYYY-MM-DD) or a date-time (ISO 8601).")
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return _in_utc(moment), False


class MomentFilter(django_filters.Filter):
    field_class = MomentField

    def filter(self, qs, value):
        if not value:
            return qs
        moment, is_date = value
        if self.lookup_expr == "lte" and is_date:  # ``until=2025-03-01`` includes that whole day
            return qs.filter(**{f"{self.field_name}__lt": moment + datetime.timedelta(days=1)})
        return qs.filter(**{f"{self.field_name}__{self.lookup_expr}": moment})


class AuditEntryFilterSet(django_filters.FilterSet):
    object_type = django_filters.ChoiceFilter(choices=ObjectType.choices)
    object_id = IdFilter()
    user = django_filters.CharFilter(method="filter_user", label="User id or user name")
    action = django_filters.MultipleChoiceFilter(choices=Action.choices)
    since = MomentFilter(field_name="created_at", lookup_expr="gte",
                         label="From this date or date-time (inclusive)")
    until = MomentFilter(field_name="created_at", lookup_expr="lte",
                         label="Up to this date (the whole day) or date-time")

    class Meta:
        model = AuditEntry
        fields = []

    def filter_user(self, qs, name, value):
        value = value.strip()
        if value.isdigit() and len(value) < 19:
            return qs.filter(actor_id=int(value))
        return qs.filter(Q(actor__username__iexact=value) | Q(actor_name__iexact=value))
