"""HR overrides: overruling the rules, with a reason, a role, and — for grades — four eyes.

An ``hr_officer`` (or ``hr_manager``) proposes; an ``hr_manager`` approves or rejects. An
override that changes a grade (force or block a promotion, cancel or change a demotion,
set a grade) takes effect only when a *different* ``hr_manager`` approves it (four eyes).
An override that changes no grade (record a missing result, end a probation) needs an
``hr_manager`` too, but may be one person: proposed by a manager, it takes effect at
once; proposed by an officer, it waits for a manager. Every step needs a reason, writes an
audit event in the same transaction, and leaves the rule's own decision untouched beside
the override (``rule_decision``), so exports and auditors see both.

Roles come from the stored users (:func:`promoflow.engine.users.accounts.roles_of`): an acting name
that is not an active user holds no role and may do nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from promoflow.engine.audit.trail import Event, record_many
from promoflow.engine.cases import moves as cases
from promoflow.engine.cycles.announce import move_on_late, take_effect
from promoflow.engine.cycles.revision import apply_revision
from promoflow.engine.cycles.service import done_steps
from promoflow.engine.overrides.grades import (
    apply_grade,
    notify_decision,
    override_event,
    why_of,
)
from promoflow.engine.packs import store as packs
from promoflow.engine.storage.models import (
    AuditEvent,
    Case,
    Cycle,
    Decision,
    Employee,
    StageResult,
)
from promoflow.engine.storage.models.overrides import Override
from promoflow.engine.users.accounts import roles_of
from promoflow.errors import AccessDenied, InputError, NotFoundError, TransitionError
from promoflow.limits import NOTE, PARAM, REASON, bounded_text, check_employee_id
from promoflow.rules.calendar import EFFECTIVE, effective_date
from promoflow.rules.periods import parse_period
from promoflow.workflow import guards
from promoflow.workflow.outcome import is_held
from promoflow.workflow.specs import spec_for, stage_short

PROPOSERS = frozenset({"hr_officer", "hr_manager"})
APPROVERS = frozenset({"hr_manager"})


@dataclass(frozen=True)
class Kind:
    """One kind of override: whether it changes a grade, and what it needs."""

    name: str
    changes_grade: bool
    needs_cycle: bool
    params: tuple[str, ...] = ()  # required keys of ``params``
    zh: str = ""
    en: str = ""
    #: ends the employment (dismiss, eliminate): a second manager approves, as for grades
    ends_employment: bool = False

    @property
    def four_eyes(self) -> bool:
        """Whether an hr_manager other than the proposer must approve it."""
        return self.changes_grade or self.ends_employment


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("force_promotion", True, True, (), "强制晋升", "force a promotion"),
        Kind("block_promotion", True, True, (), "阻止晋升", "block a promotion"),
        Kind("cancel_demotion", True, True, (), "取消降级", "cancel a demotion"),
        Kind("change_demotion", True, True, ("to_grade",), "变更降级", "change a demotion"),
        Kind("set_grade", True, False, ("to_grade",), "设定职级", "set a grade"),
        Kind("record_result", False, True, ("stage", "value"), "补录结果", "record a result"),
        Kind("end_probation", False, True, (), "结束试用期", "end a probation"),
        Kind("retain", False, True, (), "保留（复核结论）", "retain after the review"),
        Kind("dismiss", False, True, (), "解除（辞退复核结论）", "dismiss after the review", True),
        Kind(
            "eliminate", False, True, (), "淘汰（淘汰复核结论）", "eliminate after the review", True
        ),
        Kind("close_review", False, True, (), "结束复核", "close the below-standard review"),
        Kind("waive_stage", False, True, (), "免除本阶段", "waive the stage"),
        Kind("keep_decision", False, True, (), "维持原决定", "keep the decision"),
        Kind("accept_revision", False, True, (), "采用修订后的决定", "accept the revised decision"),
    )
}

#: the HR decisions that close a waiting case (POLICY.md §6): kind → (case kind, state) →
#: the trigger it fires
CASE_DECISIONS: dict[str, dict[tuple[str, str], str]] = {
    "retain": {
        ("elimination", "review_opened"): "retain",
        ("probation", "dismissal_review"): "retain",
    },
    "dismiss": {("probation", "dismissal_review"): "dismiss"},
    "eliminate": {("elimination", "review_opened"): "eliminate"},
    "close_review": {
        ("below_standard", "flagged"): "close_review",
        ("below_standard", "announced"): "close_review",
    },
}
#: the kinds that move a case rather than set a grade (checked against the case's state)
CASE_MOVES = (
    "record_result",
    "end_probation",
    "waive_stage",
    "keep_decision",
    "accept_revision",
    *CASE_DECISIONS,
)


def _roles(session: Session, user: str) -> set[str]:
    return set(roles_of(session, user))


def _require(session: Session, user: str, allowed: frozenset[str], action: str) -> None:
    held = _roles(session, user)
    if not held & allowed:
        raise AccessDenied(
            f"{user!r} may not {action}: it needs the role {' or '.join(sorted(allowed))} "
            f"(holds: {', '.join(sorted(held)) or 'none — not an active user'})"
        )


def _reason(text: str | None, what: str, field: str = "reason") -> str:
    reason = (bounded_text(text, field, REASON) or "").strip()
    if not reason:
        raise InputError(f"{what} needs a reason: say why the rule's decision is overruled")
    return reason


def _note(text: str | None) -> str | None:
    """An approval's optional note, bounded like a reason."""
    return (bounded_text(text, "note", NOTE) or "").strip() or None


#: what an override's ``params`` may hold: name → longest value (``effective`` is a date)
PARAMS = {"to_grade": 64, "effective": 10, "stage": 32, "value": PARAM}


def _bounded_params(params: dict[str, Any] | None) -> dict[str, str]:
    """The parameters as stored: known names only, each a short text (``effective`` a date
    YYYY-MM-DD), empty ones left out; anything else is refused in one line."""
    if params is not None and not isinstance(params, dict):
        raise InputError("override params must be an object of names and texts")
    kept: dict[str, str] = {}
    for name, value in (params or {}).items():
        if value in (None, ""):
            continue
        if name not in PARAMS:
            shown = name if len(str(name)) <= 40 else str(name)[:39] + "…"
            raise InputError(f"unknown override parameter {shown!r}: use {', '.join(PARAMS)}")
        if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
            raise InputError(f"override parameter {name} must be text")
        kept[name] = bounded_text(str(value), name, PARAMS[name])
    if "effective" in kept:
        try:
            date.fromisoformat(kept["effective"].strip())
        except ValueError:
            raise InputError(
                f"effective {kept['effective']!r} is not a date (YYYY-MM-DD)"
            ) from None
    return kept


def _pack(session: Session, cycle: Cycle | None, employee: Employee):
    if cycle is not None:
        return packs.pack_of(session, cycle)
    return packs.active_pack(session, employee.track)


def _rule_decision(decision: Decision | None) -> dict[str, Any] | None:
    if decision is None:
        return None
    return {
        "decision_id": decision.id,
        "outcome": decision.outcome,
        "from_grade": decision.from_grade,
        "to_grade": decision.to_grade,
        "rule": decision.rule,
        "probation": bool(decision.probation),
        "review": decision.review,
    }


def _effect(kind: Kind, params: dict, decision: Decision | None, employee: Employee, pack):
    """What the override makes effective; refuses one that does not fit the decision."""
    grade = decision.from_grade if decision is not None else employee.grade
    grades = tuple(pack.grades)

    def grade_param() -> str:
        target = str(params.get("to_grade", "")).strip()
        if target not in grades:
            raise InputError(
                f"to_grade {target!r} is not a grade of track {pack.id} ({', '.join(grades)})"
            )
        return target

    def outcome_is(*wanted: str) -> None:
        if decision is None or decision.outcome not in wanted:
            got = "no decision" if decision is None else f"outcome {decision.outcome!r}"
            raise InputError(
                f"{kind.name} applies to a decision with outcome {' or '.join(wanted)}; "
                f"employee {employee.employee_id} has {got}"
            )

    if kind.name == "force_promotion":
        if "to_grade" in params:
            target = grade_param()
        elif grades.index(grade) + 1 < len(grades):
            target = grades[grades.index(grade) + 1]
        else:
            raise InputError(f"{grade} is the top grade of {pack.id}: nothing to promote to")
        if grades.index(target) <= grades.index(grade):
            raise InputError(f"force_promotion must go up from {grade}, not to {target}")
        return {"outcome": "promoted", "from_grade": grade, "to_grade": target}
    if kind.name in ("block_promotion", "cancel_demotion"):
        outcome_is("promoted" if kind.name == "block_promotion" else "demoted")
        return {"outcome": "unchanged", "from_grade": grade, "to_grade": grade}
    if kind.name == "change_demotion":
        outcome_is("demoted")
        target = grade_param()
        if grades.index(target) >= grades.index(grade):
            raise InputError(f"change_demotion must go down from {grade}, not to {target}")
        return {"outcome": "demoted", "from_grade": grade, "to_grade": target}
    if kind.name == "set_grade":
        target = grade_param()
        return {"outcome": "set", "from_grade": employee.grade, "to_grade": target}
    if kind.name == "record_result":
        return {"stage": str(params["stage"]).strip(), "value": str(params["value"]).strip()}
    if kind.name == "end_probation":
        return {"probation": "ended"}
    return {"decision": kind.name}


def _event(kind: str, o: Override, actor: str, now: datetime, reason: str, **after) -> Event:
    return Event(
        kind=kind,
        actor=actor,
        at=now,
        subject=f"override:{o.id}",
        employee_id=o.employee_id,
        cycle_id=o.cycle_id,
        case_id=o.case_id,
        before={"rule_decision": o.rule_decision} if o.rule_decision else None,
        after={
            "override_id": o.id,
            "kind": o.kind,
            "params": o.params,
            "status": o.status,
            "effect": o.effect,
            "proposed_by": o.proposed_by,
            **after,
        },
        reason=reason,
    )


def propose(
    session: Session,
    *,
    now: datetime,
    actor: str,
    employee_id: str,
    kind: str,
    reason: str | None,
    cycle_id: str | None = None,
    params: dict[str, Any] | None = None,
) -> Override:
    """Propose an override (the caller commits); one that changes no grade, proposed by an
    ``hr_manager``, is approved and applied at once."""
    check_employee_id(employee_id)
    reason = _reason(reason, "an override")
    if kind not in KINDS:
        raise InputError(f"unknown override kind {kind!r}: use {', '.join(KINDS)}")
    spec = KINDS[kind]
    _require(session, actor, PROPOSERS, "propose an override")
    params = _bounded_params(params)
    absent = [p for p in spec.params if not str(params.get(p, "")).strip()]
    if absent:
        raise InputError(f"{kind} needs {', '.join(absent)}")
    # the employee's row is locked (PostgreSQL) so two proposals for one case queue up and
    # the second sees the first
    employee = session.get(Employee, employee_id, with_for_update=True)
    if employee is None:
        raise NotFoundError(f"no employee {employee_id!r}")
    _refuse_a_second_open(session, employee_id, cycle_id)
    cycle = session.get(Cycle, cycle_id) if cycle_id else None
    if cycle_id and cycle is None:
        raise NotFoundError(f"unknown cycle {cycle_id!r}")
    if spec.needs_cycle and cycle is None:
        raise InputError(f"{kind} needs the cycle it overrides (--cycle)")
    decision = case = None
    if cycle is not None:
        decision = session.scalar(
            select(Decision).where(
                Decision.cycle_id == cycle.cycle_id, Decision.employee_id == employee_id
            )
        )
        case = session.scalar(
            select(Case).where(Case.cycle_id == cycle.cycle_id, Case.employee_id == employee_id)
        )
        if spec.needs_cycle and decision is None and kind != "force_promotion":
            raise NotFoundError(f"{employee_id} was not evaluated in {cycle.cycle_id}")
    pack = _pack(session, cycle, employee)
    override = Override(
        cycle_id=cycle.cycle_id if cycle else None,
        employee_id=employee_id,
        case_id=case.id if case else None,
        kind=kind,
        params=params,
        reason=reason,
        changes_grade=spec.changes_grade,
        status="proposed",
        rule_decision=_rule_decision(decision),
        effect=_effect(spec, params, decision, employee, pack),
        proposed_by=actor,
        proposed_at=now,
    )
    if kind in CASE_MOVES:
        _check_case_move(session, override, case, pack)
    session.add(override)
    session.flush()
    events = [_event("override_proposed", override, actor, now, reason)]
    if not spec.four_eyes and _roles(session, actor) & APPROVERS:
        override.status, override.decided_by, override.decided_at = "approved", actor, now
        override.decision_note = "changes no grade, proposed by an hr_manager: in effect at once"
        events.append(_event("override_approved", override, actor, now, override.decision_note))
        record_many(session, events)
        _apply(session, override, case, pack, now, actor)
    else:
        record_many(session, events)
    return override


def kinds_for_case(
    case_kind: str | None, state: str | None, flagged: str | None = None
) -> list[str]:
    """The override kinds that fit a case in ``state`` (what the console's case page offers):
    the grade kinds always, and the HR decisions and results the state can take."""
    fits = ["force_promotion", "block_promotion", "cancel_demotion", "change_demotion"]
    if case_kind is None or state is None:
        return fits
    if case_kind == "pending" and state == "waiting_data":
        fits.append("set_grade")  # HR decides what the missing data could not
    for name, states in CASE_DECISIONS.items():
        if (case_kind, state) in states:
            fits.append(name)
    if is_held(flagged):
        fits.append("keep_decision")
    if flagged and flagged.startswith("facts_revised"):
        fits.append("accept_revision")
    if case_kind == "promotion" and state.endswith(("_notified", "_missing")):
        fits += ["record_result", "waive_stage"]
    if case_kind == "probation" and state == "on_probation":
        fits += ["record_result", "end_probation"]
    return fits


def _refuse_a_second_open(session: Session, employee_id: str, cycle_id: str | None) -> None:
    """At most one open override per case (POLICY.md §6): a second names the first."""
    first = session.scalar(
        select(Override)
        .where(
            Override.employee_id == employee_id,
            Override.status == "proposed",
            Override.cycle_id.is_(None) if cycle_id is None else Override.cycle_id == cycle_id,
        )
        .order_by(Override.id)
        .limit(1)
    )
    if first is not None:
        where = f"in {cycle_id}" if cycle_id else "outside any cycle"
        raise TransitionError(
            f"{employee_id} already has override #{first.id} ({first.kind}, proposed by "
            f"{first.proposed_by}) waiting {where}: approve or reject it first"
        )


def _get(session: Session, override_id: int) -> Override:
    """The override, its row locked until the caller commits (PostgreSQL: two managers
    deciding it at once queue, and the second reads the first's decision); refused when it
    was decided already."""
    override = session.get(Override, override_id, with_for_update=True, populate_existing=True)
    if override is None:
        raise NotFoundError(f"no override #{override_id}")
    if override.status != "proposed":
        raise TransitionError(
            f"override #{override_id} is already {override.status} "
            f"(by {override.decided_by} at {override.decided_at})"
        )
    return override


def approve(
    session: Session, override_id: int, *, now: datetime, actor: str, note: str | None = None
) -> Override:
    """Approve a proposed override and apply it (the caller commits). Four eyes for grades."""
    note = _note(note)
    override = _get(session, override_id)
    _require(session, actor, APPROVERS, "approve an override")
    if KINDS[override.kind].four_eyes and actor == override.proposed_by:
        what = "changes a grade" if override.changes_grade else "ends an employment"
        raise AccessDenied(
            f"override #{override_id} {what}: it needs a second person — "
            f"{actor!r} proposed it and may not approve it (four eyes)"
        )
    employee = session.get(Employee, override.employee_id, with_for_update=True)
    cycle = session.get(Cycle, override.cycle_id) if override.cycle_id else None
    case = session.get(Case, override.case_id) if override.case_id else None
    pack = _pack(session, cycle, employee)
    _refuse_if_stale(session, override, employee, case, pack)
    override.status, override.decided_by, override.decided_at = "approved", actor, now
    override.decision_note = note
    record_many(
        session,
        [_event("override_approved", override, actor, now, override.decision_note or "approved")],
    )
    _apply(session, override, case, pack, now, actor)
    return override


def _refuse_if_stale(session: Session, o: Override, employee, case, pack) -> None:
    """An approval applies what the proposal saw: refused when the grade moved since (a
    "force promotion" must never demote) or the case can no longer take the result."""
    seen = (o.effect or {}).get("from_grade")
    if seen is not None and employee.grade != seen:
        raise TransitionError(
            f"override #{o.id} is stale: {o.employee_id}'s grade is {employee.grade} now, "
            f"the proposal saw {seen}; reject it and propose again"
        )
    if o.kind in CASE_MOVES:
        try:
            _check_case_move(session, o, case, pack)
        except (TransitionError, NotFoundError) as exc:
            raise TransitionError(f"override #{o.id} is stale: {exc}") from exc


def reject(
    session: Session, override_id: int, *, now: datetime, actor: str, note: str | None = None
) -> Override:
    """Reject a proposed override (the caller commits); the rule's decision stands."""
    note = _reason(note, "a rejection", "note")
    override = _get(session, override_id)
    _require(session, actor, APPROVERS, "reject an override")
    override.status, override.decided_by, override.decided_at = "rejected", actor, now
    override.decision_note = note
    record_many(session, [_event("override_rejected", override, actor, now, note)])
    return override


# --- applying an approved override --------------------------------------------------------


def _judge(pack, stage: str, value: str) -> guards.Verdict:
    """The result judged as ``import results`` judges it: the pack's pass marks and its
    competency model (weights, known names); InputError naming the stage when it is bad."""
    weights = guards.competency_weights(getattr(pack, "competency_models", None))
    try:
        return guards.judge(stage, value, dict(pack.pass_marks), weights)
    except ValueError as exc:
        raise InputError(f"{stage} result {value!r}: {exc}") from exc


def _stage_trigger(case: Case, stage: str) -> str:
    if stage == "probation_review":
        return "record_probation"
    return f"record_{stage_short(stage)}"


def _check_case_move(session: Session, o: Override, case: Case | None, pack) -> None:
    """Refuse at proposal a result or probation end the case cannot take now."""
    if case is None:
        raise NotFoundError(f"{o.employee_id} has no case in {o.cycle_id}")
    spec = spec_for(case.kind, tuple(pack.stages))
    if o.kind in CASE_DECISIONS:
        fits = CASE_DECISIONS[o.kind]
        if (case.kind, case.state) not in fits:
            where = ", ".join(f"{k} case in {s!r}" for k, s in fits)
            raise TransitionError(
                f"{o.kind} closes a {where}; {o.employee_id} has a {case.kind} case in "
                f"state {case.state!r}"
            )
        return
    if o.kind == "waive_stage":
        _waived_stage(o, case, pack)
        return
    if o.kind == "accept_revision":
        if not (case.flagged or "").startswith("facts_revised"):
            raise TransitionError(
                f"accept_revision takes the rules' new decision for a case flagged "
                f"facts_revised; {o.employee_id}'s {case.kind} case is not"
            )
        return
    if o.kind == "keep_decision":
        if not is_held(case.flagged):
            raise TransitionError(
                f"keep_decision releases a case held for HR (employee_changed, facts_revised); "
                f"{o.employee_id}'s {case.kind} case is not held"
                + (f" (flagged {case.flagged!r})" if case.flagged else "")
            )
        return
    if o.kind == "end_probation":
        if case.kind != "probation" or case.state not in ("on_probation", "dismissal_review"):
            raise TransitionError(
                f"end_probation needs a probation case on probation or under dismissal review; "
                f"{o.employee_id} has a {case.kind} case in state {case.state!r}"
            )
        return
    _judge(pack, o.effect["stage"], o.effect["value"])  # a bad value is refused now
    trigger = _stage_trigger(case, o.effect["stage"])
    allowed = spec.allowed(case.state)
    if trigger not in allowed:
        raise TransitionError(
            f"{o.employee_id}'s {case.kind} case is in state {case.state!r}: it takes no "
            f"{o.effect['stage']} result now (allowed: {', '.join(allowed) or 'none'})"
        )


def _waived_stage(o: Override, case: Case, pack) -> str:
    """The stage a waiver passes: the one the promotion case waits in (notified or missing);
    a ``stage`` given must be that one."""
    for stage in pack.stages:
        short = stage_short(stage)
        if case.kind == "promotion" and case.state in (f"{short}_notified", f"{short}_missing"):
            asked = (o.params or {}).get("stage")
            if asked and asked != stage:
                raise TransitionError(
                    f"{o.employee_id}'s case waits for the {stage}, not the {asked}"
                )
            return stage
    raise TransitionError(
        f"waive_stage needs a promotion case waiting for a stage result; {o.employee_id} has "
        f"a {case.kind} case in state {case.state!r}"
    )


def _apply(session: Session, o: Override, case: Case | None, pack, now: datetime, actor: str):
    why = why_of(o)
    if o.kind in CASE_DECISIONS:
        trigger = CASE_DECISIONS[o.kind][(case.kind, case.state)]
        state = cases.trigger(session, case, trigger, now, actor, why, flagged=None)
        o.effect = {**o.effect, "state": state}
        if o.kind in ("dismiss", "eliminate"):
            _end_employment(session, o, now, actor, why)
            notify_decision(session, o, "dismissed", now, actor)
        elif o.kind == "retain":
            notify_decision(session, o, "retained", now, actor)
        return
    if o.kind == "keep_decision":
        _release(session, o, case, pack, now, actor, why)
        return
    if o.kind == "accept_revision":
        _accept_revision(session, o, case, pack, now, actor, why)
        return
    if o.kind == "waive_stage":
        stage = _waived_stage(o, case, pack)
        verdict = guards.Verdict(stage, "waived", None, True, None)
        state = _record_stage(session, o, case, pack, verdict, now, actor, why)
        o.effect = {**o.effect, "stage": stage, "state": state}
        return
    if o.kind == "record_result":
        verdict = _judge(pack, o.effect["stage"], o.effect["value"])
        state = _record_stage(session, o, case, pack, verdict, now, actor, why)
        o.effect = {**o.effect, "passed": verdict.passed, "state": state}
        return
    if o.kind == "end_probation":
        if case.state == "on_probation":
            verdict = guards.Verdict("probation_review", "pass", None, True, None)
            state = cases.trigger(
                session, case, "record_probation", now, actor, why, verdict=verdict
            )
        else:
            state = cases.trigger(session, case, "retain", now, actor, why)
        o.effect = {**o.effect, "state": state}
        return
    if case is not None and case.kind == "pending" and case.state == "waiting_data":
        # HR decided what the missing data could not: the case is resolved (POLICY.md §6)
        state = cases.trigger(session, case, "resolve", now, actor, why, flagged=None)
        o.effect = {**o.effect, "state": state}
    _set_grade(session, o, now, actor, why)


def _record_stage(session: Session, o: Override, case: Case, pack, verdict, now, actor, why):
    """A stage result HR recorded or waived: stored, fired on the case, and — a last stage
    passed after the announcement — the case moved on by itself; returns the new state."""
    session.add(
        StageResult(
            cycle_id=o.cycle_id,
            employee_id=o.employee_id,
            stage=verdict.stage,
            value=verdict.value,
            score=verdict.score,
            passed=verdict.passed,
            recorded_at=now,
        )
    )
    session.flush()
    trigger = _stage_trigger(case, verdict.stage)
    state = cases.trigger(session, case, trigger, now, actor, why, verdict=verdict, flagged=None)
    stages = tuple(pack.stages)
    if case.kind == "promotion" and stages and state == f"{stage_short(stages[-1])}_passed":
        move_on_late(session, session.get(Cycle, o.cycle_id), pack, [case.id], now, actor)
        session.refresh(case)
        return case.state
    return state


def _accept_revision(session: Session, o: Override, case: Case, pack, now, actor, why) -> None:
    """HR takes the rules' revised decision: the decision and its case become it."""
    revised = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.case_id == case.id, AuditEvent.kind == "decision_revised")
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).one()
    decision = session.get(Decision, case.decision_id)
    before = {f: getattr(decision, f) for f in ("outcome", "to_grade", "probation", "review")}
    apply_revision(decision, case, revised.after, pack, now)
    record_many(
        session,
        [
            Event(
                kind="decision_redecided",
                actor=actor,
                at=now,
                subject=f"decision:{decision.id}",
                employee_id=case.employee_id,
                cycle_id=case.cycle_id,
                case_id=case.id,
                before=before,
                after=revised.after,
                reason=why,
            )
        ],
    )
    o.effect = {
        **o.effect,
        "outcome": decision.outcome,
        "to_grade": decision.to_grade,
        "state": case.state,
    }


def _release(session: Session, o: Override, case: Case, pack, now: datetime, actor: str, why):
    """HR keeps the rules' decision for a held case: the flag goes, and when the cycle's
    effective date has passed the decision takes effect now."""
    flag, case.flagged, case.updated_at = case.flagged, None, now
    record_many(
        session,
        [
            Event(
                kind="case_released",
                actor=actor,
                at=now,
                subject=f"case:{case.id}",
                employee_id=case.employee_id,
                cycle_id=case.cycle_id,
                case_id=case.id,
                before={"flagged": flag},
                after={"flagged": None, "override_id": o.id},
                reason=why,
            )
        ],
    )
    session.flush()
    cycle = session.get(Cycle, case.cycle_id)
    done = done_steps(session, case.cycle_id)
    if "announce" in done and case.state != "announced":
        move_on_late(session, cycle, pack, [case.id], now, actor)  # announced (and effective)
    elif EFFECTIVE in done and case.state == "announced":
        take_effect(session, cycle, pack, now, actor, only={case.id})
    session.refresh(case)
    o.effect = {**o.effect, "state": case.state}


def _end_employment(session: Session, o: Override, now: datetime, actor: str, why: str) -> None:
    """A dismissal or elimination HR decided: the employee leaves the active staff, so no
    later cycle evaluates them."""
    employee = session.get(Employee, o.employee_id)
    if not employee.active:
        return
    employee.active, employee.updated_at = False, now
    after = {"active": False, "override_id": o.id, "decision": o.kind}
    event = override_event(
        o, "employee_left", actor, now, before={"active": True}, after=after, reason=why
    )
    record_many(session, [event])


def _set_grade(session: Session, o: Override, now: datetime, actor: str, why: str) -> None:
    """Carry out the grade the override decided (POLICY.md §6): on the cycle's effective
    date unless HR gave another — deferred to the cycle's ``effective`` step when that is
    still to come, at once (dated as decided) otherwise."""
    since = _effective(session, o, now)
    deferred = (
        o.cycle_id is not None
        and not (o.params or {}).get("effective")
        and since > now.date()
        and EFFECTIVE not in done_steps(session, o.cycle_id)
    )
    if deferred:
        o.effect = {**o.effect, "effective_from": since.isoformat()}
        return
    apply_grade(session, o, since, now, actor, why)


def _effective(session: Session, o: Override, now: datetime) -> date:
    value = (o.params or {}).get("effective")
    if value:
        try:
            return date.fromisoformat(str(value))
        except ValueError as exc:
            raise InputError(f"effective {value!r} is not a date (YYYY-MM-DD)") from exc
    if o.cycle_id is not None:
        return effective_date(parse_period(session.get(Cycle, o.cycle_id).period_id))
    return now.date()


# --- reading ---------------------------------------------------------------------------------


def override_record(o: Override) -> dict[str, Any]:
    """One override as plain data (CLI, exports)."""
    return {
        "id": o.id,
        "kind": o.kind,
        "status": o.status,
        "cycle_id": o.cycle_id,
        "employee_id": o.employee_id,
        "params": o.params,
        "effect": o.effect,
        "rule_decision": o.rule_decision,
        "reason": o.reason,
        "proposed_by": o.proposed_by,
        "proposed_at": o.proposed_at.isoformat(),
        "decided_by": o.decided_by,
        "decided_at": o.decided_at.isoformat() if o.decided_at else None,
        "decision_note": o.decision_note,
    }
