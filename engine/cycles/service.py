"""Cycles: opening them, running their milestones in order, and reporting on them.

A cycle is ``TRACK-PERIOD``. Its steps are the milestones of its pack's calendar with one
step of ours, ``effective``, right after ``announce``: on the 1st of the month after the
announcement (POLICY.md §1) announced grade changes take effect on ``employees``. Each step
is one transaction's worth of work (the caller commits) and is recorded in
``cycle_milestones``; running a step that already ran changes nothing. Running a later step
first runs the earlier ones still due (catch-up), so a scheduler that was down loses nothing.
The work of each step lives in :mod:`promoflow.engine.cycles.milestones`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from promoflow.engine.audit.trail import record
from promoflow.engine.storage.models import Case, Cycle, CycleMilestone, Decision, Notice
from promoflow.errors import NotFoundError
from promoflow.rules.calendar import EFFECTIVE, cycle_steps, milestone_time
from promoflow.rules.periods import parse_period
from promoflow.workflow.specs import waits_on


@dataclass
class MilestoneReport:
    """What one ``run_milestone`` call did (``ran`` False: nothing to do, and why)."""

    cycle_id: str
    milestone: str
    ran: bool
    note: str = ""
    steps: list[str] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "cycle": self.cycle_id,
            "milestone": self.milestone,
            "ran": self.ran,
            "note": self.note,
            "steps": self.steps,
            "counts": self.counts,
        }


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
    """The active pack of ``track`` (RULES engineer's store)."""
    from promoflow.engine.packs import store as packs

    try:
        return packs.active_pack(session, track)
    except KeyError:
        raise NotFoundError(f"no rule pack for track {track!r}") from None


def pack_of(session: Session, cycle: Cycle):
    """The exact pack version a cycle was opened with."""
    from promoflow.engine.packs import store as packs

    return packs.pack_by_version(session, cycle.pack_id, cycle.pack_version)


def steps_of(pack) -> tuple[str, ...]:
    """The cycle's steps: the pack's milestones with ``effective`` after ``announce``."""
    return cycle_steps(pack.calendar)


# --- running ------------------------------------------------------------------------------


def get_cycle(session: Session, cid: str) -> Cycle:
    """The stored cycle, or NotFoundError."""
    cycle = session.get(Cycle, cid)
    if cycle is None:
        raise NotFoundError(f"cycle {cid} has not been opened")
    return cycle


def _create_cycle(session: Session, cid: str, now: datetime) -> Cycle:
    track, period_id = parse_cycle_id(cid)
    pack = active_pack(session, track)
    kind = parse_period(period_id).kind
    if kind not in tuple(pack.calendar.cycles):
        raise NotFoundError(f"track {track} runs no {kind} cycles (only {pack.calendar.cycles})")
    cycle = Cycle(
        cycle_id=cycle_id(track, period_id),
        track=track,
        period_id=period_id,
        milestone=None,
        pack_id=pack.id,
        pack_version=pack.version,
        opened_at=None,
        updated_at=now,
    )
    session.add(cycle)
    session.flush()
    return cycle


def done_steps(session: Session, cid: str) -> set[str]:
    """Steps of the cycle that completed."""
    return set(
        session.scalars(select(CycleMilestone.milestone).where(CycleMilestone.cycle_id == cid))
    )


def open_cycle(session: Session, cid: str, now: datetime, actor: str) -> Cycle:
    """Create the cycle if absent and run its ``open`` milestone (idempotent)."""
    run_milestone(session, cid, "open", now, actor)
    return get_cycle(session, cycle_id(*parse_cycle_id(cid)))


def run_milestone(
    session: Session, cid: str, milestone: str, now: datetime, actor: str
) -> MilestoneReport:
    """Run one milestone (and any earlier one still due) in the caller's transaction."""
    cid = cycle_id(*parse_cycle_id(cid))
    cycle = session.get(Cycle, cid, with_for_update=True)
    if cycle is None:
        if milestone != "open":
            return MilestoneReport(cid, milestone, False, "the cycle has not been opened")
        cycle = _create_cycle(session, cid, now)
    pack = pack_of(session, cycle)
    order = steps_of(pack)
    if milestone not in order:
        raise NotFoundError(f"{cid} has no milestone {milestone!r}; its steps: {', '.join(order)}")
    done = done_steps(session, cid)
    if milestone in done:
        return MilestoneReport(cid, milestone, False, "already ran")
    if milestone != "open" and "open" not in done:
        return MilestoneReport(cid, milestone, False, "the cycle has not been opened")
    report = MilestoneReport(cid, milestone, True)
    for step in order[: order.index(milestone) + 1]:
        if step in done:
            continue
        counts = _run_step(session, cycle, pack, step, now, actor)
        report.steps.append(step)
        report.counts[step] = counts
    return report


def advance(session: Session, cid: str, now: datetime, actor: str) -> MilestoneReport:
    """Run the cycle's next step (``open`` if it was never opened)."""
    cid = cycle_id(*parse_cycle_id(cid))
    cycle = session.get(Cycle, cid)
    if cycle is None:
        return run_milestone(session, cid, "open", now, actor)
    done = done_steps(session, cid)
    for step in steps_of(pack_of(session, cycle)):
        if step not in done:
            return run_milestone(session, cid, step, now, actor)
    return MilestoneReport(cid, "", False, "every milestone has run")


def _fault_point(step: str) -> None:
    """Test hook: with PROMOFLOW_FAULT_PAUSE=FILE, announce mid-step and wait to be killed."""
    marker = os.environ.get("PROMOFLOW_FAULT_PAUSE")
    if marker and os.environ.get("PROMOFLOW_FAULT_STEP", step) == step:
        Path(marker).write_text(step)
        time.sleep(float(os.environ.get("PROMOFLOW_FAULT_SECONDS", "60")))


def _run_step(session: Session, cycle: Cycle, pack, step: str, now: datetime, actor: str) -> dict:
    from promoflow.engine.cycles import milestones

    if step == "open":
        settle_due_effective(session, cycle.track, now, actor, exclude=cycle.cycle_id)
    counts = milestones.run(session, cycle, pack, step, now, actor)
    _fault_point(step)
    session.add(
        CycleMilestone(
            cycle_id=cycle.cycle_id, milestone=step, ran_at=now, actor=actor, summary=counts
        )
    )
    cycle.milestone = step
    cycle.updated_at = now
    if step == "open":
        cycle.opened_at = now
    record(
        session,
        "milestone_fired",
        actor,
        now,
        subject=step,
        cycle_id=cycle.cycle_id,
        after={"milestone": step, **{k: v for k, v in counts.items() if isinstance(v, int)}},
    )
    session.flush()
    return counts


def settle_due_effective(
    session: Session, track: str, now: datetime, actor: str, exclude: str | None = None
) -> list[str]:
    """Run the ``effective`` step of earlier cycles of ``track`` whose date has come.

    Called before a cycle opens, so its rules see the grades employees hold now.
    """
    settled = []
    cycles = session.scalars(select(Cycle).where(Cycle.track == track).order_by(Cycle.period_id))
    for other in list(cycles):
        if other.cycle_id == exclude:
            continue
        done = done_steps(session, other.cycle_id)
        if "announce" not in done or EFFECTIVE in done:
            continue
        pack = pack_of(session, other)
        if milestone_time(pack.calendar, parse_period(other.period_id), EFFECTIVE) <= now:
            _run_step(session, other, pack, EFFECTIVE, now, actor)
            settled.append(other.cycle_id)
    return settled


# --- reporting ----------------------------------------------------------------------------


def cycle_status(session: Session, cid: str) -> dict[str, Any]:
    """Counts per kind and state, what waits on whom, notices by state, steps done."""
    cid = cycle_id(*parse_cycle_id(cid))
    cycle = get_cycle(session, cid)
    pack = pack_of(session, cycle)
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
)

#: probation states after a failed review carry review ``dismissal`` in the export
_DISMISSAL_STATES = {"dismissal_review", "dismissed", "retained"}

#: how a nomination that stopped at a stage reads in the export: (outcome, zh, en)
_STOPPED = {
    "failed": (
        "unchanged",
        "{stage_zh}未通过，职级不变",
        "{stage_en} not passed → grade unchanged",
    ),
    "missing": (
        "pending",
        "{stage_zh}结果截止时未到，待人力资源处理",
        "{stage_en} result missing at its deadline → waiting for HR",
    ),
}
_STAGE_NAMES = {"test": ("笔试", "written test"), "interview": ("面试", "interview")}


def _stopped_promotion(kind: str | None, state: str | None, lang: str) -> tuple[str, str] | None:
    """A nomination that did not (or not yet) become a promotion: what the export says.

    The rule's nomination stays in the decision row; the export line tells the cycle's
    result for the person, so a failed written test never reads as "promoted".
    """
    if kind != "promotion" or not state:
        return None
    if state == "no_vacancy":
        why = "无空缺职位，职级不变" if lang == "zh" else "no vacancy → grade unchanged"
        return "unchanged", why
    short, _, result = state.rpartition("_")
    if result not in _STOPPED or short not in _STAGE_NAMES:
        return None
    outcome, zh, en = _STOPPED[result]
    stage_zh, stage_en = _STAGE_NAMES[short]
    text = zh if lang == "zh" else en
    return outcome, text.format(stage_zh=stage_zh, stage_en=stage_en)


def decisions_export(session: Session, cid: str, lang: str = "en") -> list[dict[str, Any]]:
    """One INTERCHANGE.md line per evaluated employee, ordered by employee id."""
    cid = cycle_id(*parse_cycle_id(cid))
    get_cycle(session, cid)
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
            Case.kind,
            Case.state,
        )
        .outerjoin(
            Case, (Case.cycle_id == Decision.cycle_id) & (Case.employee_id == Decision.employee_id)
        )
        .where(Decision.cycle_id == cid)
        .order_by(Decision.employee_id)
    )
    out = []
    for decision in rows:
        kind, state = decision.kind, decision.state
        review = decision.review
        if kind == "probation" and state in _DISMISSAL_STATES:
            review = "dismissal"
        reasons = list(decision.reasons or [])
        outcome, to_grade = decision.outcome, decision.to_grade
        stopped = _stopped_promotion(kind, state, lang)
        if stopped is not None:
            outcome, why = stopped
            to_grade = decision.from_grade
            reasons.append(why)
        out.append(
            {
                "cycle": cid,
                "employee_id": decision.employee_id,
                "from_grade": decision.from_grade,
                "to_grade": to_grade,
                "outcome": outcome,
                "state": state,
                "probation": bool(decision.probation),
                "review": review,
                "rule": decision.rule,
                "reasons": reasons,
            }
        )
    # HR overrides beside the rule's decision (the fields above stay the rule's own); the
    # key appears only on lines that have one, so other lines keep the exact shape
    from promoflow.engine.overrides.service import overrides_for_cycle

    by_employee = overrides_for_cycle(session, cid)
    for line in out:
        if line["employee_id"] in by_employee:
            line["overrides"] = by_employee[line["employee_id"]]
    return out
