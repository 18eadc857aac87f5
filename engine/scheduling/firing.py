"""Firing due milestones exactly once, oldest first: what run-due and the service both call.

Each milestone fires in a transaction of its own that (1) takes the firing lock, (2) reads
its firing record again, (3) runs the action, and (4) marks it fired — so the work and the
"fired" mark commit together or not at all, and a second scheduler, waiting on the lock,
finds it fired and does nothing. A failure rolls the work back, records the error and a
retry time with exponential back-off, and holds back the later milestones of the same
cycle (an announcement never overtakes a failed opening). Other cycles go on.

This module owns the transactions, the lock and the retries: callers (``promoflow
scheduler run-due``, the APScheduler service in :mod:`promoflow.scheduler.service`) hand
it a sessionmaker and render what it reports. The action is injectable: production runs
``promoflow.engine.cycles.steps.run_milestone(session, cycle_id, milestone, now, actor)``.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from promoflow.engine.cycles.steps import run_milestone
from promoflow.engine.scheduling import service as scheduling
from promoflow.engine.storage.models.scheduling import FIRED
from promoflow.errors import PromoflowError
from promoflow.rules.calendar import CalendarSpec, Milestone, milestones_between

log = logging.getLogger("promoflow.scheduler")

#: action(session, cycle_id, milestone, now, actor) — does one milestone's work, no commit
Action = Callable[[Session, str, str, datetime, str], Any]

FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=1)


def run_milestone_action(session: Session, cycle_id: str, milestone: str, now, actor: str):
    """The production action: the workflow's ``run_milestone``."""
    return run_milestone(session, cycle_id, milestone, now, actor=actor)


def backoff(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failure: 1, 2, 4 … minutes, at most an hour."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_RETRY)


def worker_name() -> str:
    """Who fires: host and process, so the record says which scheduler did it."""
    return f"scheduler@{socket.gethostname()}:{os.getpid()}"


@dataclass
class Outcome:
    """What happened to one due milestone in a pass."""

    milestone: Milestone
    result: str  # fired | failed | waiting | already
    error: str | None = None
    retry_at: datetime | None = None
    attempts: int = 0
    #: what the action said when it had nothing to do (e.g. "the cycle has not been opened")
    note: str | None = None


@dataclass
class RunReport:
    """Everything one pass did, in the order it happened."""

    now: datetime
    outcomes: list[Outcome] = field(default_factory=list)

    def of(self, result: str) -> list[Outcome]:
        """The outcomes with one result."""
        return [o for o in self.outcomes if o.result == result]

    @property
    def fired(self) -> list[Milestone]:
        """Milestones this pass fired, in firing order."""
        return [o.milestone for o in self.of("fired")]

    @property
    def next_retry(self) -> datetime | None:
        """The earliest time a failed milestone may be tried again."""
        times = [o.retry_at for o in self.outcomes if o.retry_at is not None]
        return min(times) if times else None


def run_due(
    sessions: sessionmaker[Session],
    now: datetime,
    action: Action | None = None,
    calendars: Mapping[str, CalendarSpec] | None = None,
    actor: str = "scheduler",
    stop: Callable[[], bool] | None = None,
) -> RunReport:
    """Fire every milestone after go-live and at or before ``now`` not fired yet, oldest first.

    ``stop`` is asked between firings: a service being shut down ends the pass there.
    """
    if now.tzinfo is None:
        raise ValueError("run_due needs an aware `now`")
    action = action or run_milestone_action
    try:
        with sessions() as session:
            cals = calendars if calendars is not None else scheduling.load_calendars(session)
            candidates = scheduling.due(session, now, cals)
    except OperationalError as exc:
        raise PromoflowError(f"database unavailable, nothing fired: {exc.orig}") from exc
    report = RunReport(now)
    held: set[str] = set()
    by = worker_name()
    for candidate in candidates:
        if stop is not None and stop():
            break
        m = candidate.milestone
        if m.cycle_id in held:
            report.outcomes.append(Outcome(m, "waiting", "an earlier milestone has not fired"))
            continue
        if candidate.retry_at is not None and candidate.retry_at > now:
            held.add(m.cycle_id)
            report.outcomes.append(
                Outcome(m, "waiting", candidate.record.last_error, candidate.retry_at)
            )
            continue
        outcome = fire_one(sessions, m, now, action, actor, by)
        report.outcomes.append(outcome)
        if outcome.result in ("failed", "waiting"):
            held.add(m.cycle_id)
    return report


def fire_one(
    sessions: sessionmaker[Session],
    m: Milestone,
    now: datetime,
    action: Action,
    actor: str,
    by: str,
) -> Outcome:
    """Fire one milestone under the lock; a failure is recorded for retry, never as fired."""
    try:
        with sessions() as session, session.begin():
            scheduling.lock_firings(session)
            record = scheduling.firing_of(session, m.key)
            if record is not None and record.status == FIRED:
                return Outcome(m, "already", attempts=record.attempts)
            if record is not None and record.next_retry_at and record.next_retry_at > now:
                return Outcome(m, "waiting", record.last_error, record.next_retry_at)
            result = action(session, m.cycle_id, m.milestone, now, actor)
            scheduling.record_fired(session, m, now, actor, by)
        log.debug("fired %s %s (due %s)", m.cycle_id, m.milestone, m.at.isoformat())
        note = getattr(result, "note", None) if getattr(result, "ran", True) is False else None
        return Outcome(m, "fired", note=note or None)
    except Exception as exc:  # any failure: retry later, keep going with other cycles
        error = f"{type(exc).__name__}: {exc}"
        log.debug("milestone %s %s failed: %s", m.cycle_id, m.milestone, traceback.format_exc())
        return _record_failure(sessions, m, now, error, actor, by)


def _record_failure(sessions, m: Milestone, now, error: str, actor: str, by: str) -> Outcome:
    try:
        with sessions() as session, session.begin():
            scheduling.lock_firings(session)
            record = scheduling.firing_of(session, m.key)
            if record is not None and record.status == FIRED:
                return Outcome(m, "already", attempts=record.attempts)
            retry_at = now + backoff((record.attempts if record else 0) + 1)
            attempts = scheduling.record_failure(session, m, now, error, retry_at, actor, by)
    except Exception as exc:  # the database itself may be down: retry on the first step
        log.error("could not record the failure of %s %s: %s", m.cycle_id, m.milestone, exc)
        return Outcome(m, "failed", error, now + FIRST_RETRY)
    return Outcome(m, "failed", error, retry_at, attempts)


def upcoming(
    sessions: sessionmaker[Session],
    now: datetime,
    horizon: timedelta,
    calendars: Mapping[str, CalendarSpec] | None = None,
) -> list[Milestone]:
    """The milestones after ``now`` and within ``horizon``, oldest first: when to wake next.

    Without ``calendars``, those of the active rule packs (read in a session of its own).
    """
    if calendars is None:
        with sessions() as session:
            calendars = scheduling.load_calendars(session)
    return [m for m in milestones_between(calendars, now, now + horizon) if m.at > now]
