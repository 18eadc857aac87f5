"""Overrides: a reason always, roles from the stored users, four eyes for grades."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from promoflow.engine.audit.verify import verify_chain
from promoflow.engine.overrides import service as overrides
from promoflow.engine.overrides.query import effective_overrides
from promoflow.engine.storage.models import (
    AuditEvent,
    Case,
    Decision,
    Employee,
    GradeHistory,
    Notice,
    Override,
    StageResult,
)
from promoflow.errors import AccessDenied, InputError, TransitionError
from tests.functional.audit_seed import CYCLE, TZ, seed_cycle

NOW = datetime(2026, 10, 9, 10, 0, tzinfo=TZ)


@pytest.fixture
def cycle_rt(rt, tmp_path):
    seed_cycle(rt, tmp_path)
    return rt


def propose(rt, actor="olivia", **fields):
    fields = {"cycle_id": CYCLE, **fields}
    with rt.sessions() as s, s.begin():
        return overrides.propose(s, now=NOW, actor=actor, **fields)


def decide(rt, verb, override_id, actor, note=None):
    with rt.sessions() as s, s.begin():
        return getattr(overrides, verb)(s, override_id, now=NOW, actor=actor, note=note)


def count(rt, model, *where):
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_an_override_without_a_reason_is_refused_and_nothing_is_written(cycle_rt, reason):
    events = count(cycle_rt, AuditEvent)
    with pytest.raises(InputError, match="needs a reason"):
        propose(cycle_rt, employee_id="E05", kind="cancel_demotion", reason=reason)
    assert count(cycle_rt, Override) == 0
    assert count(cycle_rt, AuditEvent) == events


def test_a_grade_override_approved_by_its_own_proposer_is_refused(cycle_rt):
    o = propose(cycle_rt, "mia", employee_id="E05", kind="cancel_demotion", reason="大客户续约")
    with pytest.raises(AccessDenied, match="four eyes") as refused:
        decide(cycle_rt, "approve", o.id, "mia")
    assert "'mia' proposed it and may not approve it" in str(refused.value)
    with cycle_rt.sessions() as s:
        assert s.get(Override, o.id).status == "proposed"
        assert s.get(Employee, "E05").grade == "S5"


def test_a_second_manager_approves_and_the_grade_changes_beside_the_kept_rule_decision(cycle_rt):
    o = propose(cycle_rt, "olivia", employee_id="E05", kind="change_demotion",
                reason="only one grade lower is excessive; S5 → S4 confirmed by panel",
                params={"to_grade": "S3", "effective": "2026-10-09"})  # fmt: skip
    assert o.status == "proposed" and o.changes_grade
    approved = decide(cycle_rt, "approve", o.id, "max", note="checked the file")
    assert approved.status == "approved" and approved.decided_by == "max"
    with cycle_rt.sessions() as s:
        assert s.get(Employee, "E05").grade == "S3"
        history = s.scalars(select(GradeHistory).where(GradeHistory.source == "override")).one()
        assert (history.previous_grade, history.grade) == ("S5", "S3")
        assert history.effective_from == date(2026, 10, 9)
        decision = s.scalars(select(Decision).where(Decision.employee_id == "E05")).one()
        assert (decision.outcome, decision.to_grade) == ("demoted", "S4")  # the rule's, kept
        stored = s.get(Override, o.id)
        assert stored.rule_decision["outcome"] == "demoted"
        assert stored.rule_decision["to_grade"] == "S4"
        kinds = list(
            s.scalars(
                select(AuditEvent.kind).where(AuditEvent.employee_id == "E05").order_by(
                    AuditEvent.seq)
            )
        )  # fmt: skip
        assert kinds[-4:] == ["override_proposed", "override_approved", "grade_change", "notice"]
        (notice,) = s.scalars(select(Notice).where(Notice.employee_id == "E05")).all()
        assert notice.kind == "hr_grade" and "S5 调整为 S3" in notice.body
        assert verify_chain(s).ok


def test_an_hr_officer_may_propose_but_not_approve(cycle_rt):
    o = propose(cycle_rt, "olivia", employee_id="E02", kind="block_promotion", reason="投诉调查中")
    with pytest.raises(AccessDenied, match="needs the role hr_manager"):
        decide(cycle_rt, "approve", o.id, "olivia")


@pytest.mark.parametrize("who", ["vic", "nobody"])
def test_viewers_and_unknown_names_may_not_propose(cycle_rt, who):
    with pytest.raises(AccessDenied, match="may not propose"):
        propose(cycle_rt, who, employee_id="E05", kind="cancel_demotion", reason="x")


def test_an_override_that_does_not_fit_the_decision_is_refused(cycle_rt):
    with pytest.raises(InputError, match="outcome promoted; employee E05 has outcome 'demoted'"):
        propose(cycle_rt, employee_id="E05", kind="block_promotion", reason="why not")
    with pytest.raises(InputError, match="not a grade of track sales"):
        propose(cycle_rt, employee_id="E05", kind="change_demotion", reason="r",
                params={"to_grade": "S99"})  # fmt: skip
    with pytest.raises(InputError, match="unknown override kind"):
        propose(cycle_rt, employee_id="E05", kind="promote_everyone", reason="r")


def test_a_rejected_override_changes_nothing_and_needs_a_reason(cycle_rt):
    o = propose(cycle_rt, employee_id="E02", kind="block_promotion", reason="pending complaint")
    with pytest.raises(InputError, match="rejection needs a reason"):
        decide(cycle_rt, "reject", o.id, "mia")
    rejected = decide(cycle_rt, "reject", o.id, "mia", note="complaint closed without finding")
    assert rejected.status == "rejected"
    with pytest.raises(TransitionError, match="already rejected"):
        decide(cycle_rt, "approve", o.id, "max")
    assert count(cycle_rt, GradeHistory, GradeHistory.source == "override") == 0


def test_a_missing_result_proposed_by_an_officer_waits_for_a_manager_then_moves_the_case(
    cycle_rt,
):
    o = propose(cycle_rt, "olivia", employee_id="E01", kind="record_result",
                reason="笔试成绩单迟交 / late transcript",
                params={"stage": "written_test", "value": "75"})  # fmt: skip
    assert o.status == "proposed" and not o.changes_grade
    with cycle_rt.sessions() as s:
        assert s.scalars(select(Case).where(Case.employee_id == "E01")).one().state == (
            "test_notified"
        )
    decide(cycle_rt, "approve", o.id, "mia")
    with cycle_rt.sessions() as s:
        case = s.scalars(select(Case).where(Case.employee_id == "E01")).one()
        assert case.state == "test_passed"
        result = s.scalars(select(StageResult).where(StageResult.employee_id == "E01")).one()
        assert (result.value, result.passed) == ("75", True)
        assert verify_chain(s).ok


def test_a_manager_records_a_missing_result_alone_since_no_grade_changes(cycle_rt):
    o = propose(cycle_rt, "mia", employee_id="E03", kind="record_result", reason="late",
                params={"stage": "written_test", "value": "fail"})  # fmt: skip
    assert (o.status, o.decided_by) == ("approved", "mia")
    with cycle_rt.sessions() as s:
        assert s.scalars(select(Case).where(Case.employee_id == "E03")).one().state == (
            "test_failed"
        )


def test_a_result_the_case_cannot_take_is_refused_at_proposal(cycle_rt):
    with pytest.raises(TransitionError, match="takes no interview result now"):
        propose(cycle_rt, employee_id="E01", kind="record_result", reason="r",
                params={"stage": "interview", "value": "pass"})  # fmt: skip
    assert count(cycle_rt, Override) == 0


def test_set_grade_needs_no_cycle_and_still_four_eyes(cycle_rt):
    o = propose(cycle_rt, "mia", cycle_id=None, employee_id="E07", kind="set_grade",
                reason="grading error at hire", params={"to_grade": "S6",
                                                        "effective": "2026-11-01"})  # fmt: skip
    with pytest.raises(AccessDenied, match=r"second person .* 'mia' proposed it and may not"):
        decide(cycle_rt, "approve", o.id, "mia")
    decide(cycle_rt, "approve", o.id, "max")
    with cycle_rt.sessions() as s:
        employee = s.get(Employee, "E07")
        assert (employee.grade, employee.grade_since) == ("S6", date(2026, 11, 1))


def test_effective_overrides_name_the_approved_grade_overrides_of_a_cycle(cycle_rt):
    o = propose(cycle_rt, "olivia", employee_id="E06", kind="block_promotion", reason="r1")
    decide(cycle_rt, "approve", o.id, "mia")
    with cycle_rt.sessions() as s:
        found = effective_overrides(s, CYCLE)
        assert list(found) == ["E06"]
        assert found["E06"].effect["outcome"] == "unchanged"


def test_the_decisions_export_shows_the_rule_decision_and_the_override(cycle_rt):
    from promoflow.engine.cycles.service import decisions_export

    o = propose(cycle_rt, "olivia", employee_id="E02", kind="block_promotion", reason="投诉")
    decide(cycle_rt, "approve", o.id, "mia")
    with cycle_rt.sessions() as s:
        lines = {line["employee_id"]: line for line in decisions_export(s, CYCLE)}
    # the cycle's outcome is the override's; the rules' own verdict stays beside it
    assert (lines["E02"]["outcome"], lines["E02"]["to_grade"]) == ("unchanged", "S5")
    assert (lines["E02"]["rule_outcome"], lines["E02"]["rule_to_grade"]) == ("promoted", "S6")
    assert lines["E02"]["overrides"] == [o.id]
    assert lines["E02"]["effective_from"] is None  # the grade does not change
    assert lines["E01"]["overrides"] == [] and lines["E01"]["effective_from"] == "2026-11-01"


def test_a_forced_promotion_goes_one_grade_up_after_a_second_manager_approves(cycle_rt):
    o = propose(cycle_rt, "olivia", employee_id="E07", kind="force_promotion",
                reason="达成率统计口径错误 / attainment miscounted")  # fmt: skip
    assert o.effect == {"outcome": "promoted", "from_grade": "S5", "to_grade": "S6"}
    with cycle_rt.sessions() as s:
        assert s.get(Employee, "E07").grade == "S5"  # nothing happens before approval
    decide(cycle_rt, "approve", o.id, "max")
    with cycle_rt.sessions() as s:
        # approved, it waits for the cycle's effective date (POLICY.md §6), not today's
        assert s.get(Employee, "E07").grade == "S5"
        assert s.get(Override, o.id).effect["effective_from"] == "2026-11-01"
    _run_rest_of_cycle(cycle_rt)
    with cycle_rt.sessions() as s:
        employee = s.get(Employee, "E07")
        assert (employee.grade, employee.grade_since) == ("S6", date(2026, 11, 1))
        assert s.get(Override, o.id).effect["applied_grade"] == "S6"
        history = s.scalars(select(GradeHistory).where(GradeHistory.source == "override")).one()
        assert (history.grade, history.effective_from) == ("S6", date(2026, 11, 1))


def test_ending_a_probation_needs_a_probation_case(cycle_rt):
    with pytest.raises(TransitionError, match="needs a probation case"):
        propose(cycle_rt, employee_id="E05", kind="end_probation", reason="r")


def test_blocking_a_promotion_not_yet_in_effect_writes_no_grade_change(cycle_rt):
    o = propose(cycle_rt, "olivia", employee_id="E04", kind="block_promotion", reason="r")
    decide(cycle_rt, "approve", o.id, "mia")
    _run_rest_of_cycle(cycle_rt)
    with cycle_rt.sessions() as s:
        assert s.get(Employee, "E04").grade == "S5"
        assert s.get(Override, o.id).effect["applied_grade"] == "S5"
    assert count(cycle_rt, GradeHistory, GradeHistory.source == "override") == 0
    # the rest of the cycle changed others' grades, never E04's
    assert count(cycle_rt, AuditEvent, AuditEvent.kind == "grade_change",
                 AuditEvent.employee_id == "E04") == 0  # fmt: skip


def _run_rest_of_cycle(rt):
    """Results for everyone invited, then every remaining milestone at its calendar time."""
    from promoflow.engine.cases import moves as cases
    from promoflow.engine.cycles.steps import run_milestone
    from promoflow.engine.storage.models import Case
    from promoflow.workflow.guards import judge

    steps = [
        ("test_due", datetime(2026, 10, 11, 18, 0, tzinfo=TZ)),
        ("interview_notice", datetime(2026, 10, 12, 9, 0, tzinfo=TZ)),
        ("interview_due", datetime(2026, 10, 15, 18, 0, tzinfo=TZ)),
        ("announce", datetime(2026, 10, 20, 9, 0, tzinfo=TZ)),
        ("effective", datetime(2026, 11, 1, 0, 0, tzinfo=TZ)),
    ]
    for step, when in steps:
        with rt.sessions() as s, s.begin():
            for case in s.scalars(select(Case).where(Case.state.like("%_notified"))).all():
                stage = "written_test" if case.state == "test_notified" else "interview"
                verdict = judge(stage, "90", {"written_test": 60, "interview": 60})
                trigger = "record_test" if stage == "written_test" else "record_interview"
                cases.trigger(s, case, trigger, when, "hr", verdict=verdict)
        with rt.sessions() as s, s.begin():
            run_milestone(s, CYCLE, step, when, "scheduler")


def test_the_cycle_carries_out_approved_overrides_instead_of_the_rule(cycle_rt):
    blocked = propose(cycle_rt, "olivia", employee_id="E04", kind="block_promotion",
                      reason="open disciplinary matter")  # fmt: skip
    decide(cycle_rt, "approve", blocked.id, "mia")
    milder = propose(cycle_rt, "olivia", employee_id="E05", kind="cancel_demotion",
                     reason="sick leave for most of the quarter")  # fmt: skip
    decide(cycle_rt, "approve", milder.id, "mia")
    _run_rest_of_cycle(cycle_rt)
    with cycle_rt.sessions() as s:
        assert s.get(Employee, "E01").grade == "S6"  # the rule's promotion still happens
        assert s.get(Employee, "E04").grade == "S5"  # blocked
        assert s.get(Employee, "E05").grade == "S5"  # demotion cancelled
        rule_rows = s.scalars(
            select(GradeHistory.employee_id).where(GradeHistory.source == "cycle")
        ).all()
        assert "E04" not in rule_rows and "E05" not in rule_rows and "E01" in rule_rows
        assert verify_chain(s).ok
