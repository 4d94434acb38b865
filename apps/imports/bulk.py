"""Fast inserts for the importer: PostgreSQL ``COPY``, ``bulk_create`` on other databases.

Rows are dicts of ``attname -> value``. Missing fields get the model field's default, so every
NOT NULL column is written (Django keeps defaults in Python, not in the database). Values must be
what the field would store: derived keys (``title_key``, ``family_key``) and timestamps are set by
the caller, because ``COPY`` bypasses ``Field.pre_save``. On SQLite the rows become model
instances and go through ``bulk_create`` (which does call ``pre_save``).
"""
from __future__ import annotations

import json

from django.db import connection, models

_MISSING = object()


class RowWriter:
    def __init__(self, model):
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields if not (f.primary_key and f.auto_created)]
        self.pk = model._meta.pk
        self.callable_defaults = {f.attname: f for f in self.fields if f.has_default() and callable(f.default)}
        self.defaults = {f.attname: f.get_default() for f in self.fields if f.attname not in self.callable_defaults}
        self.json = frozenset(f.attname for f in self.fields if isinstance(f, models.JSONField))

    @property
    def use_copy(self) -> bool:
        return connection.vendor == "postgresql"

    def allocate_ids(self, n: int) -> list[int]:
        """``n`` new primary keys from the table's sequence (PostgreSQL)."""
        if not n:
            return []
        table, column = self.model._meta.db_table, self.pk.column
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [table, column, n])
            return [row[0] for row in cursor.fetchall()]

    def _specs(self, fields):
        return [(f.attname, f.attname in self.json, self.callable_defaults.get(f.attname),
                 self.defaults.get(f.attname)) for f in fields]

    @staticmethod
    def _values(row, specs):
        out = []
        append = out.append
        get = row.get
        for attname, is_json, factory, default in specs:
            value = get(attname, _MISSING)
            if value is _MISSING:
                value = factory.get_default() if factory is not None else default
            if is_json and value is not None:
                value = "[]" if value == [] else "{}" if value == {} else json.dumps(value, ensure_ascii=False)
            append(value)
        return out

    def insert(self, rows: list[dict], with_ids: bool = False) -> list[int] | None:
        """Insert ``rows``; with ``with_ids`` return their new primary keys (also set as ``row["id"]``)."""
        if not rows:
            return [] if with_ids else None
        if not self.use_copy:
            objs = [self.model(**row) for row in rows]
            self.model.objects.bulk_create(objs, batch_size=500)
            if with_ids:
                for row, obj in zip(rows, objs):
                    row[self.pk.attname] = obj.pk
                return [obj.pk for obj in objs]
            return None
        fields = list(self.fields)
        if with_ids:
            for row, pk in zip(rows, self.allocate_ids(len(rows))):
                row[self.pk.attname] = pk
            fields = [self.pk] + fields
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        sql = f"COPY {connection.ops.quote_name(self.model._meta.db_table)} ({columns}) FROM STDIN"
        specs, values = self._specs(fields), self._values
        with connection.cursor() as cursor:
            with cursor.cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(values(row, specs))
        return [row[self.pk.attname] for row in rows] if with_ids else None


_writers: dict = {}


def writer(model) -> RowWriter:
    w = _writers.get(model)
    if w is None:
        w = _writers[model] = RowWriter(model)
    return w
