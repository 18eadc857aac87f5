"""Cycles: their ids, their steps and calendar, and reports on where they stand.

A cycle is ``TRACK-PERIOD``. Its steps are the milestones of its pack's calendar with one
step of ours, ``effective``, right after ``announce``: on the 1st of the month after the
announcement (POLICY.md §1) announced grade changes take effect on ``employees``. Running
the steps is :mod:`promoflow.engine.cycles.steps` (above the milestones' work, which reads
the calendar here); this module is what the milestones and the reports share.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from promoflow.engine.packs import store as packs
from promoflow.engine.read.outcomes import cycle_outcomes
from promoflow.engine.storage.models import Case, Cycle, CycleMilestone, Decision, Notice
from promoflow.errors import NotFoundError
from promoflow.limits import PLACE, bounded_text
from promoflow.rules.calendar import cycle_steps, milestone_time
from promoflow.rules.periods import parse_period
from promoflow.workflow.specs import waits_on


def cycle_id(track: str, period_id: str) -> str:
    """``sales`` + ``2026Q3`` → ``sales-2026Q3``."""
    return f"{track}-{period_id}"


def parse_cycle_id(value: str) -> tuple[str, str]:
    """``sales-2026Q3`` → (``sales``, ``2026Q3``); NotFoundError naming the bad part."""
    track, sep, period_id = value.strip().partition("-")
    if not sep or not track:
        raise NotFoundError(f"bad cycle id {value!r}: use TRACK-PERIOD, e.g. sales-2026Q3")
    try:
        period = parse_period(period_id)
    except ValueError as exc:
        raise NotFoundError(f"bad cycle id {value!r}: {exc}") from None
    if period.kind == "month":
        raise NotFoundError(f"bad cycle id {value!r}: a cycle runs over a quarter or a half")
    return track, period.id


# --- packs and calendar -------------------------------------------------------------------


def active_pack(session: Session, track: str):
    """The pack new cycles of ``track`` use; NotFoundError for a track without one."""
    try:
        return packs.active_pack(session, track)
    except KeyError:
        raise NotFoundError(f"no rule pack for track {track!r}") from None


def steps_of(pack) -> tuple[str, ...]:
    """The cycle's steps: the pack's milestones with ``effective`` after ``announce``."""
    return cycle_steps(pack.calendar)


# --- stored cycles ------------------------------------------------------------------------


def get_cycle(session: Session, cid: str) -> Cycle:
    """The stored cycle, or NotFoundError."""
    cycle = session.get(Cycle, cid)
    if cycle is None:
        raise NotFoundError(f"cycle {cid} has not been opened")
    return cycle


def set_interview(session: Session, cid: str, at: datetime, place: str) -> Cycle:
    """When and where the cycle's interviews take place (the interview notices print it);
    the place is bounded (:data:`promoflow.limits.PLACE`)."""
    place = bounded_text(place, "place", PLACE)
    cycle = get_cycle(session, cycle_id(*parse_cycle_id(cid)))
    cycle.interview_at, cycle.interview_place = at, place
    return cycle


def done_steps(session: Session, cid: str) -> set[str]:
    """Steps of the cycle that completed."""
    return set(
        session.scalars(select(CycleMilestone.milestone).where(CycleMilestone.cycle_id == cid))
    )


# --- reporting ----------------------------------------------------------------------------


def cycle_status(session: Session, cid: str) -> dict[str, Any]:
    """Counts per kind and state, what waits on whom, notices by state, steps done."""
    cid = cycle_id(*parse_cycle_id(cid))
    cycle = get_cycle(session, cid)
    pack = packs.pack_of(session, cycle)
    done = done_steps(session, cid)
    order = steps_of(pack)
    states: dict[str, dict[str, int]] = {}
    waiting: dict[str, int] = {}
    rows = session.execute(
        select(Case.kind, Case.state, func.count())
        .where(Case.cycle_id == cid)
        .group_by(Case.kind, Case.state)
    )
    for kind, state, count in rows:
        states.setdefault(kind, {})[state] = count
        who = waits_on(kind, state)
        if who:
            waiting[who] = waiting.get(who, 0) + count
    flagged = session.scalar(
        select(func.count()).where(Case.cycle_id == cid, Case.flagged.is_not(None))
    )
    notices = dict(
        session.execute(
            select(Notice.state, func.count()).where(Notice.cycle_id == cid).group_by(Notice.state)
        ).all()
    )
    period = parse_period(cycle.period_id)
    next_step = next((s for s in order if s not in done), None)
    return {
        #: closed: every step has run and no case waits on anyone (POLICY.md §6)
        "closed": next_step is None and not waiting,
        "cycle": cid,
        "track": cycle.track,
        "period": cycle.period_id,
        "pack_version": cycle.pack_version,
        "steps_done": [s for s in order if s in done],
        "next": next_step,
        "next_due": (
            milestone_time(pack.calendar, period, next_step).isoformat() if next_step else None
        ),
        "cases": states,
        "waiting_on": waiting,
        "flagged": flagged or 0,
        "notices": notices,
    }


def cycle_statuses(session: Session) -> list[dict[str, Any]]:
    """:func:`cycle_status` of every cycle, newest period first (``cycle list``)."""
    ids = session.scalars(select(Cycle.cycle_id).order_by(Cycle.period_id.desc(), Cycle.cycle_id))
    return [cycle_status(session, cid) for cid in ids.all()]


EXPORT_KEYS = (
    "cycle",
    "employee_id",
    "from_grade",
    "to_grade",
    "outcome",
    "state",
    "probation",
    "review",
    "rule",
    "reasons",
    "rule_outcome",
    "rule_to_grade",
    "review_decision",
    "overrides",
    "effective_from",
)


def decisions_export(session: Session, cid: str, lang: str = "en") -> list[dict[str, Any]]:
    """One INTERCHANGE.md line per evaluated employee, ordered by employee id."""
    cid = cycle_id(*parse_cycle_id(cid))
    cycle = get_cycle(session, cid)
    # Columns, not Decision objects: an export of 100k lines must not decode every
    # decision's facts and thresholds (nor the other language's reasons) to print none.
    reasons_column = Decision.reasons_zh if lang == "zh" else Decision.reasons_en
    rows = session.execute(
        select(
            Decision.employee_id,
            Decision.from_grade,
            Decision.to_grade,
            Decision.outcome,
            Decision.probation,
            Decision.review,
            Decision.rule,
            reasons_column.label("reasons"),
            # the outcome's inputs last, in OUTCOME_COLUMNS order
            Decision.from_grade.label("from_grade_"),
            Decision.to_grade.label("to_grade_"),
            Decision.outcome.label("outcome_"),
            Decision.probation.label("probation_"),
            Decision.review.label("review_"),
            Case.kind,
            Case.state,
            Case.flagged,
        )
        .outerjoin(
            Case, (Case.cycle_id == Decision.cycle_id) & (Case.employee_id == Decision.employee_id)
        )
        .where(Decision.cycle_id == cid)
        .order_by(Decision.employee_id)
    )
    of = cycle_outcomes(session, cycle).memoised()
    out = []
    for d in rows:
        result = of(d[:1] + d[-8:])  # (employee_id, *OUTCOME_COLUMNS)
        reasons = list(d.reasons or [])
        if result.why(lang):
            reasons.append(result.why(lang))
        out.append(
            {
                "cycle": cid,
                "employee_id": d.employee_id,
                "from_grade": d.from_grade,
                "to_grade": result.to_grade,
                "outcome": result.outcome,
                "state": d.state,
                "probation": bool(d.probation),
                "review": result.review,
                "rule": d.rule,
                "reasons": reasons,
                "rule_outcome": result.rule_outcome,
                "rule_to_grade": result.rule_to_grade,
                "review_decision": result.review_decision,
                "overrides": list(result.overrides),
                "effective_from": (
                    result.effective_from.isoformat() if result.effective_from else None
                ),
            }
        )
    return out
