"""Scheduling services: which milestones are due, the firing records, and the firing lock.

The calendar arithmetic is pure (:mod:`promoflow.rules.calendar`, the one clock that the
notices read too); this module adds what needs the database: the track calendars of the
active rule packs, go-live, the ``milestone_firings`` rows that make every firing happen
once, and the lock that serialises firings across processes (a PostgreSQL advisory lock;
SQLite's write lock). Firing itself is :mod:`promoflow.engine.scheduling.firing`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from promoflow.engine.audit import trail as audit
from promoflow.engine.packs.store import active_pack
from promoflow.engine.setup import go_live
from promoflow.engine.storage.models import Cycle, PackVersion
from promoflow.engine.storage.models.scheduling import FAILED, FIRED, MilestoneFiring
from promoflow.errors import ConfigError, PackError
from promoflow.rules.calendar import (
    CalendarError,
    CalendarSpec,
    Milestone,
    calendar_of,
    milestones_between,
    milestones_of_cycle,
    with_effective_step,
)
from promoflow.rules.packs import bundled_packs

log = logging.getLogger("promoflow.scheduler")

#: key of the PostgreSQL advisory lock every firing transaction takes ("pflow" + 1)
ADVISORY_KEY = 0x70666C6F7701

Key = tuple[str, str, str]

#: audit kind of a change to a firing record (the milestone's own work is audited by the
#: workflow as ``milestone_fired``)
SCHEDULER_EVENT = "scheduler_firing"


def load_calendars(session: Session) -> dict[str, CalendarSpec]:
    """Each track's calendar, from its active rule pack (the bundled packs before ``init``).

    The scheduler fires every step of a cycle, so the workflow's ``effective`` step is
    added after ``announce``: grades change on their date, not at the next opening.
    """
    calendars = {}
    for track, pack in sorted(_active_packs(session).items()):
        try:
            calendars[track] = with_effective_step(calendar_of(pack.calendar))
        except CalendarError as exc:
            raise PackError(f"rule pack {track}: calendar: {exc}") from exc
    return calendars


def _active_packs(session: Session) -> dict:
    tracks = session.scalars(
        select(PackVersion.pack_id).where(PackVersion.active.is_(True)).distinct()
    ).all()
    if tracks:
        return {track: active_pack(session, track) for track in tracks}
    return dict(bundled_packs())


def require_go_live(session: Session) -> datetime:
    """Go-live time, or a clear error when ``promoflow init`` has not recorded it."""
    start = go_live(session)
    if start is None:
        raise ConfigError("no go-live time recorded: run `promoflow init --start T` first")
    return start


def firings(session: Session) -> dict[Key, MilestoneFiring]:
    """Every firing record, by (track, period, milestone)."""
    rows = session.scalars(select(MilestoneFiring)).all()
    return {(r.track, r.period_id, r.milestone): r for r in rows}


@dataclass(frozen=True)
class Candidate:
    """A milestone that should have fired by ``now``, with its firing record if any."""

    milestone: Milestone
    record: MilestoneFiring | None

    @property
    def retry_at(self) -> datetime | None:
        """When a failed firing may be tried again (None: never failed)."""
        return self.record.next_retry_at if self.record is not None else None


def due(session: Session, now: datetime, calendars: Mapping[str, CalendarSpec]) -> list[Candidate]:
    """Milestones after go-live and at or before ``now`` not yet fired, oldest first.

    A cycle whose opening came before go-live is left to people (``promoflow cycle``),
    unless it was opened: then its remaining milestones after go-live fire as usual.
    """
    start = require_go_live(session)
    if now <= start:
        return []
    done = firings(session)
    planned = milestones_between(calendars, start, now)
    opened = set(session.scalars(select(Cycle.cycle_id)).all())
    first_at = _first_milestone_at(calendars, planned)
    out = []
    for m in planned:
        if m.at <= start:
            continue
        if first_at[m.cycle_id] <= start and m.cycle_id not in opened:
            continue
        record = done.get(m.key)
        if record is not None and record.status == FIRED:
            continue
        out.append(Candidate(m, record))
    return out


def _first_milestone_at(
    calendars: Mapping[str, CalendarSpec], planned: list[Milestone]
) -> dict[str, datetime]:
    first: dict[str, datetime] = {}
    for m in planned:
        if m.cycle_id not in first:
            ms = milestones_of_cycle(calendars, m.track, m.period_id)
            first[m.cycle_id] = ms[0].at if ms else m.at
    return first


def lock_firings(session: Session) -> None:
    """Serialise firing transactions across processes until this transaction ends.

    PostgreSQL: a transaction-level advisory lock (released at commit or rollback, also
    when the process dies). SQLite: a write statement, which takes the database's write
    lock at once (other writers wait up to the busy timeout).
    """
    if session.bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_KEY})
    else:
        session.execute(text("UPDATE milestone_firings SET id = id WHERE 1 = 0"))


def firing_of(session: Session, key: Key) -> MilestoneFiring | None:
    """The firing record of one milestone, read fresh (after the lock)."""
    track, period_id, milestone = key
    return session.scalar(
        select(MilestoneFiring)
        .where(
            MilestoneFiring.track == track,
            MilestoneFiring.period_id == period_id,
            MilestoneFiring.milestone == milestone,
        )
        .execution_options(populate_existing=True)
    )


def _row(session: Session, m: Milestone, now: datetime) -> MilestoneFiring:
    row = firing_of(session, m.key)
    if row is None:
        row = MilestoneFiring(
            track=m.track,
            period_id=m.period_id,
            milestone=m.milestone,
            cycle_id=m.cycle_id,
            due_at=m.at,
            status=FAILED,
            attempts=0,
            updated_at=now,
        )
        session.add(row)
    return row


def record_fired(session: Session, m: Milestone, now: datetime, actor: str, by: str) -> None:
    """Mark a milestone fired (same transaction as its work) and audit it."""
    row = _row(session, m, now)
    row.status = FIRED
    row.attempts += 1
    row.fired_at = now
    row.fired_by = by
    row.next_retry_at = None
    row.updated_at = now
    session.flush()
    audit.record(
        session,
        SCHEDULER_EVENT,
        actor,
        now,
        subject=f"{m.cycle_id}:{m.milestone}",
        cycle_id=m.cycle_id,
        after={
            "milestone": m.milestone,
            "status": "fired",
            "due_at": m.at,
            "attempts": row.attempts,
            "by": by,
        },
    )


def record_failure(
    session: Session,
    m: Milestone,
    now: datetime,
    error: str,
    retry_at: datetime,
    actor: str,
    by: str,
) -> int:
    """Record a failed attempt (never as fired) and when to retry; returns the attempt count."""
    row = _row(session, m, now)
    row.status = FAILED
    row.attempts += 1
    row.last_error = error[:4000]
    row.next_retry_at = retry_at
    row.fired_by = by
    row.updated_at = now
    session.flush()
    audit.record(
        session,
        SCHEDULER_EVENT,
        actor,
        now,
        subject=f"{m.cycle_id}:{m.milestone}",
        cycle_id=m.cycle_id,
        after={
            "milestone": m.milestone,
            "due_at": m.at,
            "status": "failed",
            "attempts": row.attempts,
            "retry_at": retry_at,
            "by": by,
        },
        reason=error[:1000],
    )
    return row.attempts


@dataclass
class PlanRow:
    """One line of ``promoflow scheduler plan``."""

    milestone: Milestone
    status: str  # planned | fired | failed | before go-live


def plan(
    session: Session,
    start: datetime,
    end: datetime,
    calendars: Mapping[str, CalendarSpec],
) -> list[PlanRow]:
    """The milestones from ``start`` to ``end``, oldest first, with what happened to each."""
    done = firings(session)
    started = go_live(session)
    rows = []
    for m in milestones_between(calendars, start, end):
        record = done.get(m.key)
        if record is not None:
            status = record.status
        elif started is not None and m.at <= started:
            status = "before go-live"
        else:
            status = "planned"
        rows.append(PlanRow(m, status))
    return rows


@dataclass
class Status:
    """What ``promoflow scheduler status`` shows."""

    go_live: datetime | None
    fired: int
    failed: list[MilestoneFiring] = field(default_factory=list)
    recent: list[MilestoneFiring] = field(default_factory=list)
    due: list[Candidate] = field(default_factory=list)
    upcoming: list[Milestone] = field(default_factory=list)


def status(
    session: Session,
    now: datetime,
    calendars: Mapping[str, CalendarSpec],
    upcoming: int = 5,
) -> Status:
    """Failures waiting to retry, the latest firings, what is due now and what comes next."""
    rows = list(firings(session).values())
    started = go_live(session)
    fired = sorted((r for r in rows if r.status == FIRED), key=lambda r: r.fired_at)
    later = milestones_between(calendars, now, now + timedelta(days=400))
    return Status(
        go_live=started,
        fired=len(fired),
        failed=sorted((r for r in rows if r.status == FAILED), key=lambda r: r.due_at),
        recent=fired[-5:],
        due=due(session, now, calendars) if started is not None else [],
        upcoming=[m for m in later if m.at > now][:upcoming],
    )
