"""Milestones move every case of a cycle in one transaction, idempotently, and survive reloads.

Decisions are inserted directly (as ``evaluate_cycle`` returns a cycle's existing decisions),
so these tests pin the workflow on hand-made outcomes whatever the rules decide. Every
scenario runs twice: in one session, and with a brand-new runtime (engine, sessions)
between steps — the persist-and-reload of SpiffWorkflow's tests.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from promoflow.engine.bootstrap import bootstrap
from promoflow.engine.cycles import service as cycles
from promoflow.engine.cycles import steps
from promoflow.engine.storage.models import (
    AuditEvent,
    Case,
    CycleMilestone,
    Decision,
    Employee,
    GradeHistory,
    Notice,
    StageResult,
    Vacancy,
)
from promoflow.errors import InputError, TransitionError
from tests.functional.import_files import import_results

TZ = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture
def packs_loaded(rt):
    """The bundled rule packs stored as ``promoflow init`` stores them."""
    from promoflow.engine.packs.store import load_bundled

    with rt.sessions() as session, session.begin():
        load_bundled(session, at("2026-01-01T00:00"))
    return rt


def employee(session, eid, track, grade, since="2025-01-01", unit="east"):
    session.add(
        Employee(
            employee_id=eid,
            name=f"员工{eid}",
            track=track,
            grade=grade,
            grade_since=date.fromisoformat(since),
            org_unit=unit,
            updated_at=at("2026-01-01T00:00"),
        )
    )


def decide(session, cid, eid, outcome, frm, to, *, probation=False, review=None, facts=None):
    cycle = session.get(cycles.Cycle, cid)
    session.add(
        Decision(
            cycle_id=cid,
            employee_id=eid,
            outcome=outcome,
            from_grade=frm,
            to_grade=to,
            rule=f"test.{outcome}",
            pack_id=cycle.pack_id,
            pack_version=cycle.pack_version,
            probation=probation,
            review=review,
            facts=facts or {},
            thresholds={},
            reasons_zh=[f"{outcome} 理由"],
            reasons_en=[f"{outcome} because"],
            missing=["2026Q2 score"] if outcome == "pending" else [],
            decided_at=at("2026-10-08T09:00"),
        )
    )


def create_cycle(session, cid, now):
    """The cycle row as ``run_milestone('open')`` creates it, before any decision."""
    return steps._create_cycle(session, cid, now)


class Driver:
    """Runs steps either in one runtime or in a fresh runtime per step (persist-and-reload)."""

    def __init__(self, rt, reload: bool):
        self.rt, self.reload, self.url = rt, reload, rt.url

    def runtime(self):
        if self.reload:
            self.rt.engine.dispose()
            self.rt = bootstrap(self.url, actor="tester")
        return self.rt

    def step(self, fn, *args):
        rt = self.runtime()
        with rt.sessions() as session, session.begin():
            return fn(session, *args)

    def states(self, cid):
        with self.runtime().sessions() as session:
            return dict(
                session.execute(
                    select(Case.employee_id, Case.state).where(Case.cycle_id == cid)
                ).all()
            )


SALES_Q = "sales-2026Q3"


def seed_sales_quarter(session):
    create_cycle(session, SALES_Q, at("2026-10-08T09:00"))
    rows = [
        ("E1", "S5", "promoted", "S6", {}),
        ("E2", "S5", "promoted", "S6", {}),
        ("E3", "S7", "promoted", "S8", {}),
        ("E4", "S5", "demoted", "S4", {}),
        ("E5", "S6", "unchanged", "S6", {}),
        ("E6", "S3", "unchanged", "S3", {"review": "elimination"}),
        ("E7", "S4", "pending", "S4", {}),
    ]
    for eid, grade, *_ in rows:
        employee(session, eid, "sales", grade)
    session.flush()
    for eid, grade, outcome, to, extra in rows:
        decide(session, SALES_Q, eid, outcome, grade, to, **extra)


@pytest.fixture(params=[False, True], ids=["one-session", "reload-between-steps"])
def driver(request, packs_loaded):
    return Driver(packs_loaded, request.param)


def run_sales_quarter(driver):
    d = driver
    d.step(seed_sales_quarter)
    d.step(steps.run_milestone, SALES_Q, "open", at("2026-10-08T09:00"), "scheduler")
    rows = [
        {"employee_id": "E1", "cycle": SALES_Q, "stage": "written_test", "value": "72"},
        {"employee_id": "E2", "cycle": SALES_Q, "stage": "written_test", "value": "59.99"},
    ]
    d.step(import_results, rows, "results-test.csv", at("2026-10-10T12:00"), "hr")
    d.step(steps.advance, SALES_Q, at("2026-10-11T18:00"), "hr")  # test_due
    d.step(steps.advance, SALES_Q, at("2026-10-12T09:00"), "hr")  # interview_notice
    rows = [{"employee_id": "E1", "cycle": SALES_Q, "stage": "interview", "value": "pass"}]
    d.step(import_results, rows, "results-interview.csv", at("2026-10-14T12:00"), "hr")
    d.step(steps.advance, SALES_Q, at("2026-10-15T18:00"), "hr")  # interview_due
    d.step(steps.advance, SALES_Q, at("2026-10-20T09:00"), "hr")  # announce
    return d.states(SALES_Q)


def test_a_sales_quarter_moves_each_case_to_where_policy_says(driver):
    states = run_sales_quarter(driver)
    assert states == {
        "E1": "announced",
        "E2": "test_failed",
        "E3": "test_missing",
        "E4": "announced",
        "E5": "announced",
        "E6": "review_opened",
        "E7": "waiting_data",
    }
    with driver.runtime().sessions() as session:
        history = session.scalars(select(GradeHistory).order_by(GradeHistory.employee_id)).all()
        assert [(h.employee_id, h.previous_grade, h.grade, h.effective_from) for h in history] == [
            ("E1", "S5", "S6", date(2026, 11, 1)),
            ("E4", "S5", "S4", date(2026, 11, 1)),
        ]
        # the grade changes on the effective date, not at announcement
        assert session.get(Employee, "E1").grade == "S5"
        kinds = dict(
            session.execute(select(Notice.employee_id + ":" + Notice.kind, Notice.state)).all()
        )
        assert set(kinds) == {
            "E1:test",
            "E2:test",
            "E3:test",
            "E1:interview",
            "E1:promotion",
            "E4:demotion",
        }
        flagged = dict(
            session.execute(
                select(Case.employee_id, Case.flagged).where(Case.flagged.is_not(None))
            ).all()
        )
        assert set(flagged) == {"E3", "E6", "E7"}
        assert "written_test result missing" in flagged["E3"]


def test_grade_changes_take_effect_on_the_first_of_the_next_month(driver):
    run_sales_quarter(driver)
    with pytest.raises(TransitionError, match="2026-11-01"):
        driver.step(steps.advance, SALES_Q, at("2026-10-31T23:59"), "hr")
    driver.step(steps.advance, SALES_Q, at("2026-11-01T00:00"), "hr")
    states = driver.states(SALES_Q)
    assert states["E1"] == "effective" and states["E4"] == "effective"
    with driver.runtime().sessions() as session:
        e1 = session.get(Employee, "E1")
        assert (e1.grade, e1.grade_since) == ("S6", date(2026, 11, 1))
        assert session.get(Employee, "E4").grade == "S4"
        assert session.get(Employee, "E5").grade == "S6"


def test_every_state_change_is_a_case_transition_audit_event(driver):
    run_sales_quarter(driver)
    with driver.runtime().sessions() as session:
        events = session.execute(
            select(AuditEvent.employee_id, AuditEvent.before, AuditEvent.after)
            .where(AuditEvent.kind == "case_transition", AuditEvent.employee_id == "E1")
            .order_by(AuditEvent.seq)
        ).all()
        path = [e.after["state"] for e in events]
        assert path == [
            "nominated",
            "test_notified",
            "test_passed",
            "interview_notified",
            "interview_passed",
            "approved",
            "announced",
        ]


def test_running_a_milestone_again_changes_nothing(packs_loaded):
    d = Driver(packs_loaded, False)
    run_sales_quarter(d)
    with d.rt.sessions() as session:
        before = (
            session.scalar(select(func.count()).select_from(AuditEvent)),
            session.scalar(select(func.count()).select_from(Notice)),
        )
    for step in ("open", "test_due", "interview_notice", "interview_due", "announce"):
        report = d.step(steps.run_milestone, SALES_Q, step, at("2026-10-21T09:00"), "again")
        assert not report.ran and report.note == "already ran"
    with d.rt.sessions() as session:
        after = (
            session.scalar(select(func.count()).select_from(AuditEvent)),
            session.scalar(select(func.count()).select_from(Notice)),
        )
    assert after == before


def test_a_late_written_test_pass_gets_its_interview_notice_at_once(packs_loaded):
    d = Driver(packs_loaded, False)
    run_sales_quarter(d)
    rows = [{"employee_id": "E3", "cycle": SALES_Q, "stage": "written_test", "value": "80"}]
    # after announcement the case still waits for HR, and a late result still counts
    d.step(import_results, rows, "late.csv", at("2026-10-21T10:00"), "hr")
    assert d.states(SALES_Q)["E3"] == "interview_notified"
    with d.rt.sessions() as session:
        assert session.scalar(
            select(func.count()).where(Notice.employee_id == "E3", Notice.kind == "interview")
        )


@pytest.mark.parametrize(
    ("row", "column", "words"),
    [
        ({"employee_id": "E5", "stage": "written_test", "value": "70"}, "stage", "not invited"),
        ({"employee_id": "E9", "stage": "written_test", "value": "70"}, "employee_id", "no case"),
        ({"employee_id": "E1", "stage": "interview", "value": "pass"}, "stage", "test_notified"),
        ({"employee_id": "E1", "stage": "written_test", "value": "abc"}, "value", "not a score"),
        ({"employee_id": "E1", "stage": "written_test", "value": "101"}, "value", "0–100"),
        ({"employee_id": "E1", "stage": "dance", "value": "70"}, "stage", "unknown stage"),
    ],
)
def test_a_bad_results_row_refuses_the_whole_file_and_names_the_row(
    packs_loaded, row, column, words
):
    d = Driver(packs_loaded, False)
    d.step(seed_sales_quarter)
    d.step(steps.run_milestone, SALES_Q, "open", at("2026-10-08T09:00"), "scheduler")
    good = {"employee_id": "E2", "cycle": SALES_Q, "stage": "written_test", "value": "90"}
    with pytest.raises(InputError) as caught:
        d.step(import_results, [good, {"cycle": SALES_Q, **row}], "r.csv", at("2026-10-09"), "hr")
    problems = caught.value.problems
    assert [(p.line, p.column) for p in problems] == [(3, column)]
    assert words in problems[0].message
    with d.rt.sessions() as session:
        assert session.scalar(select(func.count()).select_from(StageResult)) == 0
    assert d.states(SALES_Q)["E2"] == "test_notified"


def test_a_half_year_gives_vacancies_by_score_then_attainment_then_tenure(packs_loaded):
    cid = "sales-2026H2"
    d = Driver(packs_loaded, False)

    def seed(session):
        create_cycle(session, cid, at("2027-01-08T09:00"))
        for eid in ("H1", "H2", "H3", "H4"):
            employee(session, eid, "sales", "S12")
        session.add(
            Vacancy(
                org_unit="east", position="sales_manager", open=2, updated_at=at("2027-01-01T00:00")
            )
        )
        session.flush()
        facts = {
            "H1": {"attainment_half": "0.90", "months_in_grade": 12},
            "H2": {"attainment_half": "0.95", "months_in_grade": 12},
            "H3": {"attainment_half": "0.95", "months_in_grade": 24},
            "H4": {"attainment_half": "1.50", "months_in_grade": 36},
        }
        for eid, f in facts.items():
            decide(session, cid, eid, "promoted", "S12", "S13", facts=f)

    d.step(seed)
    d.step(steps.run_milestone, cid, "open", at("2027-01-08T09:00"), "scheduler")
    scores = {"H1": ("90", "80"), "H2": ("80", "90"), "H3": ("85", "85"), "H4": ("70", "70")}
    rows = [
        {"employee_id": e, "cycle": cid, "stage": "written_test", "value": t}
        for e, (t, _) in scores.items()
    ]
    d.step(import_results, rows, "t.csv", at("2027-01-10T09:00"), "hr")
    d.step(steps.run_milestone, cid, "interview_notice", at("2027-01-12T09:00"), "scheduler")
    rows = [
        {"employee_id": e, "cycle": cid, "stage": "interview", "value": i}
        for e, (_, i) in scores.items()
    ]
    d.step(import_results, rows, "i.csv", at("2027-01-14T09:00"), "hr")
    d.step(steps.run_milestone, cid, "announce", at("2027-01-20T09:00"), "scheduler")
    # all average 85 but H4 (70); H3 and H2 have the better attainment, H3 the longer tenure
    assert d.states(cid) == {
        "H1": "no_vacancy",
        "H2": "announced",
        "H3": "announced",
        "H4": "no_vacancy",
    }
    with d.rt.sessions() as session:
        assert session.scalars(select(Vacancy.open)).one() == 0


CS_Q = "cs-2026Q3"
CS_GRADES = ("普通客服代表·中级", "普通客服代表·高级", "大客户客服代表·中级")


def test_a_customer_service_probation_clears_at_50_and_goes_to_review_below(driver):
    from promoflow.engine.storage.models import Metric, Period

    def seed(session):
        create_cycle(session, CS_Q, at("2026-10-08T09:00"))
        for eid in ("C1", "C2", "C3", "C4"):
            employee(session, eid, "cs", CS_GRADES[1])
        session.flush()
        for eid in ("C1", "C2", "C3"):
            decide(session, CS_Q, eid, "demoted", CS_GRADES[1], CS_GRADES[0], probation=True)
        decide(session, CS_Q, "C4", "promoted", CS_GRADES[1], CS_GRADES[2])
        session.add(
            Period(
                period_id="2026-11", kind="month", starts=date(2026, 11, 1), ends=date(2026, 11, 30)
            )
        )
        session.flush()
        for eid, score in (("C1", "50"), ("C2", "49.99")):
            session.add(
                Metric(
                    employee_id=eid,
                    period_id="2026-11",
                    metric="score",
                    value=Decimal(score),
                    updated_at=at("2026-12-05T00:00"),
                )
            )

    driver.step(seed)
    driver.step(steps.run_milestone, CS_Q, "open", at("2026-10-08T09:00"), "scheduler")
    assert set(driver.states(CS_Q).values()) == {"decided", "nominated"}
    driver.step(steps.run_milestone, CS_Q, "announce", at("2026-10-20T09:00"), "scheduler")
    report = driver.step(
        steps.run_milestone, CS_Q, "probation_review", at("2026-12-08T09:00"), "scheduler"
    )
    assert report.steps == ["effective", "probation_review"]
    assert driver.states(CS_Q) == {
        "C1": "cleared",
        "C2": "dismissal_review",
        "C3": "on_probation",  # no score: waits, flagged, never decided by default
        "C4": "effective",
    }
    with driver.runtime().sessions() as session:
        assert session.get(Employee, "C4").grade == CS_GRADES[2]
        assert session.get(Employee, "C2").grade == CS_GRADES[0]
        kinds = set(session.execute(select(Notice.employee_id + ":" + Notice.kind)).scalars())
        assert {"C1:probation", "C2:probation", "C2:dismissal_review", "C4:promotion"} <= kinds
        assert "C1:dismissal_review" not in kinds
        assert (
            "score missing"
            in session.scalars(select(Case.flagged).where(Case.employee_id == "C3")).one()
        )
        lines = {r["employee_id"]: r for r in cycles.decisions_export(session, CS_Q)}
        assert lines["C2"]["review"] == "dismissal" and lines["C1"]["review"] is None
        status = cycles.cycle_status(session, CS_Q)
        assert status["waiting_on"]["department decision"] == 1
        assert status["steps_done"] == ["open", "announce", "effective", "probation_review"]


def test_a_milestone_before_opening_does_nothing(packs_loaded):
    with packs_loaded.sessions() as session, session.begin():
        report = steps.run_milestone(session, SALES_Q, "announce", at("2026-10-20T09:00"), "s")
    assert not report.ran and "not been opened" in report.note


def test_a_later_milestone_runs_the_earlier_ones_still_due(packs_loaded):
    d = Driver(packs_loaded, False)
    d.step(seed_sales_quarter)
    d.step(steps.run_milestone, SALES_Q, "open", at("2026-10-08T09:00"), "scheduler")
    report = d.step(steps.run_milestone, SALES_Q, "announce", at("2026-10-20T09:00"), "s")
    assert report.steps == ["test_due", "interview_notice", "interview_due", "announce"]
    with d.rt.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CycleMilestone)) == 5


def test_a_department_decides_a_dismissal_review_through_a_case_trigger(packs_loaded):
    from promoflow.engine.cases.moves import trigger

    d = Driver(packs_loaded, False)

    def seed(session):
        create_cycle(session, CS_Q, at("2026-10-08T09:00"))
        employee(session, "C9", "cs", CS_GRADES[1])
        session.flush()
        decide(session, CS_Q, "C9", "demoted", CS_GRADES[1], CS_GRADES[0], probation=True)

    d.step(seed)
    d.step(steps.run_milestone, CS_Q, "open", at("2026-10-08T09:00"), "scheduler")
    d.step(steps.run_milestone, CS_Q, "announce", at("2026-10-20T09:00"), "scheduler")
    rows = [{"employee_id": "C9", "cycle": CS_Q, "stage": "probation_review", "value": "fail"}]
    with pytest.raises(InputError, match="1 bad row"):  # not on probation before it takes effect
        d.step(import_results, rows, "early.csv", at("2026-10-25T09:00"), "hr")
    d.step(steps.run_milestone, CS_Q, "effective", at("2026-11-01T00:00"), "scheduler")
    d.step(import_results, rows, "review.csv", at("2026-12-01T09:00"), "hr")
    assert d.states(CS_Q) == {"C9": "dismissal_review"}
    with d.rt.sessions() as session, session.begin():
        case = session.scalars(select(Case).where(Case.employee_id == "C9")).one()
        with pytest.raises(TransitionError, match="allowed: dismiss, retain"):
            trigger(session, case, "announce", at("2026-12-10T09:00"), "dept")
        assert trigger(
            session, case, "retain", at("2026-12-10T09:00"), "dept", reason="部门审核保留"
        ) == ("retained")
    with d.rt.sessions() as session:
        last = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.kind == "case_transition")
            .order_by(AuditEvent.seq.desc())
        ).first()
        assert (last.actor, last.before, last.after["state"], last.reason) == (
            "dept",
            {"state": "dismissal_review"},
            "retained",
            "部门审核保留",
        )
        assert (
            session.scalar(
                select(func.count()).where(
                    Notice.employee_id == "C9", Notice.kind == "dismissal_review"
                )
            )
            == 1
        )


def test_an_interview_passed_after_the_announcement_is_announced_by_itself(packs_loaded):
    """POLICY.md §6: a late result moves the case on (it no longer waits for HR)."""
    d = Driver(packs_loaded, False)
    run_sales_quarter(d)
    late = [{"employee_id": "E3", "cycle": SALES_Q, "stage": "written_test", "value": "80"}]
    d.step(import_results, late, "late-test.csv", at("2026-10-21T10:00"), "hr")
    late = [{"employee_id": "E3", "cycle": SALES_Q, "stage": "interview", "value": "pass"}]
    d.step(import_results, late, "late-interview.csv", at("2026-10-22T10:00"), "hr")
    assert d.states(SALES_Q)["E3"] == "announced"
    with d.rt.sessions() as session:
        flagged = session.scalars(select(Case.flagged).where(Case.employee_id == "E3")).one()
        assert flagged is None
