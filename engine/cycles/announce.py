"""Announcement and the effective date: vacancies, grade history, notices, new grades.

``announce`` hands out open headcount by the POLICY.md §1 ranking
(:mod:`promoflow.workflow.vacancies`), announces every decided change, writes grade history
with the effective date (the 1st of the month after the announcement) and queues the
formal notices. ``take_effect`` runs on or after that date and makes the announced grades
the employees' grades. Both only move and write in bulk; the caller's transaction commits.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from promoflow.engine.audit.trail import Event, record_many
from promoflow.engine.cases.moves import Moves, load_refs
from promoflow.engine.cycles.milestones import (
    NOTICE_DECISION_COLUMNS,
    decision_rows,
    json_as_text,
    json_loader,
    notice_params,
    pack_stages,
    refs_with_people,
)
from promoflow.engine.cycles.service import done_steps
from promoflow.engine.notices.outbox import Outgoing, default_lang, queue
from promoflow.engine.overrides.grades import apply_grade, why_of
from promoflow.engine.overrides.query import effective_overrides
from promoflow.engine.storage.bulk import insert_rows, update_rows
from promoflow.engine.storage.models import (
    Cycle,
    Decision,
    Employee,
    GradeHistory,
    StageResult,
    Vacancy,
)
from promoflow.errors import TransitionError
from promoflow.rules.calendar import EFFECTIVE, effective_date, milestone_time, probation_month
from promoflow.rules.periods import parse_period
from promoflow.workflow import guards
from promoflow.workflow.outcome import is_held
from promoflow.workflow.specs import MachineSpec, spec_for, stage_short
from promoflow.workflow.vacancies import Candidate, allocate


def _needs_vacancy(pack, period_kind: str, from_grade: str, to_grade: str) -> bool:
    config = getattr(pack, "vacancy", None)
    cycles = getattr(config, "cycles", None) if config is not None else None
    if cycles is None and isinstance(config, dict):
        cycles = config.get("cycles")
    if not cycles or period_kind not in tuple(cycles):
        return False
    try:
        return pack.position_of(from_grade).id != pack.position_of(to_grade).id
    except (KeyError, ValueError):
        return False


def _position_id(pack, name: str) -> str | None:
    for pos in pack.positions:
        if name in (pos.id, pos.zh, pos.en):
            return pos.id
    return None


def _fact(facts: dict, *names: str) -> Decimal | None:
    for name in names:
        value = facts.get(name)
        if value not in (None, ""):
            return Decimal(str(value))
    return None


def announce(
    session: Session,
    cycle: Cycle,
    pack,
    now: datetime,
    actor: str,
    only: Collection[int] | None = None,
) -> dict:
    """Allocate vacancies, announce every decided change, record grade history, notify.

    ``only`` (case ids) announces those cases alone, after the cycle's announcement: a
    result that came late moves its case on by itself (POLICY.md §6), competing for the
    headcount still open.
    """
    stages = pack_stages(pack)
    period = parse_period(cycle.period_id)
    effective_on = effective_date(period)
    lang = _lang()
    # only the reasons in the notices' language, decoded for the announced cases only:
    # decoding both languages for every decision was a tenth of the milestone
    reasons_column = json_as_text(
        Decision.reasons_zh if lang == "zh" else Decision.reasons_en, "reasons"
    )
    loads = json_loader(session)
    refs, decisions, people = refs_with_people(
        session, cycle.cycle_id, None, (*_DECISION_COLUMNS, reasons_column), _PERSON_COLUMNS
    )
    if only is not None:
        refs = [ref for ref in refs if ref.id in only]
    ready = f"{stage_short(stages[-1])}_passed" if stages else "nominated"
    promo_spec = spec_for("promotion", stages)
    moves, notices, history = Moves(cycle.cycle_id), [], []
    rating = pack.id == "cs_rating"
    overridden = effective_overrides(session, cycle.cycle_id)

    if only is None:  # a case held for HR waits at the announcement too (POLICY.md §6)
        refs = [r for r in refs if not is_held(r.flagged)]
    candidates, plain = [], []
    for ref in refs:
        if ref.employee_id in overridden:
            continue  # HR decided this one: the override, not the rule, sets the grade
        if ref.kind == "promotion" and ref.state == ready:
            d = decisions[ref.decision_id]
            if _needs_vacancy(pack, period.kind, d.from_grade, d.to_grade):
                candidates.append(ref)
            else:
                plain.append(ref)
    winners, losers = _allocate(session, cycle, pack, candidates, decisions, people, now, actor)
    for ref in losers:
        moves.fire(
            promo_spec,
            ref,
            "deny_vacancy",
            reason="no open headcount left for this position after ranking (POLICY.md §1)",
        )
    for ref in plain + winners:
        moves.fire(promo_spec, ref, "approve")

    when = effective_on.isoformat()
    specs: dict[str, MachineSpec] = {}
    # which states allow "announce", per machine (a spec answers by walking its arrows)
    announcing: dict[tuple[str, str], bool] = {}
    probation_extra: dict[str, object] = {}
    for ref in refs:
        d = decisions.get(ref.decision_id)
        if d is None:
            continue
        emp = people.get(ref.employee_id)
        spec = specs.get(ref.kind) or specs.setdefault(ref.kind, spec_for(ref.kind, stages))
        if ref.employee_id in overridden:
            o = overridden[ref.employee_id]
            why = f"decided by override #{o.id} ({o.kind}): the rule's change is not made"
            moves.flag(ref, why)
            continue
        can = announcing.get((ref.kind, ref.state))
        if can is None:
            can = announcing[(ref.kind, ref.state)] = "announce" in spec.allowed(ref.state)
        if not can:
            if ref.kind == "promotion" and ref.state not in spec.final:
                moves.flag(
                    ref, f"still waiting at announcement ({ref.state}): HR to decide by override"
                )
            continue
        moves.fire(spec, ref, "announce")
        params = notice_params(
            cycle, emp, d, effective_on=when, reasons=list(loads(d.reasons) or [])
        )
        changes = ref.kind in ("promotion", "demotion", "probation") and d.to_grade != d.from_grade
        if changes:
            history.append(
                {
                    "employee_id": d.employee_id,
                    "track": cycle.track,
                    "grade": d.to_grade,
                    "previous_grade": d.from_grade,
                    "effective_from": effective_on,
                    "source": "cycle",
                    "reason": f"{cycle.cycle_id} {ref.kind} ({d.rule or 'rule'})",
                    "cycle_id": cycle.cycle_id,
                    "recorded_at": now,
                }
            )
        if rating:
            notices.append(Outgoing(cycle.cycle_id, d.employee_id, ref.id, "rating", params))
        elif ref.kind == "probation":
            if not probation_extra:
                probation_extra.update(
                    probation_month=probation_month(period),
                    pass_mark=guards.pass_mark("probation_review", dict(pack.pass_marks)),
                )
            params.update(probation_extra)
            notices.append(Outgoing(cycle.cycle_id, d.employee_id, ref.id, "probation", params))
        elif ref.kind in ("promotion", "demotion"):
            notices.append(Outgoing(cycle.cycle_id, d.employee_id, ref.id, ref.kind, params))
    moves.write(session, now, actor)
    if history:
        insert_rows(session, GradeHistory.__table__, history)
    counts = moves.counts()
    counts.update(grade_changes=len(history), notices=queue(session, notices, now, actor))
    return counts


def move_on_late(
    session: Session, cycle: Cycle, pack, case_ids: Collection[int], now: datetime, actor: str
) -> None:
    """Cases whose last stage passed after the announcement: announced now, and made
    effective too when the cycle's effective date has passed (POLICY.md §6)."""
    session.flush()
    done = done_steps(session, cycle.cycle_id)
    if "announce" not in done:
        return
    announce(session, cycle, pack, now, actor, only=set(case_ids))
    if EFFECTIVE in done:
        session.flush()
        take_effect(session, cycle, pack, now, actor, only=set(case_ids))


#: what announcing reads of a decision (the reasons, in one language, are added)
_DECISION_COLUMNS = (
    Decision.id,
    Decision.employee_id,
    Decision.from_grade,
    Decision.to_grade,
    Decision.rule,
)

#: what announcing reads of an employee: the name for notices, the unit for vacancies
_PERSON_COLUMNS = (Employee.name, Employee.org_unit)


def _lang() -> str:
    return default_lang()


def _allocate(session, cycle, pack, refs, decisions, people, now, actor):
    """Rank the candidates needing a vacancy; fill headcount; return (winners, losers)."""
    if not refs:
        return [], []
    scores: dict[tuple[str, str], Decimal | None] = {
        (e, s): v
        for e, s, v in session.execute(
            select(StageResult.employee_id, StageResult.stage, StageResult.score).where(
                StageResult.cycle_id == cycle.cycle_id
            )
        )
    }
    by_employee = {r.employee_id: r for r in refs}
    facts = dict(
        session.execute(
            select(Decision.id, Decision.facts).where(
                Decision.id.in_([r.decision_id for r in refs])
            )
        ).all()
    )
    candidates = []
    for ref in refs:
        d = decisions[ref.decision_id]
        d_facts = facts.get(ref.decision_id) or {}
        target = pack.position_of(d.to_grade).id
        mig = _fact(d_facts, "months_in_grade")
        candidates.append(
            Candidate(
                employee_id=ref.employee_id,
                org_unit=getattr(people.get(ref.employee_id), "org_unit", None),
                position=target,
                test_score=scores.get((ref.employee_id, "written_test")),
                interview_score=scores.get((ref.employee_id, "interview")),
                attainment=_fact(d_facts, "attainment_half", "attainment_q"),
                months_in_grade=int(mig) if mig is not None else None,
            )
        )
    vacancy_rows = list(session.scalars(select(Vacancy)))
    open_by_key: dict[tuple[str | None, str], int] = {}
    rows_by_key: dict[tuple[str | None, str], list[Vacancy]] = {}
    for v in vacancy_rows:
        pid = _position_id(pack, v.position)
        if pid is None:
            continue
        key = (v.org_unit, pid)
        open_by_key[key] = open_by_key.get(key, 0) + v.open
        rows_by_key.setdefault(key, []).append(v)
    winners, losers = allocate(candidates, open_by_key)
    events = []
    for c in winners:
        for v in rows_by_key.get((c.org_unit, c.position), []):
            if v.open > 0:
                before = v.open
                session.execute(
                    update(Vacancy)
                    .where(Vacancy.id == v.id)
                    .values(open=before - 1, updated_at=now)
                )
                v.open = before - 1
                events.append(
                    Event(
                        kind="vacancy_filled",
                        actor=actor,
                        at=now,
                        subject=f"{v.org_unit}/{v.position}",
                        employee_id=c.employee_id,
                        cycle_id=cycle.cycle_id,
                        before={"open": before},
                        after={"open": before - 1},
                        reason="headcount allocated at announcement (POLICY.md §1 ranking)",
                    )
                )
                break
    record_many(session, events)
    return [by_employee[c.employee_id] for c in winners], [
        by_employee[c.employee_id] for c in losers
    ]


# --- effective -----------------------------------------------------------------------------


def take_effect(
    session: Session,
    cycle: Cycle,
    pack,
    now: datetime,
    actor: str,
    only: Collection[int] | None = None,
) -> dict:
    """On the effective date, announced grade changes become the employees' grades.

    A case held for HR (``employee_changed``, ``facts_revised``: POLICY.md §6) is left as it
    is until HR decides; ``only`` (case ids) carries out those HR has since released.
    """
    period = parse_period(cycle.period_id)
    due = milestone_time(pack.calendar, period, EFFECTIVE)
    if now < due:
        raise TransitionError(
            f"{cycle.cycle_id}: grade changes take effect on {due.date().isoformat()}, not before"
        )
    stages = pack_stages(pack)
    decisions = decision_rows(session, cycle.cycle_id, NOTICE_DECISION_COLUMNS)
    overridden = effective_overrides(session, cycle.cycle_id)
    moves = Moves(cycle.cycle_id)
    updates, events = [], []
    held = 0
    for ref in load_refs(session, cycle.cycle_id, ("announced",)):
        if ref.kind not in ("promotion", "demotion", "probation"):
            continue
        if only is not None and ref.id not in only:
            continue
        if is_held(ref.flagged):
            held += 1
            continue
        moves.fire(spec_for(ref.kind, stages), ref, "take_effect")
        d = decisions[ref.decision_id]
        if d.to_grade == d.from_grade or d.employee_id in overridden:
            # an override approved after the announcement already set the grade
            continue
        updates.append(
            {
                "employee_id": d.employee_id,
                "grade": d.to_grade,
                "grade_since": due.date(),
                "updated_at": now,
            }
        )
        events.append(
            Event(
                kind="grade_change",
                actor=actor,
                at=now,
                subject=cycle.cycle_id,
                employee_id=d.employee_id,
                cycle_id=cycle.cycle_id,
                case_id=ref.id,
                before={"grade": d.from_grade},
                after={"grade": d.to_grade, "grade_since": due.date().isoformat()},
                reason=f"{ref.kind} announced in {cycle.cycle_id}, effective {due.date()}",
            )
        )
    moves.write(session, now, actor)
    if updates:
        update_rows(session, Employee.__table__, "employee_id", updates)
    record_many(session, events, plain=True)  # grades and ISO dates as text
    # approved overrides that waited for this date (POLICY.md §6) take effect with it
    waited = 0
    for o in overridden.values():
        if "applied_grade" not in (o.effect or {}) and (only is None or o.case_id in only):
            since = date.fromisoformat(o.effect.get("effective_from") or due.date().isoformat())
            apply_grade(session, o, since, now, actor, why_of(o))
            waited += 1
    return {
        **moves.counts(),
        "grade_changes": len(updates),
        "held_for_hr": held,
        "overrides_applied": waited,
    }
