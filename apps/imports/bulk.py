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

    def _template(self, fields):
        """Defaults of the columns (callable ones called once per insert), JSON already encoded."""
        template = {}
        for f in fields:
            value = f.get_default() if f.attname in self.callable_defaults else self.defaults.get(f.attname)
            if f.attname in self.json and value is not None:
                value = json.dumps(value, ensure_ascii=False)
            template[f.attname] = value
        return template

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
        template = self._template(fields)
        attnames = [f.attname for f in fields]
        json_names = [a for a in attnames if a in self.json]
        dumps = json.dumps
        with connection.cursor() as cursor:
            with cursor.cursor.copy(sql) as copy:
                for row in rows:
                    values = {**template, **row}
                    for name in json_names:
                        if name in row:
                            value = row[name]
                            values[name] = (None if value is None else "[]" if value == [] else "{}" if value == {}
                                            else dumps(value, ensure_ascii=False))
                    copy.write_row([values[a] for a in attnames])
        return [row[self.pk.attname] for row in rows] if with_ids else None


    def update(self, changes: list[tuple[int, dict]]):
        """Update rows by primary key: ``[(pk, {attname: value})]``. On PostgreSQL rows changing the same
        columns share one ``UPDATE ... FROM (VALUES ...)`` statement; elsewhere one UPDATE per row."""
        if not changes:
            return
        if not self.use_copy:
            for pk, values in changes:
                self.model.objects.filter(pk=pk).update(**values)
            return
        groups: dict = {}
        for pk, values in changes:
            groups.setdefault(tuple(sorted(values)), []).append((pk, values))
        meta = self.model._meta
        quote = connection.ops.quote_name
        for names, rows in groups.items():
            fields = [meta.get_field(n) for n in names]
            casts = [self.pk.db_type(connection)] + [f.db_type(connection) for f in fields]
            row_sql = "(" + ", ".join(f"%s::{c}" for c in casts) + ")"
            sets = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in fields)
            columns = ", ".join([quote(self.pk.column)] + [quote(f.column) for f in fields])
            for i in range(0, len(rows), 200):
                part = rows[i:i + 200]
                params = []
                for pk, values in part:
                    params.append(pk)
                    params.extend(f.get_db_prep_save(values[n], connection) for n, f in zip(names, fields))
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"UPDATE {quote(meta.db_table)} AS t SET {sets} FROM (VALUES {', '.join([row_sql] * len(part))}) "
                        f"AS v({columns}) WHERE t.{quote(self.pk.column)} = v.{quote(self.pk.column)}", params)


_writers: dict = {}


def writer(model) -> RowWriter:
    w = _writers.get(model)
    if w is None:
        w = _writers[model] = RowWriter(model)
    return w
