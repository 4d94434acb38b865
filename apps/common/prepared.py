"""Read queries compiled once and run many times with other ids.

Building and compiling a queryset costs the ORM 1-3 ms of Python for a query with subqueries, more than
PostgreSQL takes to answer it. The search API reads a page of studies and its facet labels on every
request with queries whose only variable is the list of ids; ``rows(build, ids)`` compiles ``build``'s
queryset once per thread, shape and number of ids, and later runs that SQL with the new ids, converting
the values as the queryset would (``from_db_value`` of each column: dates, JSON, booleans).

``build(ids, *shape)`` must return a ``values_list`` queryset that selects by ``InIds(field, ids)`` (or
slices of ``ids``) and has no other integer parameters that are ids (it is compiled with placeholder ids,
which must all be found among the parameters). Everything else the SQL says is fixed by ``shape``. The ids
are padded to the next power of two with ``NO_ID`` (which no row has), so a page of 17 or 20 hits runs the
SQL compiled for 32; a caller that joins several lists of ids into one (its ``shape`` saying where each
ends) pads each with ``pad``.

On PostgreSQL each list of ids is one array parameter (``= ANY(%s::bigint[])``), every other parameter is
written into the SQL, and the statement is prepared on the server once per connection
(``KB_DB_PREPARED_STATEMENTS``): planning the page query (three correlated subqueries) took PostgreSQL
about as long as running it, 1.1 of 2.3 ms. Django itself leaves prepared statements off because a
connection pooler in transaction mode (PgBouncer before 1.21) loses them between transactions: set
``KB_DB_PREPARED_STATEMENTS=0`` behind such a pooler.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

import psycopg
from django.conf import settings
from django.db import connections
from django.db.models import Lookup

_local = threading.local()

#: An id no row has (primary keys count from 1): what the id lists are padded with.
NO_ID = 0


def pad(ids) -> list:
    """``ids`` padded with ``NO_ID`` to the next power of two (none stay none)."""
    ids = list(ids)
    return ids + [NO_ID] * ((1 << (len(ids) - 1).bit_length()) - len(ids)) if ids else ids


class InIds(Lookup):
    """``field IN ids`` as a filter (``.filter(InIds(F("id"), ids))``): on PostgreSQL one array parameter, so
    the statement is the same for any ids and its plan can be kept; elsewhere ``IN (%s, ...)``."""

    lookup_name = "in_ids"
    prepare_rhs = False

    def __init__(self, lhs, ids):
        super().__init__(lhs, [int(i) for i in ids])

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s::bigint[])", (*params, self.rhs)
        return f"{lhs} IN ({', '.join(['%s'] * len(self.rhs))})", (*params, *self.rhs)


class _PreparingCursor(psycopg.Cursor):
    """A server-binding cursor whose statements are prepared on the server (once per connection)."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        super().execute(query, params, prepare=True, binary=binary)
        if self._query is None:  # psycopg keeps no query for a prepared statement's run: Django's log reads one
            self._query = _Shown(self.connection, query, params)
        return self


class _Shown:
    """A prepared statement's run as Django's query log reads it (``cursor._query.query``): the SQL with its
    parameters written in, made only if read (with ``DEBUG``, the debug toolbar, ``assertNumQueries``)."""

    __slots__ = ("connection", "sql", "params")

    def __init__(self, connection, sql, params):
        self.connection, self.sql, self.params = connection, sql, params

    @property
    def query(self):
        return psycopg.ClientCursor(self.connection).mogrify(self.sql, self.params).encode()


class _Compiled:
    __slots__ = ("sql", "params", "slots", "compiler", "converters", "prepare")

    def __init__(self, queryset, probe):
        self.compiler = queryset.query.get_compiler(using=queryset.db)
        connection = self.compiler.connection
        sql, params = self.compiler.as_sql()
        where = {p: i for i, p in enumerate(probe)}
        # each parameter that holds ids: (its position, the positions in ``ids`` of what it holds)
        self.slots = []
        for at, p in enumerate(params):
            if type(p) is int and p in where:
                self.slots.append((at, where[p]))
            elif type(p) is list and p and all(type(i) is int and i in where for i in p):
                self.slots.append((at, [where[i] for i in p]))
        found = sum(1 if type(which) is int else len(which) for _, which in self.slots)
        if found != len(probe):
            raise ValueError(f"prepared query: {found} of {len(probe)} ids found among its parameters")
        self.prepare = connection.vendor == "postgresql" and settings.KB_DB_PREPARED_STATEMENTS
        if self.prepare:
            # every other parameter written into the SQL as the client-side binding would send it; the
            # lists of ids stay parameters, in the order they appear
            marks = {at: f"kb-prepared-ids-{at}-9c4e" for at, _ in self.slots}
            written = connection.ops.compose_sql(sql, [marks.get(at, p) for at, p in enumerate(params)])
            written = written.replace("%", "%%")
            for mark in marks.values():
                written = written.replace(f"'{mark}'", "%s")
            self.sql, self.params = written, [None] * len(self.slots)
            self.slots = [(n, which) for n, (_, which) in enumerate(self.slots)]
        else:
            self.sql, self.params = sql, list(params)
        columns = [s[0] for s in self.compiler.select[:self.compiler.col_count]]
        self.converters = self.compiler.get_converters(columns)

    def _cursor(self):
        connection = self.compiler.connection
        if not self.prepare:
            return connection.cursor()
        connection.ensure_connection()
        raw = connection.connection
        if raw.prepare_threshold is None:  # Django's default turns preparing off: on, but never by count
            raw.prepare_threshold = 1 << 30
        with connection.wrap_database_errors:
            cursor = _PreparingCursor(raw)
        return connection._prepare_cursor(cursor)  # Django's wrapper: query logging, execute wrappers, errors

    def send(self, ids):
        """Run the SQL with these ids: the cursor to read the rows from (in a pipeline: sent, not yet run)."""
        params = list(self.params)
        for at, which in self.slots:
            if type(which) is int:
                params[at] = ids[which]
            elif self.prepare:  # as text ('{1,2}'), cast by the statement: one parameter type for any ids, and
                # psycopg need not adapt each id (0.2 ms a search)
                params[at] = "{%s}" % ",".join([str(int(ids[i])) for i in which])
            else:
                params[at] = [ids[i] for i in which]
        cursor = self._cursor()
        try:
            cursor.execute(self.sql, params)
        except BaseException:
            cursor.close()
            raise
        return cursor

    def read(self, cursor):
        with cursor:
            found = cursor.fetchall()
        if self.converters:
            return [tuple(row) for row in self.compiler.apply_converters(found, self.converters)]
        return found


@contextmanager
def together(using="default"):
    """Queries sent (``send``) inside the block travel to PostgreSQL in one round trip (its pipeline mode)
    and are read after it: the search API's page and facet labels. Each round trip costs a request some
    0.3-0.6 ms on this kind of machine (the database wakes, answers, the process wakes), more than the
    labels query itself. Elsewhere (SQLite, no prepared statements) each query runs when sent."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not settings.KB_DB_PREPARED_STATEMENTS:
        yield
        return
    connection.ensure_connection()
    with connection.wrap_database_errors, connection.connection.pipeline():
        yield


def send(build, ids, *shape, using="default"):
    """``build``'s query for these ids, sent now: a function that returns its rows (``rows``), to be called
    after the ``together`` block it was sent in."""
    ids = pad(ids)
    if not ids:
        return list
    compiled = _compiled(build, ids, shape, using)
    cursor = compiled.send(ids)
    return lambda: compiled.read(cursor)


def _compiled(build, ids, shape, using):
    cache = _local.__dict__.setdefault("compiled", {})
    connection = connections[using]
    key = (build, shape, len(ids), id(connection))
    compiled = cache.get(key)
    if compiled is None:
        # placeholder ids no real row has, distinct from any other parameter (and from each other)
        probe = [-(2 ** 40) - i for i in range(len(ids))]
        compiled = cache[key] = _Compiled(build(probe, *shape).using(using), probe)
    return compiled


def rows(build, ids, *shape, using="default") -> list[tuple]:
    """``list(build(ids, *shape))``, from SQL compiled once per (thread, build, shape, ``len(pad(ids))``)."""
    return send(build, ids, *shape, using=using)()
