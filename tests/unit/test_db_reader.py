"""Which databases another process may read while we write, and that readers cannot write."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text

from promoflow.engine.db import JOURNAL_ENV, make_engine, reader, reader_url


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
            with pytest.raises(Exception) as refused:
                session.execute(text("INSERT INTO t VALUES (3)"))
            assert isinstance(refused.value.orig, sqlite3.OperationalError)
