"""Derived key columns for duplicate detection, filled on every save *and* ``bulk_create``.

Django calls ``Field.pre_save`` for each row of a ``bulk_create`` as well as for ``save()``, so
these keys stay right whichever way a row is written (the importer and ``set_authors`` write in
bulk). ``QuerySet.update()`` bypasses them; nothing in kb changes titles or names that way.
"""
from django.db import models

from .keys import FAMILY_KEY_LENGTH, TITLE_KEY_LENGTH, family_key, title_key


class _DerivedKeyField(models.CharField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def compute(self, instance) -> str:
        raise NotImplementedError

    def pre_save(self, model_instance, add):
        value = self.compute(model_instance)[: self.max_length]
        setattr(model_instance, self.attname, value)
        return value


class TitleKeyField(_DerivedKeyField):
    """Folded words of ``title`` and ``subtitle`` (see ``apps.studies.keys.title_key``)."""

    description = "Normalized title (derived, for duplicate detection)"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", TITLE_KEY_LENGTH)
        super().__init__(*args, **kwargs)

    def compute(self, instance):
        return title_key(getattr(instance, "title", "") or "", getattr(instance, "subtitle", "") or "")


class FamilyKeyField(_DerivedKeyField):
    """Folded ``family_name`` (see ``apps.studies.keys.family_key``)."""

    description = "Normalized family name (derived, for duplicate detection and author matching)"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", FAMILY_KEY_LENGTH)
        super().__init__(*args, **kwargs)

    def compute(self, instance):
        return family_key(getattr(instance, "family_name", "") or "")
