"""Which databases another process may read while we write, and that readers cannot write."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from promoflow.engine.storage.db import (
    JOURNAL_ENV,
    export_snapshot,
    make_engine,
    reader,
    reader_url,
)


def test_a_wal_sqlite_file_can_be_read_by_another_process(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    assert reader_url(engine) == f"sqlite:///{tmp_path / 'a.db'}"


def test_rollback_journal_and_memory_databases_cannot(tmp_path, monkeypatch):
    assert reader_url(make_engine("sqlite://")) is None
    monkeypatch.setenv(JOURNAL_ENV, "delete")
    assert reader_url(make_engine(f"sqlite:///{tmp_path / 'b.db'}")) is None


def test_a_reader_reads_while_a_writer_holds_the_lock_and_cannot_write(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    writer = make_engine(url)
    with writer.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    with writer.begin() as conn:  # BEGIN IMMEDIATE: the write lock is held
        conn.exec_driver_sql("INSERT INTO t VALUES (2)")
        with reader(url) as session:
            assert session.execute(text("SELECT x FROM t")).scalars().all() == [1]
            with pytest.raises(Exception, match="attempt to write a readonly database") as refused:
                session.execute(text("INSERT INTO t VALUES (3)"))
            assert isinstance(refused.value.orig, sqlite3.OperationalError)


def test_readers_sharing_an_exported_snapshot_do_not_see_later_commits(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("snapshot export is PostgreSQL's; on SQLite the writer's lock stops commits")
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE snap_t (x INTEGER)")
        conn.exec_driver_sql("INSERT INTO snap_t VALUES (1)")
    with Session(engine) as writer, writer.begin():
        snapshot = export_snapshot(writer)
        with engine.begin() as other:  # another process commits meanwhile
            other.exec_driver_sql("INSERT INTO snap_t VALUES (2)")
        with reader(db_url, snapshot) as session:
            assert session.execute(text("SELECT x FROM snap_t")).scalars().all() == [1]
        with reader(db_url) as session:
            assert sorted(session.execute(text("SELECT x FROM snap_t")).scalars()) == [1, 2]
    engine.dispose()
