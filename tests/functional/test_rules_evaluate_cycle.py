"""evaluate_cycle: stored data in, one stored and audited decision per employee out."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

from sqlalchemy import func, insert, select

from promoflow.engine.cycles.evaluation import evaluate_cycle
from promoflow.engine.packs.store import active_pack, load_bundled, pack_by_version, store_pack
from promoflow.engine.storage.models import AuditEvent, Cycle, Decision, Employee, Metric, Period
from promoflow.rules.packs import bundled_packs, load_pack_text
from promoflow.rules.periods import parse_period

NOW = datetime(2026, 10, 8, 1, 0, tzinfo=UTC)


def add_employees(session, rows):
    session.execute(
        insert(Employee),
        [
            {"employee_id": e, "name": e, "track": t, "grade": g, "grade_since": since,
             "hire_date": None, "org_unit": "east", "position": None, "active": active,
             "updated_at": NOW}
            for e, t, g, since, active in rows
        ],
    )  # fmt: skip


def add_metrics(session, rows):
    for pid in sorted({r[1] for r in rows}):
        if session.get(Period, pid) is None:
            p = parse_period(pid)
            session.add(Period(period_id=pid, kind=p.kind, starts=p.starts, ends=p.ends))
    session.flush()
    session.execute(
        insert(Metric),
        [
            {"employee_id": e, "period_id": pid, "metric": m, "value": D(v), "import_id": None,
             "updated_at": NOW}
            for e, pid, m, v in rows
        ],
    )  # fmt: skip


def quarter(eid, pid, score, actual, target="100"):
    return [(eid, pid, "score", score), (eid, pid, "sales_actual", actual),
            (eid, pid, "sales_target", target)]  # fmt: skip


def open_cycle_row(session, track, period_id, pack):
    cycle = Cycle(
        cycle_id=f"{track}-{period_id}", track=track, period_id=period_id, milestone=None,
        pack_id=pack.id, pack_version=pack.version, opened_at=NOW, updated_at=NOW,
    )  # fmt: skip
    session.add(cycle)
    session.flush()
    return cycle


def sales_org(session):
    long_ago = date(2025, 1, 1)
    add_employees(
        session,
        [
            ("UP", "sales", "S5", date(2026, 7, 1), True),
            ("DOWN", "sales", "S5", long_ago, True),
            ("WAIT", "sales", "S5", long_ago, True),
            ("HALF", "sales", "S10", long_ago, True),
            ("GONE", "sales", "S5", long_ago, False),
            ("CS1", "cs", "普通客服代表·中级", long_ago, True),
        ],
    )
    add_metrics(
        session,
        [
            *quarter("UP", "2026Q2", "80", "80.01"),
            *quarter("UP", "2026Q3", "80", "80.01"),
            *quarter("DOWN", "2026Q2", "90", "95"),
            *quarter("DOWN", "2026Q3", "79.5", "95"),
            *quarter("WAIT", "2026Q3", "85", "90"),
        ],
    )


def test_a_quarterly_sales_cycle_decides_each_evaluated_employee_once(session):
    load_bundled(session, NOW)
    sales_org(session)
    cycle = open_cycle_row(session, "sales", "2026Q3", active_pack(session, "sales"))

    decisions = {d.employee_id: d for d in evaluate_cycle(session, cycle, NOW, "tester")}
    session.commit()

    assert set(decisions) == {"UP", "DOWN", "WAIT"}  # S10 is half-yearly; GONE is inactive
    up, down, wait = decisions["UP"], decisions["DOWN"], decisions["WAIT"]
    assert (up.outcome, up.to_grade, up.rule) == ("promoted", "S6", "sales.promote.quarterly")
    assert (down.outcome, down.to_grade) == ("demoted", "S4")
    assert down.reasons_zh[0] == "2026Q3 考核分 79.5 < 80 → 降一级（S5 → S4）"
    assert down.reasons_en[0] == "2026Q3 score 79.5 < 80 → down one grade (S5 → S4)"
    assert down.facts["score_q"] == "79.5"
    assert down.pack_version == bundled_packs()["sales"].version
    assert wait.outcome == "pending" and "2026Q2 score" in wait.missing
    events = session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "decision")
    )
    assert events == 3


def test_evaluating_a_cycle_twice_returns_the_same_decisions_and_writes_nothing_more(session):
    load_bundled(session, NOW)
    sales_org(session)
    cycle = open_cycle_row(session, "sales", "2026Q3", active_pack(session, "sales"))
    first = [(d.id, d.outcome) for d in evaluate_cycle(session, cycle, NOW, "tester")]
    count = session.scalar(select(func.count()).select_from(AuditEvent))
    second = [(d.id, d.outcome) for d in evaluate_cycle(session, cycle, NOW, "tester")]
    assert first == second
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == count
    assert session.scalar(select(func.count()).select_from(Decision)) == 3


def test_a_cycle_keeps_the_pack_version_it_opened_with_after_a_changed_pack_loads(session):
    load_bundled(session, NOW)
    sales_org(session)
    old = active_pack(session, "sales")
    cycle = open_cycle_row(session, "sales", "2026Q3", old)
    text = old.source.replace("and score_q >= 80 and", "and score_q >= 90 and")
    stricter = load_pack_text(text)
    store_pack(session, stricter, NOW, "hr")

    assert active_pack(session, "sales").version == stricter.version
    assert pack_by_version(session, "sales", old.version).version == old.version
    decisions = {d.employee_id: d for d in evaluate_cycle(session, cycle, NOW, "tester")}
    assert decisions["UP"].outcome == "promoted"  # the pinned pack, not the stricter one
    assert decisions["UP"].pack_version == old.version


def test_a_half_yearly_cycle_evaluates_only_the_half_yearly_grades(session):
    load_bundled(session, NOW)
    sales_org(session)
    add_metrics(
        session,
        [*quarter("HALF", "2026Q3", "79", "50"), *quarter("HALF", "2026Q4", "79", "50"),
         ("HALF", "2026H2", "sales_actual", "100"), ("HALF", "2026H2", "sales_target", "200")],
    )  # fmt: skip
    cycle = open_cycle_row(session, "sales", "2026H2", active_pack(session, "sales"))
    decisions = evaluate_cycle(session, cycle, NOW, "tester")
    assert [(d.employee_id, d.outcome, d.to_grade) for d in decisions] == [
        ("HALF", "demoted", "S9")
    ]
    assert decisions[0].rule == "sales.demote.half"
