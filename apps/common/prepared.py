"""Read queries compiled once and run many times with other ids.

Building and compiling a queryset costs the ORM 1-3 ms of Python for a query with subqueries, more than
PostgreSQL takes to answer it. The search API reads a page of studies and its facet labels on every
request with queries whose only variable is the list of ids; ``rows(build, ids)`` compiles ``build``'s
queryset once per thread, shape and number of ids, and later runs that SQL with the new ids, converting
the values as the queryset would (``from_db_value`` of each column: dates, JSON, booleans).

``build(ids, *shape)`` must return a ``values_list`` queryset whose only integer parameters are ``ids``
(it is compiled with placeholder ids, which must all be found among the parameters). Everything else the
SQL says is fixed by ``shape``. The ids are padded to the next power of two with ``NO_ID`` (which no row
has), so a page of 17 or 20 hits runs the SQL compiled for 32; a caller that joins several lists of ids
into one (its ``shape`` saying where each ends) pads each with ``pad``.
"""

from __future__ import annotations

import threading

from django.db import connections

_local = threading.local()

#: An id no row has (primary keys count from 1): what the id lists are padded with.
NO_ID = 0


def pad(ids) -> list:
    """``ids`` padded with ``NO_ID`` to the next power of two (none stay none)."""
    ids = list(ids)
    return ids + [NO_ID] * ((1 << (len(ids) - 1).bit_length()) - len(ids)) if ids else ids


class _Compiled:
    __slots__ = ("sql", "params", "slots", "compiler", "converters")

    def __init__(self, queryset, probe):
        self.compiler = queryset.query.get_compiler(using=queryset.db)
        self.sql, params = self.compiler.as_sql()
        self.params = list(params)
        where = {p: i for i, p in enumerate(probe)}
        self.slots = [(at, where[p]) for at, p in enumerate(self.params)
                      if type(p) is int and p in where]
        if len(self.slots) != len(probe):
            raise ValueError(f"prepared query: {len(self.slots)} of {len(probe)} ids found among its parameters")
        columns = [s[0] for s in self.compiler.select[:self.compiler.col_count]]
        self.converters = self.compiler.get_converters(columns)

    def run(self, ids):
        params = list(self.params)
        for at, which in self.slots:
            params[at] = ids[which]
        with self.compiler.connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            found = cursor.fetchall()
        if self.converters:
            return [tuple(row) for row in self.compiler.apply_converters(found, self.converters)]
        return found


def rows(build, ids, *shape, using="default") -> list[tuple]:
    """``list(build(ids, *shape))``, from SQL compiled once per (thread, build, shape, ``len(pad(ids))``)."""
    ids = pad(ids)
    if not ids:
        return []
    cache = _local.__dict__.setdefault("compiled", {})
    connection = connections[using]
    key = (build, shape, len(ids), id(connection))
    compiled = cache.get(key)
    if compiled is None:
        # placeholder ids no real row has, distinct from any other parameter (and from each other)
        probe = [-(2 ** 40) - i for i in range(len(ids))]
        compiled = cache[key] = _Compiled(build(probe, *shape).using(using), probe)
    return compiled.run(ids)
