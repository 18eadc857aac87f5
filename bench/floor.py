"""The floor: a quarterly ``sales`` opening computed the fastest honest way.

The benchmark measures the engine against this: the same open-milestone decisions, written
straight from POLICY.md §1 as two SQL queries and a loop over exact decimals, with no rule
pack, no durable_rules, no workflow, no case rows and no audit trail. It reads the same
tables the engine reads, so the ratio engine/floor is what the engine's generality, its
explanations and its bookkeeping cost; and because it was written independently of the rule
pack, agreeing decisions are a cross-check of both.

Nothing here is imported by promoflow itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Connection, Engine

#: POLICY.md §1: S3 … S13, low to high; quarterly cycles evaluate S3–S9 (S10+ is half-yearly).
GRADES = tuple(f"S{i}" for i in range(3, 14))
QUARTERLY_GRADES = GRADES[: GRADES.index("S9") + 1]
POSITION_OF = {
    **dict.fromkeys(("S3", "S4", "S5"), "junior_sales_rep"),
    **dict.fromkeys(("S6", "S7"), "sales_rep"),
    **dict.fromkeys(("S8", "S9"), "senior_sales_rep"),
    **dict.fromkeys(("S10", "S11", "S12"), "sales_supervisor"),
    "S13": "sales_manager",
}

SCORE_MARK = Decimal(80)  # score ≥ 80 qualifies; < 80 demotes
ATTAINMENT_MARK = Decimal("0.8")  # attainment > 80 % qualifies; < 80 % demotes
MIN_MONTHS = 3  # months in grade at period end before a quarterly promotion

METRICS = ("score", "sales_actual", "sales_target")


@dataclass(frozen=True, slots=True)
class QuarterFacts:
    """One quarter of one employee: score and attainment, ``None`` when the data is absent."""

    score: Decimal | None
    attainment: Decimal | None

    def qualifies(self) -> bool:
        """Score ≥ 80 and attainment > 80 % (both known)."""
        return (
            self.score is not None
            and self.attainment is not None
            and self.score >= SCORE_MARK
            and self.attainment > ATTAINMENT_MARK
        )


@dataclass(frozen=True, slots=True)
class FloorDecision:
    """What the opening decides for one employee: the fields the engine's export also has."""

    employee_id: str
    from_grade: str
    to_grade: str
    outcome: str  # promoted (nominated) | demoted | unchanged | pending
    review: str | None = None

    def key(self) -> tuple[str, str, str, str | None]:
        """The part both sides must agree on."""
        return (self.from_grade, self.to_grade, self.outcome, self.review)


@dataclass(frozen=True, slots=True)
class Quarter:
    """A calendar quarter: its id, months and the quarter before it."""

    id: str
    months: tuple[str, str, str]
    ends: date

    @classmethod
    def parse(cls, period_id: str) -> Quarter:
        year, q = int(period_id[:4]), int(period_id[5])
        months = tuple(f"{year:04d}-{3 * q - 2 + i:02d}" for i in range(3))
        last_month = 3 * q
        first_next = date(year + 1, 1, 1) if last_month == 12 else date(year, last_month + 1, 1)
        return cls(f"{year}Q{q}", months, first_next - timedelta(days=1))  # type: ignore[arg-type]

    def previous(self) -> Quarter:
        year, q = int(self.id[:4]), int(self.id[5])
        return Quarter.parse(f"{year - 1}Q4" if q == 1 else f"{year}Q{q - 1}")


def months_in_grade(grade_since: date, period_end: date) -> int:
    """Whole calendar months from ``grade_since`` to the day after the period (POLICY §0)."""
    until = period_end + timedelta(days=1)
    months = (until.year - grade_since.year) * 12 + until.month - grade_since.month
    if until.day < grade_since.day:
        months -= 1
    return max(months, 0)


def decide(
    employee_id: str,
    grade: str,
    months: int,
    current: QuarterFacts,
    previous: QuarterFacts | None,
) -> FloorDecision:
    """POLICY.md §1 for one S3–S9 employee at a quarterly opening."""
    if current.score is None or current.attainment is None:
        return FloorDecision(employee_id, grade, grade, "pending")
    if current.score < SCORE_MARK or current.attainment < ATTAINMENT_MARK:
        if grade == GRADES[0]:
            return FloorDecision(employee_id, grade, grade, "unchanged", "elimination")
        lower = GRADES[GRADES.index(grade) - 1]
        return FloorDecision(employee_id, grade, lower, "demoted")
    if months < MIN_MONTHS or not current.qualifies():
        return FloorDecision(employee_id, grade, grade, "unchanged")
    if previous is None or previous.score is None or previous.attainment is None:
        return FloorDecision(employee_id, grade, grade, "pending")
    if not previous.qualifies():
        return FloorDecision(employee_id, grade, grade, "unchanged")
    higher = GRADES[GRADES.index(grade) + 1]
    return FloorDecision(employee_id, grade, higher, "promoted")


def _to_decimal(value) -> Decimal:
    # The same conversion SQLAlchemy applies to Numeric(20, 6) read from SQLite (a float);
    # PostgreSQL hands back Decimal already.
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(f"{value:.6f}")


def _to_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _quarter_facts(values: dict[tuple[str, str], Decimal], quarter: Quarter) -> QuarterFacts:
    """Score and attainment of one quarter from the raw values (quarter rows, else months)."""
    score = values.get((quarter.id, "score"))
    if score is None:
        monthly = [values.get((m, "score")) for m in quarter.months]
        if None not in monthly:
            score = sum(monthly, Decimal(0)) / 3  # type: ignore[arg-type]
    actual = _window(values, quarter, "sales_actual")
    target = _window(values, quarter, "sales_target")
    attainment = actual / target if actual is not None and target else None
    return QuarterFacts(score, attainment)


def _window(values: dict[tuple[str, str], Decimal], quarter: Quarter, metric: str):
    whole = values.get((quarter.id, metric))
    if whole is not None:
        return whole
    present = [v for m in quarter.months if (v := values.get((m, metric))) is not None]
    return sum(present, Decimal(0)) if present else None


def read_and_decide(conn: Connection, period_id: str) -> dict[str, FloorDecision]:
    """Two queries (employees, metrics) on the raw driver cursor and one pass in Python.

    Measured on SQLite at 100k employees, this beats pivoting in SQL (``MAX(CASE …)``
    grouped by employee) and SQLAlchemy's row objects: the scan is the cost, so keep it
    to one flat scan of the two quarters' rows.
    """
    current = Quarter.parse(period_id)
    previous = current.previous()
    periods = (current.id, *current.months, previous.id, *previous.months)
    # Grades and period ids are built here from digits, so inlining them is safe.
    grades = ", ".join(f"'{g}'" for g in QUARTERLY_GRADES)
    in_periods = ", ".join(f"'{p}'" for p in periods)
    in_metrics = ", ".join(f"'{m}'" for m in METRICS)
    cursor = conn.connection.cursor()
    try:
        cursor.execute(
            "SELECT employee_id, grade, grade_since FROM employees "
            f"WHERE track = 'sales' AND active AND grade IN ({grades})"
        )
        people = cursor.fetchall()
        values: dict[str, dict[tuple[str, str], Decimal]] = {row[0]: {} for row in people}
        cursor.execute(
            "SELECT employee_id, period_id, metric, value FROM metrics "
            f"WHERE period_id IN ({in_periods}) AND metric IN ({in_metrics})"
        )
        for employee_id, period, metric, value in cursor.fetchall():
            held = values.get(employee_id)
            if held is not None:
                held[(period, metric)] = _to_decimal(value)
    finally:
        cursor.close()
    decisions = {}
    for employee_id, grade, grade_since in people:
        held = values[employee_id]
        months = months_in_grade(_to_date(grade_since), current.ends)
        decisions[employee_id] = decide(
            employee_id,
            grade,
            months,
            _quarter_facts(held, current),
            _quarter_facts(held, previous),
        )
    return decisions


def floor_open(engine: Engine, period_id: str) -> dict[str, FloorDecision]:
    """The floor's opening of ``sales-<period_id>``, in one read-only transaction."""
    with engine.connect() as conn:
        return read_and_decide(conn, period_id)
