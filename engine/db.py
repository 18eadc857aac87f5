"""Database engines, sessions and schema upgrades, for SQLite and PostgreSQL alike.

SQLite is opened with foreign keys on, a busy timeout, and SQLAlchemy (not pysqlite) in
charge of transactions. Every SQLite transaction starts with ``BEGIN IMMEDIATE``: it takes
the write lock up front, so two writers queue (busy timeout) instead of one failing with
"database is locked" when it upgrades a read lock. SQLite is the embedded, one-writer
database; concurrent use belongs on PostgreSQL.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from promoflow.settings import normalise_url

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for ``url`` with the per-dialect settings promoflow relies on."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        seconds = busy_timeout_seconds()
        engine = create_engine(url, connect_args={"timeout": seconds}, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def busy_timeout_seconds() -> float:
    """How long a SQLite writer waits for another (``PROMOFLOW_SQLITE_BUSY_TIMEOUT``, s)."""
    return float(os.environ.get("PROMOFLOW_SQLITE_BUSY_TIMEOUT", "30"))


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - driver callback
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_seconds() * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover - driver callback
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (services return them)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """One transaction: commit when the block ends, roll back if it raises."""
    with session_factory(engine)() as session, session.begin():
        yield session


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
