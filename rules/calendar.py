"""When each milestone of each cycle fires: the one clock, pure date arithmetic over a calendar.

A rule pack's ``calendar`` section says which cycle kinds a track runs (quarter, half) and,
for every cycle, the milestones in firing order as (month after the period, day, time) in
the pack's time zone. This module turns that into concrete, aware datetimes for a date
range. It reads no clock and no database: callers pass the range in.

It is the only place that computes a milestone's time: the scheduler fires a milestone at
:func:`milestones_between`'s time, and a notice that names a deadline or a date reads
:func:`milestone_time` or :func:`effective_date`, which are worked out the same way; so
what employees are told is when the step really happens. The workflow's own step,
``effective`` (grade changes take effect, POLICY.md §1), is part of every calendar with
an ``announce`` (:func:`with_effective_step`).

Optional working-day rule (``working_days_only: true``): a milestone that falls on a
weekend or a Chinese public holiday moves to the previous working day, per the maintained
``chinesecalendar`` package. For a year that package does not cover yet, only weekends
are shifted and the milestone says so in ``note``. A shift never moves a milestone before
the one ahead of it in the same cycle: it is held at that milestone's time instead, so the
firing order the pack declares always holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar

from promoflow.rules.periods import Period, containing, first_month_after, parse_period

CYCLE_KINDS = ("quarter", "half")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")
#: the longest a cycle can run after its period ends (month offsets are checked against it)
MAX_MONTH = 12


class CalendarError(ValueError):
    """A calendar section that cannot be scheduled; the message names the field."""


@dataclass(frozen=True)
class MilestoneSpec:
    """One milestone as the pack declares it: month 1 = first month after the period."""

    id: str
    month: int
    day: int
    time: str  # "HH:MM" (seconds "HH:MM:SS" accepted)
    #: False for a date fixed by policy rather than work (the day grades take effect)
    shiftable: bool = True

    def clock(self) -> time:
        """The time of day, parsed."""
        m = _TIME.match(self.time)
        if not m:
            raise CalendarError(f"milestone {self.id}: time {self.time!r} is not HH:MM")
        return time(int(m[1]), int(m[2]), int(m[3] or 0))


#: the workflow's step after ``announce``: announced grade changes take effect on the 1st of
#: this month after the period, at 00:00 (month 1 is the announcement month; POLICY.md §1)
EFFECTIVE = "effective"
EFFECTIVE_MONTH = 2
#: a date fixed by policy, so the working-day rule never moves it
EFFECTIVE_STEP = MilestoneSpec(EFFECTIVE, EFFECTIVE_MONTH, day=1, time="00:00", shiftable=False)


@dataclass(frozen=True)
class CalendarSpec:
    """A track's calendar: the frozen shape of a pack's ``calendar`` section."""

    timezone: str
    cycles: tuple[str, ...]
    milestones: tuple[MilestoneSpec, ...]
    working_days_only: bool = False

    def zone(self) -> ZoneInfo:
        """The calendar's time zone."""
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise CalendarError(f"unknown time zone {self.timezone!r}") from exc


class _CalendarLike(Protocol):
    timezone: str
    working_days_only: bool
    cycles: Any
    milestones: Any


def calendar_from_mapping(data: Mapping[str, Any], where: str = "calendar") -> CalendarSpec:
    """Build a :class:`CalendarSpec` from the YAML shape in contracts.md, checking every field."""
    if not isinstance(data, Mapping):
        raise CalendarError(f"{where}: expected a mapping")
    cycles = tuple(data.get("cycles") or ())
    for kind in cycles:
        if kind not in CYCLE_KINDS:
            raise CalendarError(f"{where}.cycles: unknown cycle kind {kind!r} (quarter, half)")
    items = data.get("milestones") or ()
    milestones = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping) or not {"id", "month", "day", "time"} <= set(item):
            raise CalendarError(f"{where}.milestones[{i}]: needs id, month, day and time")
        milestones.append(
            MilestoneSpec(str(item["id"]), int(item["month"]), int(item["day"]), str(item["time"]))
        )
    spec = CalendarSpec(
        timezone=str(data.get("timezone", "Asia/Shanghai")),
        cycles=cycles,
        milestones=tuple(milestones),
        working_days_only=bool(data.get("working_days_only", False)),
    )
    validate(spec, where)
    return spec


def calendar_of(pack_calendar: _CalendarLike) -> CalendarSpec:
    """Adapt a rule pack's ``Pack.calendar`` (any object with the contract's attributes)."""
    if isinstance(pack_calendar, CalendarSpec):
        return pack_calendar
    return calendar_from_mapping(
        {
            "timezone": pack_calendar.timezone,
            "working_days_only": pack_calendar.working_days_only,
            "cycles": list(pack_calendar.cycles),
            "milestones": [
                {"id": m.id, "month": m.month, "day": m.day, "time": m.time}
                for m in pack_calendar.milestones
            ],
        }
    )


def validate(spec: CalendarSpec, where: str = "calendar") -> None:
    """Refuse a calendar whose milestones are unknown, repeated, impossible or out of order."""
    spec.zone()
    seen: set[str] = set()
    previous: tuple[int, int, time] | None = None
    for m in spec.milestones:
        if m.id in seen:
            raise CalendarError(f"{where}: milestone {m.id!r} listed twice")
        seen.add(m.id)
        if not 1 <= m.month <= MAX_MONTH:
            raise CalendarError(f"{where}: milestone {m.id}: month {m.month} not in 1–{MAX_MONTH}")
        if not 1 <= m.day <= 28:
            raise CalendarError(f"{where}: milestone {m.id}: day {m.day} not in 1–28")
        position = (m.month, m.day, m.clock())
        if previous is not None and position < previous:
            raise CalendarError(
                f"{where}: milestone {m.id} comes before the one listed ahead of it"
            )
        previous = position


@dataclass(frozen=True)
class Milestone:
    """One planned firing: the milestone ``milestone`` of cycle ``track-period_id`` at ``at``."""

    at: datetime
    track: str
    period_id: str
    milestone: str
    index: int  # position in the cycle's firing order
    kind_index: int  # quarter cycles before half cycles at the same instant
    shifted_from: datetime | None = None
    note: str | None = None

    @property
    def cycle_id(self) -> str:
        """``TRACK-PERIOD`` as INTERCHANGE.md names cycles."""
        return f"{self.track}-{self.period_id}"

    @property
    def key(self) -> tuple[str, str, str]:
        """The unique firing key (track, period, milestone)."""
        return (self.track, self.period_id, self.milestone)

    def sort_key(self) -> tuple:
        """Oldest first; ties keep a stable, meaningful order (track, cycle kind, period, step)."""
        return (self.at, self.track, self.kind_index, self.period_id, self.index)


def _add_months(first: date, months: int) -> date:
    total = first.year * 12 + (first.month - 1) + months
    return date(total // 12, total % 12 + 1, 1)


def is_working_day(day: date) -> tuple[bool, str | None]:
    """Whether ``day`` is a working day in mainland China, and a note if data was missing."""
    try:
        return bool(chinese_calendar.is_workday(day)), None
    except NotImplementedError:
        note = f"no holiday data for {day.year} in chinesecalendar: only weekends shifted"
        return day.weekday() < 5, note


def previous_working_day(day: date) -> tuple[date, str | None]:
    """``day`` itself when it is a working day, else the nearest working day before it."""
    note = None
    for _ in range(60):
        working, missing = is_working_day(day)
        note = note or missing
        if working:
            return day, note
        day -= timedelta(days=1)
    raise CalendarError(f"no working day within 60 days before {day}")  # pragma: no cover


def _declared_day(period: Period, m: MilestoneSpec) -> date:
    """The day the pack declares for ``m`` in the cycle over ``period``, before any shift."""
    return _add_months(first_month_after(period), m.month - 1).replace(day=m.day)


def cycle_milestones(track: str, spec: CalendarSpec, period: Period) -> list[Milestone]:
    """Every milestone of one cycle, in firing order, with its aware firing time."""
    zone = spec.zone()
    kind_index = CYCLE_KINDS.index(period.kind)
    out: list[Milestone] = []
    for index, m in enumerate(spec.milestones):
        day = _declared_day(period, m)
        at = datetime.combine(day, m.clock(), tzinfo=zone)
        shifted_from, note = None, None
        if spec.working_days_only and m.shiftable:
            moved, note = previous_working_day(day)
            if moved != day:
                shifted_from = at
                at = datetime.combine(moved, m.clock(), tzinfo=zone)
        if out and at < out[-1].at:
            # a shift must not overtake the milestone ahead: hold it at that one's time
            shifted_from = shifted_from or at
            at = out[-1].at
        out.append(Milestone(at, track, period.id, m.id, index, kind_index, shifted_from, note))
    return out


def with_effective_step(spec: CalendarSpec) -> CalendarSpec:
    """``spec`` with the ``effective`` step after ``announce`` (unchanged without announce).

    A cycle's steps are its pack's milestones plus ``effective``: grades change on their
    date, not at the next opening, so the scheduler fires that step like any other.
    """
    ids = [m.id for m in spec.milestones]
    if "announce" not in ids or EFFECTIVE in ids:
        return spec
    position = _position(EFFECTIVE_STEP)
    index = ids.index("announce") + 1
    while index < len(ids) and _position(spec.milestones[index]) < position:
        index += 1
    milestones = (*spec.milestones[:index], EFFECTIVE_STEP, *spec.milestones[index:])
    return replace(spec, milestones=milestones)


def _position(m: MilestoneSpec) -> tuple[int, int, time]:
    return (m.month, m.day, m.clock())


def cycle_steps(pack_calendar: _CalendarLike) -> tuple[str, ...]:
    """The steps of every cycle of a pack, in the order they fire (``effective`` included)."""
    return tuple(m.id for m in with_effective_step(calendar_of(pack_calendar)).milestones)


def milestone_time(pack_calendar: _CalendarLike, period: Period, milestone: str) -> datetime:
    """When ``milestone`` of the cycle over ``period`` fires, aware in the calendar's zone.

    The very time the scheduler fires it (working-day shifts included), for the notices
    and reports that tell people when a step happens.
    """
    spec = with_effective_step(calendar_of(pack_calendar))
    for m in cycle_milestones("", spec, period):
        if m.milestone == milestone:
            return m.at
    steps = ", ".join(m.id for m in spec.milestones)
    raise CalendarError(f"milestone {milestone!r} is not in the calendar (its steps: {steps})")


def effective_date(period: Period) -> date:
    """POLICY.md §1: the day announced grade changes take effect (the 1st of month 2).

    Fixed by policy, so never moved by the working-day rule: the ``effective`` step fires
    at 00:00 that day.
    """
    return _declared_day(period, EFFECTIVE_STEP)


def probation_month(period: Period) -> str:
    """POLICY.md §2: the month a change takes effect, whose score a probation review reads."""
    start = effective_date(period)
    return f"{start.year:04d}-{start.month:02d}"


def _periods_touching(kind: str, start: datetime, end: datetime) -> Iterable[Period]:
    # a cycle's milestones fall up to MAX_MONTH months after its period ends
    period = containing(_add_months(start.date().replace(day=1), -(MAX_MONTH + 7)), kind)
    last = containing(end.date(), kind)
    while period.starts <= last.starts:
        yield period
        period = period.next()


def milestones_between(
    calendars: Mapping[str, CalendarSpec], start: datetime, end: datetime
) -> list[Milestone]:
    """Every milestone of every track with ``start <= at <= end``, oldest first."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("milestones_between needs aware datetimes")
    out = []
    for track, spec in calendars.items():
        for kind in spec.cycles:
            for period in _periods_touching(kind, start, end):
                out.extend(m for m in cycle_milestones(track, spec, period) if start <= m.at <= end)
    out.sort(key=Milestone.sort_key)
    return out


def milestones_of_cycle(
    calendars: Mapping[str, CalendarSpec], track: str, period_id: str
) -> list[Milestone]:
    """The milestones of one cycle (empty if the track does not run that kind of cycle)."""
    spec = calendars.get(track)
    period = parse_period(period_id)
    if spec is None or period.kind not in spec.cycles:
        return []
    return cycle_milestones(track, spec, period)
