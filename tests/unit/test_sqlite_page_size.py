"""New SQLite databases are created with large pages; existing ones keep theirs."""

from __future__ import annotations

import sqlite3

import pytest

from promoflow.engine.storage.db import JOURNAL_ENV, PAGE_SIZE_ENV, make_engine, reader
from promoflow.errors import ConfigError


def _pragma(path, name: str):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


def _page_size(path) -> int:
    return _pragma(path, "page_size")


def _write_and_read(url: str) -> list[int]:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        with engine.connect() as conn:
            return [x for (x,) in conn.exec_driver_sql("SELECT x FROM t")]
    finally:
        engine.dispose()


def test_a_new_database_gets_32_kib_pages(tmp_path):
    path = tmp_path / "new.db"
    assert _write_and_read(f"sqlite:///{path}") == [1]
    assert _page_size(path) == 32768
    # still WAL: the page size was set before the header was written
    assert _pragma(path, "journal_mode") == "wal"


def test_the_page_size_can_be_chosen(tmp_path, monkeypatch):
    monkeypatch.setenv(PAGE_SIZE_ENV, "8192")
    path = tmp_path / "chosen.db"
    _write_and_read(f"sqlite:///{path}")
    assert _page_size(path) == 8192


def test_an_existing_database_keeps_its_page_size(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute("PRAGMA page_size=4096")
    old.execute("PRAGMA journal_mode=wal")
    old.execute("CREATE TABLE t (x INTEGER)")
    old.commit()
    old.close()
    url = f"sqlite:///{path}"
    assert _write_and_read(url) == [1]
    with reader(url) as session:  # a read-only connection opens it too
        assert session.connection().exec_driver_sql("SELECT count(*) FROM t").scalar() == 1
    assert _page_size(path) == 4096


def test_a_rollback_journal_database_gets_them_too(tmp_path, monkeypatch):
    monkeypatch.setenv(JOURNAL_ENV, "delete")
    path = tmp_path / "delete.db"
    _write_and_read(f"sqlite:///{path}")
    assert (_page_size(path), _pragma(path, "journal_mode")) == (32768, "delete")


@pytest.mark.parametrize("bad", ["32k", "1000", "256", "131072", ""])
def test_a_bad_page_size_is_refused_by_name(tmp_path, monkeypatch, bad):
    monkeypatch.setenv(PAGE_SIZE_ENV, bad)
    with pytest.raises(ConfigError, match=PAGE_SIZE_ENV):
        make_engine(f"sqlite:///{tmp_path / 'bad.db'}")
