"""Periods as HR writes them: months (2026-07), quarters (2026Q3) and halves (2026H2).

Pure date arithmetic shared by imports, facts, cycles and the scheduler.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_HALF = re.compile(r"^(\d{4})H([12])$")


@dataclass(frozen=True, order=True)
class Period:
    """A calendar period: ``kind`` is ``month``, ``quarter`` or ``half``."""

    starts: date
    ends: date
    kind: str
    id: str

    @property
    def months(self) -> list[Period]:
        """The months this period covers, in order."""
        return list(_months(self.starts, self.ends))

    @property
    def quarters(self) -> list[Period]:
        """The quarters this period covers (a half has two; a quarter is itself)."""
        if self.kind == "month":
            raise ValueError(f"{self.id} is a month and holds no quarter")
        first = (self.starts.month - 1) // 3 + 1
        count = 2 if self.kind == "half" else 1
        return [parse_period(f"{self.starts.year}Q{first + i}") for i in range(count)]

    def previous(self) -> Period:
        """The period of the same kind just before this one."""
        return containing(self.starts - timedelta(days=1), self.kind)

    def next(self) -> Period:
        """The period of the same kind just after this one."""
        return containing(self.ends + timedelta(days=1), self.kind)

    def __str__(self) -> str:
        return self.id


@lru_cache(maxsize=1024)
def _months(starts: date, ends: date) -> tuple[Period, ...]:
    # remembered: facts ask for the months of the same few periods for every employee
    out = []
    year, month = starts.year, starts.month
    while date(year, month, 1) <= ends:
        out.append(month_period(year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return tuple(out)


@lru_cache(maxsize=4096)
def month_period(year: int, month: int) -> Period:
    """The month ``year-month`` (periods are immutable, so one object serves every caller)."""
    start = date(year, month, 1)
    end = (date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)) - timedelta(days=1)
    return Period(start, end, "month", f"{year:04d}-{month:02d}")


def parse_period(text: str) -> Period:
    """Parse ``2026-07``, ``2026Q3`` or ``2026H2``; raise ValueError naming the bad form."""
    value = text.strip()
    if m := _MONTH.match(value):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise ValueError(f"unknown period {text!r}: month must be 01–12")
        return month_period(year, month)
    if m := _QUARTER.match(value):
        year, q = int(m[1]), int(m[2])
        start = date(year, 3 * q - 2, 1)
        end = month_period(year, 3 * q).ends
        return Period(start, end, "quarter", f"{year}Q{q}")
    if m := _HALF.match(value):
        year, h = int(m[1]), int(m[2])
        start = date(year, 1 if h == 1 else 7, 1)
        end = date(year, 6, 30) if h == 1 else date(year, 12, 31)
        return Period(start, end, "half", f"{year}H{h}")
    raise ValueError(
        f"unknown period form {text!r}: use a month (2026-07), quarter (2026Q3) or half (2026H2)"
    )


def containing(day: date, kind: str) -> Period:
    """The month, quarter or half that contains ``day``."""
    if kind == "month":
        return month_period(day.year, day.month)
    if kind == "quarter":
        return parse_period(f"{day.year}Q{(day.month - 1) // 3 + 1}")
    if kind == "half":
        return parse_period(f"{day.year}H{1 if day.month <= 6 else 2}")
    raise ValueError(f"unknown period kind {kind!r}")


def months_in_grade(grade_since: date, period_end: date) -> int:
    """Whole calendar months from ``grade_since`` to the day after ``period_end``.

    POLICY.md §0: since 2026-07-01 → 3 at the end of 2026Q3; since 2026-07-02 → 2.
    """
    until = period_end + timedelta(days=1)
    months = (until.year - grade_since.year) * 12 + (until.month - grade_since.month)
    if until.day < grade_since.day:
        months -= 1
    return max(months, 0)


def first_month_after(period: Period) -> date:
    """The first day of the month after the period: when its cycle runs."""
    return period.ends + timedelta(days=1)
