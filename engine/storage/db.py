"""Database engines, sessions and schema upgrades, for SQLite and PostgreSQL alike.

SQLite is opened with foreign keys on, a busy timeout, and SQLAlchemy (not pysqlite) in
charge of transactions. Every SQLite transaction starts with ``BEGIN IMMEDIATE``: it takes
the write lock up front, so two writers queue (busy timeout) instead of one failing with
"database is locked" when it upgrades a read lock. SQLite is the embedded, one-writer
database; concurrent use belongs on PostgreSQL.

File databases run in WAL mode (``PROMOFLOW_SQLITE_JOURNAL`` overrides it, e.g. ``delete``
for a database on a network share, where WAL cannot work): readers such as the web
console no longer wait for a milestone's transaction, and a transaction of 100k rows no
longer syncs the rollback journal every time its changed pages overflow the page cache —
opening a 100k-employee cycle took 52 s in rollback-journal mode and 28 s in WAL, same
machine and load. ``synchronous`` stays FULL: a committed decision survives a power cut.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from promoflow import settings
from promoflow.engine.storage.json_text import column_text
from promoflow.settings import CACHE_ENV as CACHE_ENV
from promoflow.settings import JOURNAL_ENV as JOURNAL_ENV
from promoflow.settings import PAGE_SIZE_ENV as PAGE_SIZE_ENV
from promoflow.settings import Settings, normalise_url

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(
    url: str, *, readonly: bool = False, config: Settings | None = None, **kwargs
) -> Engine:
    """An engine for ``url`` with the per-dialect settings promoflow relies on.

    JSON columns are written by :func:`promoflow.engine.storage.json_text.column_text` (compact
    UTF-8 through orjson; the standard library's ``\\uXXXX`` escapes doubled the size of
    the Chinese explanations). A ``readonly`` SQLite engine begins its transactions
    without taking the write lock and refuses writes (``PRAGMA query_only``): a worker
    reading while the writing process holds the lock. ``config`` holds the SQLite
    settings (default: as the environment says now).
    """
    url = normalise_url(url)
    kwargs.setdefault("json_serializer", column_text)
    if url.startswith("sqlite"):
        config = config or settings.current()
        seconds = busy_timeout_seconds(config)
        engine = create_engine(url, connect_args={"timeout": seconds}, **kwargs)
        _configure_sqlite(engine, journal_mode(url, config), readonly, config)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def busy_timeout_seconds(config: Settings | None = None) -> float:
    """How long a SQLite writer waits for another (``PROMOFLOW_SQLITE_BUSY_TIMEOUT``, s)."""
    return (config or settings.current()).sqlite_busy_timeout


def sqlite_cache_mib(config: Settings | None = None) -> int:
    """SQLite's page cache per connection, MiB (``PROMOFLOW_SQLITE_CACHE_MIB``, default 64).

    Grown only as pages are used. SQLite's own default (2 MiB) is far smaller than one
    milestone's writes at 100k employees: changed pages spill to the WAL and are read back
    and rewritten (appending 285k audit events: 177k page writes and 130k reads with 2 MiB,
    130k and 83k with 256 MiB; 2.4 s → 2.2 s with 64 MiB, 2.0 s with 256 MiB).
    """
    return (config or settings.current()).sqlite_cache_mib


def sqlite_page_size(config: Settings | None = None) -> int:
    """The page size a new SQLite database is created with (``PROMOFLOW_SQLITE_PAGE_SIZE``,
    bytes, default 32768); an existing database keeps the size it was created with.

    SQLite's default of 4 KiB makes a milestone's large write a matter of many small
    pages: at commit each page is written to the WAL as two writes, then copied into the
    database, and this machine's system calls are not cheap. Writing one 100k open's rows
    and committing took 3.1-3.5 s with 4 KiB pages, 2.2-2.3 s with 16 KiB, 1.8-1.9 s with
    32 KiB and 2.0 s with 64 KiB (docs/performance.md, eighth round); a small write (an
    override) writes a few 32 KiB pages instead of a few 4 KiB ones, which no one notices.
    """
    return (config or settings.current()).sqlite_page_size


def journal_mode(url: str, config: Settings | None = None) -> str | None:
    """The journal mode a SQLite URL is opened in: WAL for files (``PROMOFLOW_SQLITE_JOURNAL``
    overrides it), none for ``:memory:``."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return (config or settings.current()).sqlite_journal


def _configure_sqlite(
    engine: Engine, journal: str | None, readonly: bool, config: Settings
) -> None:
    # sqlite3 binds None as NULL either way, but first looks for an adapter for it (None
    # is not among the types it binds as they are) and, finding none, for ``__adapt__``
    # and ``__conform__``: about 4 % of the instructions of inserting an open's rows. With
    # an adapter that answers None for None (``{}.get``, a C function: no Python frame per
    # value) the search ends at the first dictionary lookup. Registered when a SQLite
    # engine is made, not at import; process-wide, and what None is bound as is unchanged.
    sqlite3.register_adapter(type(None), {}.get)
    page_size = sqlite_page_size(config)
    busy_ms = int(busy_timeout_seconds(config) * 1000)
    cache_kib = 1024 * sqlite_cache_mib(config)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - driver callback
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        # before anything writes the file's header (WAL mode does): only a new, empty
        # database takes it; an existing one keeps its own
        cursor.execute(f"PRAGMA page_size={page_size}")
        if journal:
            # persistent in the file; a no-op once set
            cursor.execute(f"PRAGMA journal_mode={journal}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA cache_size={-cache_kib}")
        if readonly:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover - driver callback
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


#: this process's read-only engines by URL (worker processes open their own connections)
_READERS: dict[tuple[int, str], Engine] = {}


_SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f-]+$")


@contextmanager
def reader(url: str, snapshot: str | None = None) -> Iterator[Session]:
    """A read-only session on ``url`` owned by this process (never a forked parent's pool).

    The engine is kept for the life of the process, so a worker reading chunk after chunk
    connects once. ``snapshot`` (PostgreSQL, from :func:`export_snapshot`) makes the
    session see exactly what the exporting transaction saw, so every worker of one
    milestone reads the same database state even if another process commits meanwhile.
    (On SQLite the writer holds the write lock throughout: nothing can commit.)
    """
    key = (os.getpid(), url)
    engine = _READERS.get(key)
    if engine is None:
        options = {} if url.startswith("sqlite") else {"pool_pre_ping": False}
        engine = _READERS[key] = make_engine(url, readonly=True, **options)
    with Session(engine) as session:
        if snapshot is not None and engine.dialect.name == "postgresql":
            if not _SNAPSHOT_ID.match(snapshot):
                raise ValueError(f"not a PostgreSQL snapshot id: {snapshot!r}")
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            # must be the transaction's first statement; takes no bound parameters
            session.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
        yield session


def export_snapshot(session: Session) -> str | None:
    """The id of the session's current snapshot, for :func:`reader` (PostgreSQL; valid
    until the session's transaction ends), or None on SQLite."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    return session.execute(text("SELECT pg_export_snapshot()")).scalar_one()


def reader_url(engine: Engine) -> str | None:
    """The URL another process can read this database through while we write, or None.

    PostgreSQL always; a SQLite file only in WAL mode (in rollback-journal mode a reader
    would wait for the writer's lock); never an in-memory database.
    """
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "sqlite" and journal_mode(url) != "wal":
        return None
    return url


def is_sqlite(session: Session) -> bool:
    """Whether the session's database is SQLite (qmark parameters, no COPY, no advisory lock)."""
    return session.get_bind().dialect.name == "sqlite"


def driver_cursor(session: Session):
    """A plain client-side DBAPI cursor on the session's connection, inside its transaction
    (closed when the ``with`` block ends).

    For bulk work at driver level: no per-row binding or result objects, and none of the
    execution options a caller may have left on the connection (a ``yield_per`` read makes
    every later statement a server-side cursor on PostgreSQL, which cannot executemany).
    """
    return closing(session.connection().connection.driver_connection.cursor())


def driver_rows(session: Session, statement, *, typed: bool = False) -> list[tuple]:
    """All rows of ``statement`` straight from the DBAPI cursor, values as the driver
    returns them (no result objects): for bulk reads. A worker reading its chunk of
    metrics spent a fifth of its time in SQLAlchemy's row buffering; the ids of a written
    chunk cost five times as much through the ORM.

    ``typed``: each value as SQLAlchemy would read it (its column type's
    :func:`result_processor`, each distinct value converted once: SQLite keeps dates as
    text); else as the driver returns it, for plain columns.
    """
    dialect = session.get_bind().dialect
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    if compiled.positiontup is not None:
        params = tuple(params[name] for name in compiled.positiontup)
    with driver_cursor(session) as cursor:
        cursor.execute(compiled.string, params)
        rows = cursor.fetchall()
        coltypes = [d[1] for d in cursor.description]
    if not typed or not rows:
        return rows
    columns = list(zip(*rows, strict=True))
    converted = False
    for at, column in enumerate(statement.selected_columns):
        process = result_processor(column.type, dialect, coltypes[at])
        if process is not None:
            memo = {v: process(v) for v in set(columns[at])}
            columns[at] = tuple(map(memo.__getitem__, columns[at]))
            converted = True
    return list(zip(*columns, strict=True)) if converted else rows


def result_processor(type_, dialect, coltype=None):
    """How SQLAlchemy turns a driver value of ``type_`` into Python (None: as it is): the
    public ``TypeEngine.result_processor`` of the type's dialect implementation."""
    return type_.dialect_impl(dialect).result_processor(dialect, coltype)


@contextmanager
def fk_checks_by_index(session: Session) -> Iterator[None]:
    """PostgreSQL: foreign-key checks first made inside the block look up the referenced
    row by its index, whatever the statistics say; a no-op on SQLite.

    Why: PostgreSQL plans a foreign-key check once per connection, at its first use, and
    keeps the plan until the referenced table is analysed again. A chunked write whose
    first chunk is checked against a table that is tiny then, or that statistics call
    empty (analysed while empty: a routine ``ANALYZE``, a restore), keeps a full-scan
    plan while the table grows: a 100k open took 95 s instead of 13 s. Inside the block
    sequential scans are off and kept plans are dropped (``DISCARD PLANS``), so those
    checks are planned again, by index; the setting is restored when the block ends.
    """
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    with driver_cursor(session) as cursor:
        cursor.execute("SELECT current_setting('enable_seqscan')")
        (before,) = cursor.fetchone()
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("DISCARD PLANS")
    try:
        yield
    finally:
        with driver_cursor(session) as cursor:
            cursor.execute("SELECT set_config('enable_seqscan', %s, true)", (before,))


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (services return them)."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    """An Alembic config pointing at the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Create the schema, or bring it up to the newest migration."""
    command.upgrade(alembic_config(engine), "head")


def schema_exists(engine: Engine) -> bool:
    """Whether ``promoflow init`` has run against this database."""
    return inspect(engine).has_table("alembic_version")
