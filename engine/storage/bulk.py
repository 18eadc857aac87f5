"""The one bulk binder and writer: 100k rows in well under a second of database time.

SQLAlchemy's executemany binds every value of every row through the column types' bind
processors inside the statement's execution, in the writing process (a sixth of a
milestone at 100k rows; most of an import of 100k metric values). Here binding is a
separate, pure step with the very same processors (``TypeEngine.bind_processor`` of the
column type's dialect implementation: naive UTC text for datetimes on SQLite, JSON text,
1/0 for booleans, …), each distinct hashable value bound once, so stored values read back
identically through the ORM; worker processes can run it (:func:`binder`). The bound tuples
then go to the driver on the session's connection, inside its transaction, so they commit
or roll back with everything else:

- INSERT: 50 rows per ``INSERT … VALUES`` on SQLite (:func:`sqlite_insert_rows`), ``COPY``
  on PostgreSQL (``executemany`` below :data:`COPY_FROM` rows);
- UPDATE by key: ``executemany`` on SQLite; on PostgreSQL the rows COPYed into a
  temporary staging table and one ``UPDATE … FROM`` it (measured against ``UPDATE … FROM
  unnest(…)``: see :func:`update_rows`).

Anything these cannot write exactly as SQLAlchemy would (a callable Python default, a
Python-side ``onupdate``, another dialect) goes through SQLAlchemy Core instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import chain, repeat
from operator import itemgetter
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Column, Table, bindparam, insert, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from promoflow.engine.storage.db import driver_cursor

#: below this many rows PostgreSQL gets executemany rather than COPY (or a staging table)
COPY_FROM = 50
#: rows per INSERT statement in :func:`sqlite_insert_rows`
SQLITE_ROWS_PER_INSERT = 50
#: distinct values a :func:`binder` remembers per column (the time, flags, ids of a chunk)
_MEMO_SIZE = 4096

Processor = Callable[[Any], Any]

#: per dialect, per column: its bind processor (None: values pass as they are)
_PROCESSORS: WeakKeyDictionary[Dialect, dict[Column, Processor | None]] = WeakKeyDictionary()


def bind_processor(column: Column, dialect: Dialect) -> Processor | None:
    """How SQLAlchemy binds a value of ``column`` for ``dialect`` (None: as it is).

    The public ``TypeEngine.bind_processor`` of the type's dialect implementation — what
    a statement's execution applies — remembered per (column, dialect): a TypeDecorator
    builds a new closure on every call.
    """
    known = _PROCESSORS.setdefault(dialect, {})
    try:
        return known[column]
    except KeyError:
        process = known[column] = column.type.dialect_impl(dialect).bind_processor(dialect)
        return process


def bind_value(table: Table, key: str, value: Any, dialect: Dialect) -> Any:
    """One value of column ``key`` as the driver receives it."""
    process = bind_processor(table.c[key], dialect)
    return value if process is None else process(value)


def binder(table: Table, keys: Sequence[str], dialect: Dialect) -> Callable[[Sequence], tuple]:
    """A function turning values in ``keys`` order into the tuple the driver receives.

    Pure (no session), so worker processes bind the rows they return; each column
    remembers what it bound (a chunk repeats a few values — the time, flags, ids —
    thousands of times, and binding a datetime is a strftime each time).
    """
    pairs = []
    for i, key in enumerate(keys):
        column = table.c[key]
        process = bind_processor(column, dialect)
        if process is not None:
            pairs.append((i, _memo(process) if column.type.hashable else process))
    if not pairs:
        return tuple

    def bind(values: Sequence) -> tuple:
        out = list(values)
        for i, process in pairs:
            out[i] = process(out[i])
        return tuple(out)

    return bind


def _memo(process: Processor) -> Processor:
    """``process`` remembering up to :data:`_MEMO_SIZE` answers; an unhashable value (a
    dict for a JSON column) is bound each time."""
    memo: dict[Any, Any] = {}

    def bind(value: Any) -> Any:
        try:
            return memo[value]
        except KeyError:
            bound = process(value)
            if len(memo) < _MEMO_SIZE:
                memo[value] = bound
            return bound
        except TypeError:
            return process(value)

    return bind


def bind_column(table: Table, key: str, values: Sequence, dialect: Dialect) -> Sequence:
    """``values`` of column ``key`` as the driver receives them, each distinct one bound once."""
    process = bind_processor(table.c[key], dialect)
    if process is None:
        return values
    try:
        memo = {value: process(value) for value in set(values)}
    except TypeError:  # unhashable (a dict for a JSON column): bind each one
        return [process(value) for value in values]
    return list(map(memo.__getitem__, values))


def bound_rows(
    session: Session,
    table: Table,
    columns: Mapping[str, Sequence],
    constants: Mapping[str, Any] | None = None,
) -> tuple[list[str], list[tuple]]:
    """(keys, driver tuples) of parallel ``columns`` plus ``constants`` set on every row."""
    dialect = session.get_bind().dialect
    constants = constants or {}
    keys = [*columns, *constants]
    count = len(next(iter(columns.values()))) if columns else 0
    bound = [bind_column(table, key, values, dialect) for key, values in columns.items()]
    for key, value in constants.items():
        bound.append(repeat(bind_value(table, key, value, dialect), count))
    return keys, list(zip(*bound, strict=False))  # constants repeat without end


def scalar_defaults(table: Table, keys: Sequence[str]) -> dict[str, Any] | None:
    """The Python defaults SQLAlchemy would fill in for the columns ``keys`` leave out;
    None when one of them is not a plain value (a callable, a SQL expression)."""
    out = {}
    for column in table.c:
        if column.key in keys or column.default is None:
            continue
        if not column.default.is_scalar:
            return None
        out[column.key] = column.default.arg
    return out


# --- INSERT ----------------------------------------------------------------------------------


def sqlite_insert_rows(cursor, head: str, width: int, rows: Sequence[Sequence]) -> None:
    """``rows`` (each ``width`` values) inserted on a sqlite3 cursor, 50 rows per statement.

    ``head`` is ``INSERT INTO t (a, b) VALUES``. Why not ``executemany`` of one row: each
    execution of a statement costs SQLite a statement start and end (the statement
    journal, constraint counters) and Python a round trip of the GIL; 50 rows per
    execution took a fifth off the instructions of inserting an open's decisions and
    audit events (callgrind, the same rows). The rows go in in order, as one by one; 50
    rows of the widest table stay far below SQLite's limit on parameters.
    """
    one = "(" + ", ".join("?" * width) + ")"
    size = SQLITE_ROWS_PER_INSERT
    whole = len(rows) // size * size
    if whole:
        flat = chain.from_iterable
        cursor.executemany(
            f"{head} {', '.join([one] * size)}",
            [tuple(flat(rows[i : i + size])) for i in range(0, whole, size)],
        )
    if whole < len(rows):
        cursor.executemany(f"{head} {one}", rows[whole:])


def insert_tuples(session: Session, table: Table, keys: Sequence[str], rows: list[tuple]) -> None:
    """INSERT rows already bound (by :func:`binder` or :func:`bound_rows`, in ``keys``
    order) in one driver call: 50 rows per statement on SQLite, COPY on PostgreSQL."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    preparer = dialect.identifier_preparer
    name = preparer.format_table(table)
    columns = ", ".join(preparer.quote(table.c[k].name) for k in keys)
    with driver_cursor(session) as cursor:
        if dialect.name == "sqlite":
            sqlite_insert_rows(cursor, f"INSERT INTO {name} ({columns}) VALUES", len(keys), rows)
        elif len(rows) < COPY_FROM:
            marks = ", ".join(["%s"] * len(keys))
            cursor.executemany(f"INSERT INTO {name} ({columns}) VALUES ({marks})", rows)
        else:
            with cursor.copy(f"COPY {name} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)


def insert_columns(
    session: Session,
    table: Table,
    columns: Mapping[str, Sequence],
    constants: Mapping[str, Any] | None = None,
) -> None:
    """INSERT one row per position of the parallel ``columns`` (plus ``constants``); the
    columns both leave out get their scalar Python default, as SQLAlchemy fills it."""
    constants = dict(constants or {})
    defaults = scalar_defaults(table, [*columns, *constants])
    if defaults is None:
        raise ValueError(f"{table.name}: a column left out has a default only SQLAlchemy can fill")
    keys, rows = bound_rows(session, table, columns, {**constants, **defaults})
    insert_tuples(session, table, keys, rows)


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT ``rows`` (mappings with the keys of the first) into ``table`` in one call.

    At driver level, the columns the rows leave out filled with their scalar Python
    defaults; through SQLAlchemy when that cannot be done exactly (a callable default, a
    row lacking a key: SQLAlchemy then fails as it would).
    """
    if not rows:
        return
    keys = list(rows[0])
    defaults = scalar_defaults(table, keys) if all(k in table.c for k in keys) else None
    if defaults is not None:
        get = _getter(keys)
        try:
            values = [get(row) for row in rows]
        except KeyError:
            values = None
        if values is not None:
            dialect = session.get_bind().dialect
            bind = binder(table, [*keys, *defaults], dialect)
            extra = tuple(defaults.values())
            insert_tuples(session, table, [*keys, *defaults], [bind(v + extra) for v in values])
            return
    _plain_connection(session)
    session.execute(insert(table), list(rows))


def _getter(keys: Sequence[str]) -> Callable[[Mapping[str, Any]], tuple]:
    """The values of ``keys`` of a mapping, as a tuple (also for one key)."""
    get = itemgetter(*keys)
    return get if len(keys) > 1 else lambda row: (get(row),)


def _plain_connection(session: Session) -> None:
    """The session's connection as a client-side cursor again: a ``yield_per`` read earlier
    in the transaction may leave it streaming, and psycopg refuses executemany on a
    server-side cursor."""
    session.connection().execution_options(yield_per=None, stream_results=False)


# --- UPDATE by key ---------------------------------------------------------------------------


def update_rows(
    session: Session,
    table: Table,
    key: str,
    rows: Sequence[Mapping[str, Any]],
    constants: Mapping[str, Any] | None = None,
) -> None:
    """UPDATE ``table`` SET the other keys of each row WHERE ``key`` matches, in bulk.

    ``rows`` all have the keys of the first; ``constants`` are columns set to the same
    value on every row (e.g. ``updated_at``). SQLite: one ``executemany``. PostgreSQL: the
    rows COPYed into a temporary staging table (the key and the columns set, none of the
    constraints), analysed, and one ``UPDATE … FROM`` it; ``executemany`` below
    :data:`COPY_FROM` rows. Why not ``UPDATE … FROM unnest(%s::type[], …)`` with one array
    per column (what case moves used): 5,000 rows of ``employees`` (grade, date, time) and
    of ``cases`` (state, flag, time), bound alike, medians of six on this machine's
    PostgreSQL 15 took 48 and 60 ms through the staging table, 60 and 64 ms through
    unnest (again, under other load: 67 and 84 ms against 74 and 94 ms); at 2,000 and
    20,000 rows the two were within noise. Through SQLAlchemy Core for a table with a
    Python-side ``onupdate`` (Core would fill it) and for other dialects.
    """
    if not rows:
        return
    constants = dict(constants or {})
    columns = [c for c in rows[0] if c != key]
    dialect = session.get_bind().dialect
    if any(c.onupdate is not None for c in table.c) or dialect.name not in ("sqlite", "postgresql"):
        everything = [{**row, **constants} for row in rows]
        _update_core(session, table, key, [*columns, *constants], everything)
        return
    get = _getter([*columns, key])
    bind = binder(table, [*columns, key], dialect)
    values = [bind(get(row)) for row in rows]
    fixed = [bind_value(table, k, v, dialect) for k, v in constants.items()]
    preparer = dialect.identifier_preparer
    name = preparer.format_table(table)
    sets = [preparer.quote(table.c[c].name) for c in columns]
    where = preparer.quote(table.c[key].name)
    fixed_sets = [preparer.quote(table.c[c].name) for c in constants]
    with driver_cursor(session) as cursor:
        if dialect.name == "sqlite" or len(values) < COPY_FROM:
            mark = "?" if dialect.paramstyle == "qmark" else "%s"
            assign = ", ".join(f"{q} = {mark}" for q in (*sets, *fixed_sets))
            if fixed:  # the constants go between the columns set and the key
                values = [(*v[:-1], *fixed, v[-1]) for v in values]
            cursor.executemany(f"UPDATE {name} SET {assign} WHERE {where} = {mark}", values)
            return
        # same column types, none of the constraints: only the key and the columns set
        staging = preparer.quote(f"pf_staging_{table.name}")
        keys = ", ".join([*sets, where])
        assign = ", ".join([f"{q} = s.{q}" for q in sets] + [f"{q} = %s" for q in fixed_sets])
        cursor.execute(f"DROP TABLE IF EXISTS {staging}")
        cursor.execute(
            f"CREATE TEMP TABLE {staging} ON COMMIT DROP AS SELECT {keys} FROM {name} WITH NO DATA"
        )
        with cursor.copy(f"COPY {staging} ({keys}) FROM STDIN") as copy:
            for v in values:
                copy.write_row(v)
        cursor.execute(f"ANALYZE {staging}")  # else the planner guesses its size
        cursor.execute(
            f"UPDATE {name} AS t SET {assign} FROM {staging} AS s WHERE t.{where} = s.{where}",
            fixed,
        )
        cursor.execute(f"DROP TABLE {staging}")


def _update_core(session: Session, table: Table, key: str, columns: list[str], rows) -> None:
    """:func:`update_rows` through SQLAlchemy Core (``columns``: the keys set)."""
    statement = (
        update(table)
        .where(table.c[key] == bindparam("k_key", type_=table.c[key].type))
        .values({c: bindparam(f"v_{c}", type_=table.c[c].type) for c in columns})
    )
    _plain_connection(session)
    session.execute(
        statement, [{"k_key": r[key], **{f"v_{c}": r[c] for c in columns}} for r in rows]
    )
