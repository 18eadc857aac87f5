"""Many rows per INSERT on SQLite: every row lands, in order, exactly as one by one."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promoflow.engine.storage.bulk import SQLITE_ROWS_PER_INSERT, sqlite_insert_rows

HEAD = "INSERT INTO t (a, b, c) VALUES"


def _table() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b INTEGER, c TEXT UNIQUE)")
    return conn


values = st.tuples(
    st.one_of(st.none(), st.text(max_size=8)),
    st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
    st.none(),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(values, max_size=3 * SQLITE_ROWS_PER_INSERT + 7))
def test_rows_land_in_order_with_nulls_as_null(rows):
    conn = _table()
    sqlite_insert_rows(conn.cursor(), HEAD, 3, rows)
    stored = conn.execute("SELECT id, a, b, c FROM t ORDER BY id").fetchall()
    # one row per row given, numbered in the order given, values (and NULLs) unchanged
    assert stored == [(i + 1, *row) for i, row in enumerate(rows)]
    assert conn.execute("SELECT count(*) FROM t WHERE c IS NULL").fetchone()[0] == len(rows)


@pytest.mark.parametrize("count", [0, 1, SQLITE_ROWS_PER_INSERT, SQLITE_ROWS_PER_INSERT + 1, 120])
def test_whole_and_partial_statements_give_every_row(count):
    conn = _table()
    rows = [(f"a{i}", i, f"c{i}") for i in range(count)]
    sqlite_insert_rows(conn.cursor(), HEAD, 3, rows)
    assert conn.execute("SELECT a, b, c FROM t ORDER BY id").fetchall() == rows


def test_a_bad_row_fails_the_call_and_its_transaction_rolls_back_whole():
    conn = _table()
    conn.isolation_level = None
    conn.execute("BEGIN")
    rows = [(f"a{i}", i, f"c{i}") for i in range(70)]
    rows[60] = ("dup", 60, "c3")  # UNIQUE c, in the second (partial) statement
    with pytest.raises(sqlite3.IntegrityError, match=r"UNIQUE constraint failed: t\.c"):
        sqlite_insert_rows(conn.cursor(), HEAD, 3, rows)
    conn.execute("ROLLBACK")
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 0
