"""Data revised after a cycle opened (POLICY.md §6): the rules run again for the employees
whose inputs changed, in every cycle not yet announced.

- the same verdict: nothing changes; the re-check is recorded (``decision_rechecked``);
- a decision pending for missing data: re-decided — the decision and its case become what
  the rules now say (a sales nominee gets the written-test notice);
- any other different verdict: the case is flagged ``facts_revised`` with both verdicts
  (``decision_revised`` keeps the new one), reads ``pending``, and HR confirms one
  (``accept-revision`` or ``keep-decision``); a notified nomination is never withdrawn
  silently.

After the announcement the decision stands: an import only records the revision.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from promoflow.engine.audit.trail import Event, record_many
from promoflow.engine.cases.moves import CaseRef
from promoflow.engine.cycles.evaluation import evaluate_facts
from promoflow.engine.cycles.milestones import initial_flag, notify_refs
from promoflow.engine.facts.build import Person, build_facts
from promoflow.engine.notices.outbox import queue
from promoflow.engine.packs.store import pack_of
from promoflow.engine.storage.models import Case, Cycle, CycleMilestone, Decision, Employee
from promoflow.rules.decide import DecisionResult
from promoflow.rules.periods import parse_period
from promoflow.workflow.specs import kind_for_decision, spec_for

#: the decision's fields a revision compares and, when accepted, replaces
VERDICT = ("outcome", "to_grade", "probation", "review")
REPLACED = (*VERDICT, "rule", "facts", "thresholds", "reasons_zh", "reasons_en", "missing")


def _verdict(d: Any) -> tuple:
    return tuple(getattr(d, f) for f in VERDICT)


def _fields(result: DecisionResult) -> dict[str, Any]:
    return {
        "outcome": result.outcome,
        "to_grade": result.to_grade,
        "probation": result.probation,
        "review": result.review,
        "rule": result.rule,
        "facts": result.facts,
        "thresholds": result.thresholds,
        "reasons_zh": result.reasons_zh,
        "reasons_en": result.reasons_en,
        "missing": result.missing_inputs or result.missing,
    }


def open_cycles(session: Session) -> list[Cycle]:
    """The cycles opened and not yet announced: those whose decisions data may revise."""
    announced = select(CycleMilestone.cycle_id).where(CycleMilestone.milestone == "announce")
    return list(
        session.scalars(
            select(Cycle).where(Cycle.opened_at.is_not(None), Cycle.cycle_id.not_in(announced))
        )
    )


#: how far before a cycle's period its facts read (the previous quarter, the months)
_LOOKBACK_DAYS = 200


def recheck_metrics(
    session: Session,
    cycles: Sequence[Cycle],
    employee_ids: Sequence[str],
    period_ids: Sequence[str],
    now: datetime,
    actor: str,
) -> int:
    """After an import wrote metric values (parallel ``employee_ids``/``period_ids``):
    re-run the rules for the employees whose values fall in the window of one of
    ``cycles`` (:func:`open_cycles`); returns how many decisions were looked at again."""
    if not employee_ids:
        return 0
    periods = {p: parse_period(p) for p in set(period_ids)}
    seen = 0
    for cycle in cycles:
        span = parse_period(cycle.period_id)
        since = span.starts - timedelta(days=_LOOKBACK_DAYS)
        inside = {p for p, period in periods.items() if since <= period.starts <= span.ends}
        if inside:
            who = sorted({e for e, p in zip(employee_ids, period_ids, strict=True) if p in inside})
            seen += _recheck_cycle(session, cycle, who, now, actor)
    return seen


def _recheck_cycle(session: Session, cycle: Cycle, ids: list[str], now, actor) -> int:
    rows = session.execute(
        select(Decision, Case)
        .join(
            Case, (Case.cycle_id == Decision.cycle_id) & (Case.employee_id == Decision.employee_id)
        )
        .where(Decision.cycle_id == cycle.cycle_id, Decision.employee_id.in_(ids))
    ).all()
    if not rows:
        return 0
    pack = pack_of(session, cycle)
    people = {
        e.employee_id: Person.of(e)
        for e in session.scalars(
            select(Employee).where(Employee.employee_id.in_([d.employee_id for d, _ in rows]))
        )
    }
    chosen = [people[d.employee_id] for d, _ in rows if d.employee_id in people]
    facts = build_facts(session, pack, cycle.period_id, chosen)
    results = evaluate_facts(
        pack,
        {
            d.employee_id: {**facts[d.employee_id], "grade": d.from_grade}
            for d, _ in rows
            if d.employee_id in facts
        },
        cycle.period_id,
    )
    events, invited = [], []
    for decision, case in rows:
        result = results.get(decision.employee_id)
        if result is None:
            continue
        event = dict(
            actor=actor,
            at=now,
            employee_id=decision.employee_id,
            cycle_id=cycle.cycle_id,
            case_id=case.id,
        )
        if _verdict(result) == _verdict(decision):
            events.append(
                Event(
                    kind="decision_rechecked",
                    subject=f"decision:{decision.id}",
                    after={"same": True, "facts": result.facts},
                    reason="inputs revised after open: the rules decide the same",
                    **event,
                )
            )
            continue
        before = {f: getattr(decision, f) for f in VERDICT}
        if case.kind == "pending" and case.state == "waiting_data":
            apply_revision(decision, case, _fields(result), pack, now)
            if case.kind == "promotion" and pack.stages:
                invited.append(case)
            events.append(
                Event(
                    kind="decision_redecided",
                    subject=f"decision:{decision.id}",
                    before=before,
                    after=_fields(result),
                    reason="the missing inputs arrived: decided again",
                    **event,
                )
            )
            continue
        case.flagged = (
            f"facts_revised: {decision.outcome} {decision.to_grade} → "
            f"{result.outcome} {result.to_grade}"
        )
        case.updated_at = now
        events.append(
            Event(
                kind="decision_revised",
                subject=f"decision:{decision.id}",
                before=before,
                after=_fields(result),
                reason="inputs revised after open: the rules now decide otherwise; HR confirms one",
                **event,
            )
        )
    session.flush()
    record_many(session, events)
    if invited:
        refs = [
            CaseRef(c.id, c.employee_id, c.kind, c.state, c.flagged, c.decision_id) for c in invited
        ]
        moves, notices = notify_refs(session, cycle, pack, refs, pack.stages[0], now)
        moves.write(session, now, actor)
        queue(session, notices, now, actor)
    return len(rows)


def apply_revision(decision: Decision, case: Case, fields: dict, pack, now: datetime) -> None:
    """The decision becomes ``fields``; its case the machine the new verdict calls for, from
    that machine's first state (a changed case kind starts over)."""
    for name in REPLACED:
        setattr(decision, name, fields[name])
    decision.decided_at = now
    kind = kind_for_decision(decision.outcome, bool(decision.probation), decision.review)
    if kind != case.kind:
        case.kind, case.state = kind, spec_for(kind, tuple(pack.stages)).initial
    case.flagged = initial_flag(case.kind, decision)
    case.updated_at = now
