"""Querysets compiled to SQL once per process, for the reads every reader's page makes.

Building a queryset and compiling it costs Django more than a millisecond here, where
SQLite or PostgreSQL answers the indexed read itself in a tenth of that: for a stored
article page it was a third of the request. A `Compiled` query is written with the ORM
as everywhere else (`published()` stays the one publication rule); it is compiled once
with stand-in values for its arguments, and each call puts the arguments' database
values where the stand-ins were and runs the SQL, with the fields' own converters
applied to the rows (JSON decoded, times made aware), as the ORM would.

Arguments named in `static` become part of the SQL instead (slice bounds, which Django
writes into it): each of their values is compiled once, and a few hundred are kept.

A `counted` query returns how many rows the queryset has, as [(count,)], counted by the
database (as `QuerySet.count()` does): a thousand ids cost more to read than to count.
An `unless_full` query returns None where its slice is full (as many rows as its LIMIT),
without the database sending them: a search reads its first thousand matches to rank
them, but only where there are no more. Its first column must never be null (an id).

An argument may also be a mapping of strings (a search's query terms): the query is
handed a mapping of stand-ins for it, and any of its keys that the query reads is an
argument of its own. Which keys a query reads must follow from the static arguments.
"""

import datetime
import threading
from collections import OrderedDict
from collections.abc import Mapping

from django.db import DEFAULT_DB_ALIAS, connections

KEPT = 256
_STAND_IN_TIME = datetime.datetime(2001, 2, 3, 4, 5, 6, 789123, tzinfo=datetime.timezone.utc)


class Compiled:
    def __init__(self, build, *, static=(), counted=False, unless_full=False):
        """`build(**arguments)` returns the queryset (a values_list) for the arguments."""
        self.build = build
        self.static = tuple(static)
        self.counted, self.unless_full = counted, unless_full
        self._kept = OrderedDict()
        self._lock = threading.Lock()

    def rows(self, using=DEFAULT_DB_ALIAS, **arguments):
        """The queryset's rows for `arguments`, as tuples (None for a full `unless_full`)."""
        connection = connections[using]
        fixed = tuple(arguments.pop(name) for name in self.static)
        mapped = frozenset(name for name, value in arguments.items() if isinstance(value, Mapping))
        sql, slots, converters = self._compiled(connection, using, fixed, sorted(arguments), mapped)
        params = [
            _adapted(connection, arguments[slot]) if isinstance(slot, str) else slot.value(arguments) for slot in slots
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if self.unless_full and rows and rows[0][0] is None:
            return None  # the row that says the slice is full
        if not converters:
            return [tuple(row) for row in rows]
        converted = []
        for row in rows:
            row = list(row)
            for position, (functions, expression) in converters:
                for function in functions:
                    row[position] = function(row[position], expression, connection)
            converted.append(tuple(row))
        return converted

    def first(self, using=DEFAULT_DB_ALIAS, **arguments):
        rows = self.rows(using, **arguments)
        return rows[0] if rows else None

    def _compiled(self, connection, using, fixed, names, mapped=frozenset()):
        key = (using, connection.vendor, fixed)
        compiled = self._kept.get(key)
        if compiled is not None:
            return compiled
        stand_ins = {name: _stand_in(name, number) for number, name in enumerate(names) if name not in mapped}
        mappings = {name: _StandIns(name) for name in mapped}
        queryset = self.build(**dict(zip(self.static, fixed)), **stand_ins, **mappings)
        compiler = queryset.query.get_compiler(using)
        sql, params = compiler.as_sql()
        wanted = {}
        for name, value in stand_ins.items():
            wanted[_key(value)] = name
            wanted[_key(_adapted(connection, value))] = name
        for name, read in mappings.items():
            wanted.update({_key(value): _Slot(name, key) for key, value in read.read.items()})
        slots = [wanted.get(_key(param)) or _Literal(param) for param in params]
        used = {slot for slot in slots if not isinstance(slot, _Literal)}
        expected = set(stand_ins) | {
            _Slot(name, key) for name, read in mappings.items() for key in read.read
        }
        missing = expected - used
        if missing:
            raise ValueError(f"the query does not use {', '.join(sorted(map(str, missing)))}")
        if self.counted:
            sql, converters = f"SELECT COUNT(*) FROM ({sql}) counted", []
        else:
            fields = [column[0] for column in compiler.select[: compiler.col_count]]
            converters = list(compiler.get_converters(fields).items())
        if self.unless_full:
            sql = _unless_full(sql, queryset.query, compiler.col_count)
        compiled = (sql, slots, converters)
        with self._lock:
            self._kept[key] = compiled
            while len(self._kept) > KEPT:
                self._kept.popitem(last=False)
        return compiled


class _StandIns(Mapping):
    """Stand-ins for a mapping argument's strings, noting which keys the query read."""

    def __init__(self, name):
        self.name, self.read = name, {}

    def __getitem__(self, key):
        return self.read.setdefault(key, f"kiji-stand-in-for-{self.name}[{key}]-5d1c")

    def __iter__(self):
        raise TypeError("a query reads a mapping argument's keys by name, not by iterating it")

    def __len__(self):
        raise TypeError("a query reads a mapping argument's keys by name")


class _Slot(tuple):
    """A parameter that is the string `arguments[name][key]`."""

    def __new__(cls, name, key):
        return super().__new__(cls, (name, key))

    def value(self, arguments):
        name, key = self
        return arguments[name][key]

    def __str__(self):
        return f"{self[0]}[{self[1]!r}]"


class _Literal:
    """A parameter the query has whatever the arguments (a status, say)."""

    __slots__ = ("literal",)

    def __init__(self, literal):
        self.literal = literal

    def value(self, arguments):
        return self.literal


def _unless_full(sql, query, columns):
    """`sql`'s rows while they are fewer than its slice's size; else one row of nulls."""
    if query.high_mark is None:
        raise ValueError("an unless_full query must be sliced")
    size = query.high_mark - query.low_mark
    # A query named more than once is computed once (PostgreSQL, SQLite).
    return (
        f"WITH found AS ({sql}), enough AS (SELECT count(*) < {size} AS fits FROM found)"
        " SELECT found.* FROM found, enough WHERE enough.fits"
        f" UNION ALL SELECT {', '.join(['NULL'] * columns)} FROM enough WHERE NOT enough.fits"
    )


def _stand_in(name, number):
    """A value for argument `name` that no query holds by chance: a time for the names
    that are times (`now`, `…_at`), a number for ids (`pk`, `pk_…`, `…_id`), else a string."""
    if name == "now" or name.endswith("_at"):
        return _STAND_IN_TIME + datetime.timedelta(seconds=number)
    if name == "pk" or name.startswith("pk_") or name.endswith("_id"):
        return 1_987_654_321 + number
    return f"kiji-stand-in-for-{name}-5d1c"


def _adapted(connection, value):
    if isinstance(value, datetime.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


def _key(value):
    # Parameters compare by type too: a string equal to another's text is not a time.
    return (type(value).__name__, str(value))
