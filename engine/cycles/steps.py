"""Running a cycle's steps in order: open it, catch up on what is due, advance it by one.

A cycle's steps are its pack's milestones with ``effective`` after ``announce``
(:func:`~promoflow.engine.cycles.service.steps_of`). Each step is one transaction's worth
of work in the caller's unit of work and is recorded in ``cycle_milestones``; running a
step that already ran changes nothing. Running a later step first runs the earlier ones
still due (catch-up), so a scheduler that was down loses nothing. The work of each step
lives in :mod:`~promoflow.engine.cycles.milestones` and
:mod:`~promoflow.engine.cycles.announce`; this module sits above both and dispatches.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from promoflow import settings
from promoflow.engine.audit.trail import record
from promoflow.engine.cycles import announce as announcing
from promoflow.engine.cycles import milestones
from promoflow.engine.cycles.service import (
    active_pack,
    cycle_id,
    done_steps,
    parse_cycle_id,
    steps_of,
)
from promoflow.engine.packs.store import pack_of
from promoflow.engine.storage.models import Cycle, CycleMilestone
from promoflow.errors import NotFoundError, TransitionError
from promoflow.limits import REASON, bounded_text
from promoflow.rules.calendar import EFFECTIVE, milestone_time
from promoflow.rules.periods import parse_period
from promoflow.settings import Settings

#: the work of each step: (session, cycle, pack, now, actor) -> counts for the report
STEP_WORK: dict[str, Callable[..., dict]] = {
    "open": milestones.open_cases,
    "test_due": lambda *a: milestones.deadline(*a, stage="written_test"),
    "interview_notice": lambda *a: milestones.notify(*a, stage="interview"),
    "interview_due": lambda *a: milestones.deadline(*a, stage="interview"),
    "announce": announcing.announce,
    EFFECTIVE: announcing.take_effect,
    "probation_review": milestones.probation_review,
}


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
        """Plain data for the API and JSON output."""
        return {
            "cycle": self.cycle_id,
            "milestone": self.milestone,
            "ran": self.ran,
            "note": self.note,
            "steps": self.steps,
            "counts": self.counts,
        }


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


def next_step(session: Session, cid: str) -> str | None:
    """The step ``advance`` would run next (``open`` for a cycle never opened); None when
    every step has run."""
    cid = cycle_id(*parse_cycle_id(cid))
    cycle = session.get(Cycle, cid)
    if cycle is None:
        return "open"
    done = done_steps(session, cid)
    return next((s for s in steps_of(pack_of(session, cycle)) if s not in done), None)


def due_time(session: Session, cid: str, step: str) -> datetime:
    """When ``step`` of the cycle is due by its calendar (the pack it runs, or would open
    with)."""
    track, period_id = parse_cycle_id(cid)
    cycle = session.get(Cycle, cycle_id(track, period_id))
    pack = pack_of(session, cycle) if cycle is not None else active_pack(session, track)
    return milestone_time(pack.calendar, parse_period(period_id), step)


def run_by_hand(
    session: Session,
    cid: str,
    now: datetime,
    actor: str,
    milestone: str | None = None,
    force: str | None = None,
) -> MilestoneReport:
    """A milestone run by a person (``cycle open|advance``, the console's button, the API):
    ``milestone``, or the next step when None. Refused before its calendar time unless
    ``force`` gives the reason (POLICY.md §6), which goes in the audit trail."""
    force = bounded_text(force, "reason", REASON)
    cid = cycle_id(*parse_cycle_id(cid))
    step = milestone or next_step(session, cid)
    if step is None:
        return MilestoneReport(cid, "", False, "every milestone has run")
    if step not in done_steps(session, cid):
        due = due_time(session, cid, step)
        if now < due:
            reason = (force or "").strip()
            if not reason:
                raise TransitionError(
                    f"{cid} {step} is due {due:%Y-%m-%d %H:%M} ({due.tzinfo}); it is "
                    f"{now.astimezone(due.tzinfo):%Y-%m-%d %H:%M} now: refused before the "
                    "calendar time (force it with a reason to run it now)"
                )
            report = run_milestone(session, cid, step, now, actor)
            record(
                session,
                "milestone_forced",
                actor,
                now,
                subject=step,
                cycle_id=cid,
                before={"due": due.isoformat()},
                after={"milestone": step, "ran": report.steps},
                reason=reason,
            )
            return report
    return run_milestone(session, cid, step, now, actor)


def _fault_point(step: str, config: Settings | None = None) -> None:
    """Test hook: with PROMOFLOW_FAULT_PAUSE=FILE, announce mid-step and wait to be killed
    (``PROMOFLOW_FAULT_STEP``: only in that step; ``PROMOFLOW_FAULT_SECONDS``: how long)."""
    config = config or settings.current()
    marker = config.fault_pause
    if marker and (config.fault_step is None or config.fault_step == step):
        Path(marker).write_text(step)
        time.sleep(config.fault_seconds)


def _work(session: Session, cycle: Cycle, pack, step: str, now: datetime, actor: str) -> dict:
    """Dispatch one step to its work; returns counts for the milestone report."""
    handler = STEP_WORK.get(step)
    if handler is None:
        raise TransitionError(f"no work is defined for milestone {step!r}")
    return handler(session, cycle, pack, now, actor)


def _run_step(session: Session, cycle: Cycle, pack, step: str, now: datetime, actor: str) -> dict:
    if step == "open":
        settle_due_effective(session, cycle.track, now, actor, exclude=cycle.cycle_id)
    counts = _work(session, cycle, pack, step, now, actor)
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
