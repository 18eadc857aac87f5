"""Driver-level bulk writes (``bulk.insert_rows``, ``bulk.update_rows``) store exactly
what SQLAlchemy's own executemany stores: the same text, storage class and values read
back through the ORM, column type by column type, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import Table, func, insert, select, text

from promoflow.engine.storage import bulk
from promoflow.engine.storage.models import (
    Case,
    Cycle,
    Employee,
    GradeHistory,
    Notice,
    StageResult,
)

NOW = datetime(2026, 10, 8, 1, 2, 3, 456789, tzinfo=UTC)
CST = timezone(timedelta(hours=8))
CYCLE = "sales-2026Q3"
#: more rows than the PostgreSQL COPY / staging-table threshold, so both driver paths run
N = 60


def _employees(prefix: str) -> list[dict]:
    return [
        {
            "employee_id": f"{prefix}{i:03d}",
            "name": "张三 O'Brien\t\\" if i % 2 else f"Name {i}",
            "track": "sales",
            "grade": f"S{i % 7}",
            "grade_since": date(2025, 1 + i % 12, 1 + i % 28),
            "hire_date": None if i % 3 else date(2020, 2, 29),
            "org_unit": None if i % 5 == 0 else "华东/一部",
            "position": "销售",
            # ``active`` left out: its Python default (True) applies
            "updated_at": NOW.astimezone(CST) + timedelta(microseconds=i),
        }
        for i in range(N)
    ]


def _notices(prefix: str, case_ids: dict[str, int]) -> list[dict]:
    return [
        {
            "idempotency_key": f"{CYCLE}:{prefix}{i:03d}:test",
            "cycle_id": CYCLE,
            "employee_id": f"{prefix}{i:03d}",
            "case_id": None if i % 4 == 0 else case_ids[f"{prefix}{i:03d}"],
            "kind": "test",
            "lang": "zh",
            "recipient": f"{prefix}{i:03d}@localhost",
            "subject": "笔试通知",
            "body": "第一行\n\t第二行 \\ 'quoted' \"double\"\n",
            "params": {
                "name": "张三",
                "pass_mark": "60",
                "reasons": ["达标 ≥ 60", "two"],
                "none": None,
                "n": i,
                "nested": {"a": [1, 2.5, True]},
            },
            "state": "pending",
            # ``attempts`` left out: its Python default (0) applies
            "created_at": NOW + timedelta(seconds=i),
        }
        for i in range(N)
    ]


def _cases(prefix: str) -> list[dict]:
    return [
        {
            "cycle_id": CYCLE,
            "employee_id": f"{prefix}{i:03d}",
            "kind": "promotion" if i % 2 else "demotion",
            "state": "nominated",
            "flagged": None if i % 3 else "data missing: 销售额",
            "updated_at": NOW,
            "decision_id": None,
            "effective_on": None if i % 2 else date(2026, 11, 1),
        }
        for i in range(N)
    ]


def _history(prefix: str) -> list[dict]:
    return [
        {
            "employee_id": f"{prefix}{i:03d}",
            "track": "sales",
            "grade": "S3",
            "previous_grade": None if i % 2 else "S2",
            "effective_from": date(2026, 11, 1),
            "source": "cycle",
            "reason": f"{CYCLE} promotion (rule)",
            "cycle_id": CYCLE,
            "recorded_at": NOW,
        }
        for i in range(N)
    ]


def _results(prefix: str) -> list[dict]:
    return [
        {
            "cycle_id": CYCLE,
            "employee_id": f"{prefix}{i:03d}",
            "stage": "written_test",
            "value": "72.5",
            "score": None if i % 4 == 0 else Decimal("72.125") + i,
            "passed": None if i % 3 == 0 else bool(i % 2),
            "recorded_at": NOW,
        }
        for i in range(N)
    ]


def _old(session, table: Table, rows: list[dict]) -> None:
    """How the rows were written before: SQLAlchemy Core executemany."""
    session.execute(insert(table), rows)


def _stored(
    session, table: Table, key: str, prefix: str, skip: tuple[str, ...] = ()
) -> list[tuple]:
    """Every column except the primary key, as the database holds it, per row of ``prefix``."""
    dialect = session.get_bind().dialect.name
    columns = [c for c in table.c if (not c.primary_key or c.name == key) and c.name not in skip]
    parts = []
    for c in columns:
        if dialect == "sqlite":
            parts.append(f"typeof(\"{c.name}\") || ':' || coalesce(quote(\"{c.name}\"), '')")
        else:
            parts.append(
                f"pg_typeof(\"{c.name}\")::text || ':' || coalesce(\"{c.name}\"::text, '~')"
            )
    rows = session.execute(
        text(f'SELECT {", ".join(parts)} FROM {table.name} ORDER BY "{key}"')
    ).all()
    out = []
    for row in rows:
        values = list(row)
        k = values[columns.index(table.c[key])]
        if prefix in k:
            out.append(tuple(v.replace(prefix, "#") for v in values))
    return out


def _orm(session, model, key: str, prefix: str, skip: tuple[str, ...] = ()) -> list[dict]:
    """Every mapped attribute except the id, read back through the ORM, per row of ``prefix``."""
    session.expire_all()
    out = []
    for obj in session.scalars(select(model).order_by(getattr(model, key))):
        if prefix not in getattr(obj, key):
            continue
        values = {}
        for column in model.__table__.c:
            if (column.primary_key and column.name != key) or column.name in skip:
                continue
            value = getattr(obj, column.key)
            values[column.key] = value.replace(prefix, "#") if isinstance(value, str) else value
        out.append(values)
    return out


def _seed_cycle(session) -> None:
    session.add(
        Cycle(
            cycle_id=CYCLE,
            track="sales",
            period_id="2026Q3",
            milestone="open",
            pack_id="sales",
            pack_version="x" * 64,
            updated_at=NOW,
        )
    )
    session.flush()


def test_inserts_store_what_sqlalchemy_stores(session):
    _seed_cycle(session)
    emp = Employee.__table__
    _old(session, emp, _employees("OLD"))
    bulk.insert_rows(session, emp, _employees("NEW"))
    for table, rows in (
        (Case.__table__, _cases),
        (GradeHistory.__table__, _history),
        (StageResult.__table__, _results),
    ):
        _old(session, table, rows("OLD"))
        bulk.insert_rows(session, table, rows("NEW"))
    case_ids = dict(session.execute(select(Case.employee_id, Case.id)).all())
    _old(session, Notice.__table__, _notices("OLD", case_ids))
    bulk.insert_rows(session, Notice.__table__, _notices("NEW", case_ids))
    session.flush()

    for table, key in (
        (emp, "employee_id"),
        (Case.__table__, "employee_id"),
        (GradeHistory.__table__, "employee_id"),
        (StageResult.__table__, "employee_id"),
        (Notice.__table__, "idempotency_key"),
    ):
        # case ids differ between the two sets by construction
        skip = ("case_id",) if table is Notice.__table__ else ()
        old = _stored(session, table, key, "OLD", skip)
        new = _stored(session, table, key, "NEW", skip)
        assert len(old) == N
        assert new == old, table.name
    for model, key in (
        (Employee, "employee_id"),
        (Case, "employee_id"),
        (GradeHistory, "employee_id"),
        (StageResult, "employee_id"),
        (Notice, "idempotency_key"),
    ):
        skip = ("case_id",) if model is Notice else ()
        old, new = _orm(session, model, key, "OLD", skip), _orm(session, model, key, "NEW", skip)
        assert new == old, model.__name__
    employees = _orm(session, Employee, "employee_id", "NEW")
    assert all(e["active"] is True for e in employees)
    assert employees[1]["updated_at"] == NOW + timedelta(microseconds=1)
    notices = _orm(session, Notice, "idempotency_key", "NEW")
    assert {n["attempts"] for n in notices} == {0}
    assert notices[3]["params"]["reasons"] == ["达标 ≥ 60", "two"]
    scores = _orm(session, StageResult, "employee_id", "NEW")
    assert scores[1]["score"] == Decimal("73.125") and scores[1]["passed"] is True


@pytest.mark.parametrize("count", [3, N])
def test_updates_store_what_sqlalchemy_stores(session, count):
    _seed_cycle(session)
    emp = Employee.__table__
    _old(session, emp, _employees("OLD"))
    _old(session, emp, _employees("NEW"))
    _old(session, Case.__table__, _cases("OLD"))
    _old(session, Case.__table__, _cases("NEW"))
    later = NOW.astimezone(CST) + timedelta(days=3, microseconds=7)

    def employee_updates(prefix):
        return [
            {
                "employee_id": f"{prefix}{i:03d}",
                "grade": f"S{i % 5 + 1}",
                "grade_since": date(2026, 11, 1),
                "updated_at": later,
            }
            for i in range(count)
        ]

    ids = dict(session.execute(select(Case.employee_id, Case.id)).all())

    def case_updates(prefix):
        return [
            {
                "id": ids[f"{prefix}{i:03d}"],
                "state": "announced",
                "flagged": None if i % 2 else "still waiting: 人力资源部",
                "updated_at": later,
            }
            for i in range(count)
        ]

    bulk._update_core(
        session, emp, "employee_id", ["grade", "grade_since", "updated_at"], employee_updates("OLD")
    )
    bulk.update_rows(session, emp, "employee_id", employee_updates("NEW"))
    bulk._update_core(
        session, Case.__table__, "id", ["state", "flagged", "updated_at"], case_updates("OLD")
    )
    bulk.update_rows(session, Case.__table__, "id", case_updates("NEW"))

    for table in (emp, Case.__table__):
        old = _stored(session, table, "employee_id", "OLD")
        new = _stored(session, table, "employee_id", "NEW")
        assert new == old, table.name
    for model in (Employee, Case):
        old = _orm(session, model, "employee_id", "OLD")
        new = _orm(session, model, "employee_id", "NEW")
        assert new == old, model.__name__
    changed = _orm(session, Case, "employee_id", "NEW")
    assert [c["state"] for c in changed] == ["announced"] * count + ["nominated"] * (N - count)
    assert changed[0]["updated_at"] == later
    assert session.scalar(select(func.count()).where(Employee.grade_since == date(2026, 11, 1)))


def test_a_row_missing_a_key_fails_as_sqlalchemy_makes_it_fail(session):
    broken = _employees("BAD")[:2]
    del broken[1]["name"]
    with pytest.raises(Exception, match="name"):
        bulk.insert_rows(session, Employee.__table__, broken)


@pytest.mark.parametrize("count", [3, N])
def test_updates_with_constants_store_what_sqlalchemy_stores(session, count):
    """``constants`` are set on every row as if each row carried them."""
    emp = Employee.__table__
    _old(session, emp, _employees("OLD"))
    _old(session, emp, _employees("NEW"))
    later = NOW.astimezone(CST) + timedelta(days=5)

    def updates(prefix):
        return [{"employee_id": f"{prefix}{i:03d}", "grade": f"S{i % 3}"} for i in range(count)]

    columns = ["grade", "updated_at"]
    old = [{**row, "updated_at": later} for row in updates("OLD")]
    bulk._update_core(session, emp, "employee_id", columns, old)
    bulk.update_rows(session, emp, "employee_id", updates("NEW"), {"updated_at": later})
    assert _stored(session, emp, "employee_id", "NEW") == _stored(
        session, emp, "employee_id", "OLD"
    )
    assert _orm(session, Employee, "employee_id", "NEW")[0]["updated_at"] == later
