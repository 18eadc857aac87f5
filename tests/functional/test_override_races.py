"""Overrides that collide (POLICY.md §6, issue 20 item 6): one open override per case, an
approval that re-checks what its proposal saw, and two managers deciding the same override
at the same moment — exactly one of them wins, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlalchemy import func, select

from promoflow.engine.overrides import service as overrides
from promoflow.engine.storage.models import AuditEvent, Employee, GradeHistory, Override
from promoflow.errors import PromoflowError, TransitionError
from tests.functional.audit_seed import CYCLE, TZ, seed_cycle

NOW = datetime(2026, 10, 9, 10, 0, tzinfo=TZ)
TRIALS = 20


@pytest.fixture
def cycle_rt(rt, tmp_path):
    seed_cycle(rt, tmp_path)
    return rt


def propose(rt, actor="olivia", **fields):
    with rt.unit_of_work() as s:
        return overrides.propose(s, now=NOW, actor=actor, **fields).id


def decide(rt, verb, override_id, actor, note="ok"):
    with rt.unit_of_work() as s:
        return getattr(overrides, verb)(s, override_id, now=NOW, actor=actor, note=note).status


def test_a_second_open_override_on_a_case_is_refused_naming_the_first(cycle_rt):
    first = propose(cycle_rt, employee_id="E05", cycle_id=CYCLE, kind="cancel_demotion",
                    reason="sick leave")  # fmt: skip
    named = rf"E05 already has override #{first} \(cancel_demotion, proposed by olivia\)"
    with pytest.raises(TransitionError, match=named + " waiting in sales-2026Q3"):
        propose(cycle_rt, "mia", employee_id="E05", cycle_id=CYCLE, kind="change_demotion",
                reason="milder", params={"to_grade": "S4"})  # fmt: skip
    decide(cycle_rt, "reject", first, "mia", "not enough evidence")
    again = propose(cycle_rt, employee_id="E05", cycle_id=CYCLE, kind="cancel_demotion",
                    reason="certificate arrived")  # fmt: skip
    assert again != first


def test_an_approval_whose_grade_moved_since_the_proposal_is_refused_as_stale(cycle_rt):
    up = propose(cycle_rt, employee_id="E07", kind="set_grade", reason="grading error",
                 params={"to_grade": "S6", "effective": "2026-11-01"})  # fmt: skip
    with cycle_rt.unit_of_work() as s:  # the grade moves some other way meanwhile
        s.get(Employee, "E07").grade = "S7"
    with pytest.raises(TransitionError, match=r"override #\d+ is stale: E07's grade is S7 now, "
                       "the proposal saw S5"):  # fmt: skip
        decide(cycle_rt, "approve", up, "mia")
    with cycle_rt.sessions() as s:
        assert s.get(Override, up).status == "proposed"
        assert s.get(Employee, "E07").grade == "S7"


def _race(rt, override_id: int, verbs: tuple[str, str]) -> list[str]:
    """Two managers decide one override at once; what each got back (status or refusal)."""
    start = threading.Barrier(2)
    got: list[str] = [""] * 2

    def run(i: int, verb: str, actor: str) -> None:
        start.wait()
        try:
            got[i] = decide(rt, verb, override_id, actor)
        except PromoflowError as exc:
            got[i] = f"refused: {exc}"

    threads = [
        threading.Thread(target=run, args=(i, verb, actor))
        for i, (verb, actor) in enumerate(zip(verbs, ("mia", "max"), strict=True))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return got


@pytest.mark.parametrize("verbs", [("approve", "approve"), ("approve", "reject")])
def test_two_managers_deciding_one_override_at_once_one_wins_every_time(cycle_rt, verbs):
    grade = "S5"
    for trial in range(TRIALS):
        target = "S6" if grade == "S5" else "S5"
        oid = propose(cycle_rt, employee_id="E07", kind="set_grade", reason=f"trial {trial}",
                      params={"to_grade": target, "effective": "2026-11-01"})  # fmt: skip
        got = _race(cycle_rt, oid, verbs)
        won = [g for g in got if not g.startswith("refused")]
        assert len(won) == 1, got
        assert f"override #{oid} is already {won[0]}" in next(g for g in got if g not in won)
        with cycle_rt.sessions() as s:
            decided = s.scalar(
                select(func.count()).where(
                    AuditEvent.subject == f"override:{oid}",
                    AuditEvent.kind.in_(("override_approved", "override_rejected")),
                )
            )
            rows = s.scalar(
                select(func.count()).where(GradeHistory.reason.like(f"override #{oid} %"))
            )
            grade_now = s.get(Employee, "E07").grade
        assert decided == 1
        assert rows == (1 if won[0] == "approved" else 0)
        assert grade_now == (target if won[0] == "approved" else grade)
        grade = grade_now
