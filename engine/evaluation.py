"""Evaluating a cycle: facts in, one decision per employee out, through durable_rules.

:func:`evaluate_cycle` is the service (database, audit); :func:`evaluate_facts` is the
pure part, so stored facts can be re-evaluated (what-if, replay) without a database.
Both engines are available: ``engine="durable"`` (the default, what cycles use) and
``engine="plain"`` (the same parsed conditions in plain Python, for comparison and tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, defer

from promoflow.engine import rules_engine
from promoflow.engine.audit import Event, record_many
from promoflow.engine.models import Cycle, Decision, Employee
from promoflow.engine.packs import pack_by_version
from promoflow.errors import InputError
from promoflow.rules.decide import DecisionResult, Verdict, decide, plain_verdict
from promoflow.rules.packs import Pack
from promoflow.rules.periods import parse_period


def cycle_kind(period_id: str) -> str:
    """``quarter`` or ``half``: the kind of cycle that runs over ``period_id``."""
    kind = parse_period(period_id).kind
    if kind not in ("quarter", "half"):
        raise InputError(f"period {period_id}: a cycle runs over a quarter or a half")
    return kind


def evaluate_facts(
    pack: Pack,
    facts_by_employee: Mapping[str, Mapping[str, object]],
    period_id: str,
    *,
    engine: str = "durable",
) -> dict[str, DecisionResult]:
    """Decide for every employee from their facts (each dict must carry ``grade``)."""
    kind = cycle_kind(period_id)
    typed: dict[str, Mapping[str, object]] = {}
    for employee_id, facts in facts_by_employee.items():
        grade = facts.get("grade")
        if grade is None:
            raise InputError(f"employee {employee_id}: the facts carry no 'grade'")
        if grade not in pack.grades:
            raise InputError(
                f"employee {employee_id}: grade {grade!r} is not a grade of track {pack.id}"
            )
        typed[employee_id] = _typed(pack, employee_id, facts)
    facts_by_employee = typed
    if engine == "durable":
        cases = [(e, str(f["grade"]), f) for e, f in facts_by_employee.items()]
        verdicts = rules_engine.verdicts(pack, kind, cases)
    elif engine == "plain":
        verdicts = {
            e: plain_verdict(pack.rules_for(kind, str(f["grade"])), f)
            for e, f in facts_by_employee.items()
        }
    else:
        raise ValueError(f"unknown engine {engine!r}")
    return {
        e: decide(pack, kind, e, str(f["grade"]), f, period_id, verdicts.get(e, Verdict("none")))
        for e, f in facts_by_employee.items()
    }


def _typed(pack: Pack, employee_id: str, facts: Mapping[str, object]) -> Mapping[str, object]:
    """Facts as the rules compare them: stored strings ("79.5", "3", "true") become exact
    Decimals, ints and bools, so a decision's stored facts can be evaluated again."""
    if not any(isinstance(facts.get(name), str) for name in pack.facts):
        return facts
    out = dict(facts)
    for name, spec in pack.facts.items():
        raw = out.get(name)
        if not isinstance(raw, str):
            continue
        try:
            if spec.type == "bool":
                if raw.lower() not in ("true", "false"):
                    raise ValueError(raw)
                out[name] = raw.lower() == "true"
            elif spec.type == "int":
                out[name] = int(raw)
            else:
                out[name] = Decimal(raw)
        except (ValueError, InvalidOperation) as exc:
            raise InputError(
                f"employee {employee_id}: fact {name} = {raw!r} is not a {spec.type}"
            ) from exc
    return out


def _row(cycle: Cycle, result: DecisionResult, now: datetime) -> dict:
    return {
        "cycle_id": cycle.cycle_id,
        "employee_id": result.employee_id,
        "outcome": result.outcome,
        "from_grade": result.from_grade,
        "to_grade": result.to_grade,
        "rule": result.rule,
        "pack_id": result.pack_id,
        "pack_version": result.pack_version,
        "probation": result.probation,
        "review": result.review,
        "facts": result.facts,
        "thresholds": result.thresholds,
        "reasons_zh": result.reasons_zh,
        "reasons_en": result.reasons_en,
        "missing": result.missing_inputs or result.missing,
        "decided_at": now,
    }


def _event(cycle: Cycle, result: DecisionResult, actor: str, now: datetime) -> Event:
    return Event(
        kind="decision",
        actor=actor,
        at=now,
        subject=result.rule,
        employee_id=result.employee_id,
        cycle_id=cycle.cycle_id,
        before={"grade": result.from_grade},
        after={
            "outcome": result.outcome,
            "to_grade": result.to_grade,
            "rule": result.rule,
            "pack_version": result.pack_version,
            "probation": result.probation,
            "review": result.review,
            "missing": result.missing_inputs or result.missing,
            # the facts read, in the hash chain: an edited fact is caught by replay
            "facts": result.facts,
        },
        reason=" / ".join(result.reasons_zh + result.reasons_en),
    )


#: what facts read of an employee (``promoflow.engine.facts.EmployeeLike``)
_PERSON = (
    Employee.employee_id,
    Employee.track,
    Employee.grade,
    Employee.grade_since,
    Employee.org_unit,
)
#: decision columns loaded only when read (see the end of :func:`evaluate_cycle`)
_EXPLANATIONS = (Decision.facts, Decision.thresholds, Decision.reasons_zh, Decision.reasons_en)


def evaluate_cycle(session: Session, cycle: Cycle, now: datetime, actor: str) -> list[Decision]:
    """Decide for every active employee the cycle evaluates; store and audit the decisions.

    Idempotent: a cycle that already has decisions gets them back unchanged. Uses the pack
    version the cycle pinned, never the active one.
    """
    existing = list(
        session.scalars(
            select(Decision)
            .where(Decision.cycle_id == cycle.cycle_id)
            .order_by(Decision.employee_id)
        )
    )
    if existing:
        return existing
    from promoflow.engine.facts import build_facts

    pack = pack_by_version(session, cycle.pack_id, cycle.pack_version)
    grades = pack.grades_for(cycle_kind(cycle.period_id))
    # Plain rows, not ORM objects: facts read five columns (``EmployeeLike``), and building
    # 100k identity-mapped objects for that was a measurable part of opening.
    employees = list(
        session.execute(
            select(*_PERSON)
            .where(Employee.track == cycle.track, Employee.active, Employee.grade.in_(grades))
            .order_by(Employee.employee_id)
        )
    )
    if not employees:
        return []
    facts = build_facts(session, pack, cycle.period_id, employees)
    # A streaming read (yield_per) changes the session's connection in place; on PostgreSQL
    # every later statement would become a server-side cursor, which cannot INSERT.
    session.connection().execution_options(yield_per=None, stream_results=False)
    for employee in employees:
        facts[employee.employee_id]["grade"] = employee.grade
    results = evaluate_facts(pack, facts, cycle.period_id)
    # Free what is no longer needed before the writes: at 100k employees the fact dicts,
    # the results and the reloaded rows held together were the milestone's peak memory.
    del facts
    ordered = [results.pop(e.employee_id) for e in employees]
    del results, employees
    # Core executemany on the table: no RETURNING (quadratic over insertmanyvalues on SQLite)
    session.execute(insert(Decision.__table__), [_row(cycle, r, now) for r in ordered])
    record_many(session, (_event(cycle, r, actor, now) for r in ordered))
    del ordered
    session.flush()
    # Facts, thresholds and reasons load when read: opening cases needs only the outcome,
    # and decoding every explanation again would double the peak memory at 100k.
    return list(
        session.scalars(
            select(Decision)
            .options(*(defer(c) for c in _EXPLANATIONS))
            .where(Decision.cycle_id == cycle.cycle_id)
            .order_by(Decision.employee_id)
        )
    )
