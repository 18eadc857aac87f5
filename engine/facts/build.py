"""Facts: what the rule packs compare, built from stored data in exact ``Decimal``.

:func:`build_facts` turns one cycle's employees and the metrics stored for them into one
plain dict per employee, keyed by the fact names of ``docs/facts.md`` (``score_q``,
``attainment_half``, ``monthly_score_avg``, ``composite`` …). A fact whose input is absent
is ``None`` and the precise input is named — "2026Q2 score", "2026-08 handling",
"2026Q3 sales_target is 0" — so the decision waits instead of defaulting to a number.

Every employee's dict also carries:

- ``missing``: every input name that was needed and absent, in order;
- ``missing_for``: ``{fact: [input names]}``, so a decision that reaches only some facts
  names only their inputs (a missing previous quarter matters only when the rule gets there).

Reads are bulk (:mod:`promoflow.engine.facts.load`): one statement for all metrics of the
cycle's periods, one for probation decisions, one for vacancies — a cycle of 100k
employees is a handful of queries. The arithmetic is :mod:`promoflow.rules.facts.values`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple, Protocol

from sqlalchemy.orm import Session

from promoflow.engine.facts.load import load_metrics, load_probation, load_vacancies
from promoflow.engine.storage.db import export_snapshot, reader
from promoflow.rules.facts.pack import Settings
from promoflow.rules.facts.values import EmployeeMetrics, tidy
from promoflow.rules.periods import Period, containing, months_in_grade, parse_period

Facts = dict[str, Any]


class EmployeeLike(Protocol):
    """What facts read of an employee (an ``models.Employee`` row, or anything alike)."""

    employee_id: str
    track: str
    grade: str
    grade_since: date
    org_unit: str | None


class Person(NamedTuple):
    """The employee fields facts read, copied once (ORM attribute access is slow at 100k;
    a tuple is built in a quarter of the time a frozen dataclass takes)."""

    employee_id: str
    track: str
    grade: str
    grade_since: date
    org_unit: str | None

    @classmethod
    def of(cls, employee: EmployeeLike) -> Person:
        """Copy the fields facts read from an employee row."""
        return cls(
            employee.employee_id,
            employee.track,
            employee.grade,
            employee.grade_since,
            employee.org_unit,
        )


@dataclass(frozen=True)
class Window:
    """The periods one cycle reads, derived from its period id."""

    period: Period
    quarter: Period  # the last quarter of the cycle's period ("score_q")
    prev_quarter: Period  # the quarter before it ("score_prev_q")
    probation_cycle: Period  # the cycle period whose decisions set probation
    probation_month: Period  # the month whose score a probation review reads

    @classmethod
    def of(cls, period_id: str, probation_offset: int) -> Window:
        """The window of a quarter (2026Q3), half (2026H2) or probation month (2026-11)."""
        period = parse_period(period_id)
        if period.kind == "month":
            quarter = containing(period.starts, "quarter")
            cycle = _shift_months(period, -probation_offset)
            probation_cycle = containing(cycle.starts, "quarter")
            probation_month = period
        else:
            quarter = period.quarters[-1]
            probation_cycle = period
            probation_month = _shift_months(period.months[-1], probation_offset)
        return cls(period, quarter, quarter.previous(), probation_cycle, probation_month)

    def period_ids(self) -> set[str]:
        """Every period whose stored rows the cycle's facts may read."""
        ids = {self.period.id, self.probation_month.id}
        for part in (self.period, self.quarter, self.prev_quarter):
            ids.add(part.id)
            ids.update(month.id for month in part.months)
            if part.kind == "half":
                ids.update(q.id for q in part.quarters)
        return ids


def _shift_months(month: Period, count: int) -> Period:
    index = month.starts.year * 12 + month.starts.month - 1 + count
    return parse_period(f"{index // 12:04d}-{index % 12 + 1:02d}")


@dataclass
class Inputs:
    """Everything loaded for one cycle, shared by every employee's calculators."""

    settings: Settings
    window: Window
    probation: set[str]
    vacancies: dict[tuple[str, str], int]
    months_memo: dict[date, int] = field(default_factory=dict)


Calculator = Callable[[Inputs, Person, EmployeeMetrics], Any]


def _monthly_weights(inputs: Inputs) -> Mapping[str, Decimal] | None:
    return inputs.settings.composites.get("monthly_score")


def _score_q(inputs: Inputs, emp: Person, m: EmployeeMetrics) -> Decimal | None:
    return m.quarter_score(inputs.window.quarter, _monthly_weights(inputs))


def _score_prev_q(inputs: Inputs, emp: Person, m: EmployeeMetrics) -> Decimal | None:
    return m.quarter_score(inputs.window.prev_quarter, _monthly_weights(inputs))


def _attainment_q(inputs: Inputs, emp: Person, m: EmployeeMetrics) -> Decimal | None:
    return m.attainment(inputs.window.quarter)


def _attainment_prev_q(inputs: Inputs, emp: Person, m: EmployeeMetrics) -> Decimal | None:
    return m.attainment(inputs.window.prev_quarter)


def _attainment_half(inputs: Inputs, emp: Person, m: EmployeeMetrics) -> Decimal | None:
    # Only a half-yearly cycle has a half to accumulate over; quarterly rules never read it.
    period = inputs.window.period
    return m.attainment(period) if period.kind == "half" else None


def _consecutive_low(inputs: Inputs, emp: Person, m: EmployeeMetrics) -> int | None:
    """Quarters in a row, ending with ``score_q``'s, scoring below the low mark (0–2)."""
    weights = _monthly_weights(inputs)
    low = inputs.settings.low_score
    count = 0
    for quarter in (inputs.window.quarter, inputs.window.prev_quarter):
        score = m.quarter_score(quarter, weights)
        if score is None:
            return None
        if score >= low:
            return count
        count += 1
    return count


def _monthly_score_avg(inputs: Inputs, emp: Person, m: EmployeeMetrics) -> Decimal | None:
    return m.quarter_score(inputs.window.quarter, _monthly_weights(inputs))


def _months_in_grade(inputs: Inputs, emp: Person, m: EmployeeMetrics) -> int:
    months = inputs.months_memo.get(emp.grade_since)
    if months is None:
        months = months_in_grade(emp.grade_since, inputs.window.period.ends)
        inputs.months_memo[emp.grade_since] = months
    return months


def _vacancies_up(inputs: Inputs, emp: Person, m: EmployeeMetrics) -> int | None:
    names = inputs.settings.next_position_names.get(emp.grade)
    if names is None:  # top grade, or a grade the pack does not know
        return None
    if not emp.org_unit:
        m.missing.append(f"{emp.employee_id} org_unit")
        return None
    return sum(inputs.vacancies.get((emp.org_unit, name), 0) for name in names)


def _on_probation(inputs: Inputs, emp: Person, m: EmployeeMetrics) -> bool:
    return emp.employee_id in inputs.probation


def _probation_month(inputs: Inputs, emp: Person, m: EmployeeMetrics) -> str:
    return inputs.window.probation_month.id


def _probation_score(inputs: Inputs, emp: Person, m: EmployeeMetrics) -> Decimal | None:
    # Only someone on probation has a probation month whose score matters.
    if emp.employee_id not in inputs.probation:
        return None
    return m.monthly_score(inputs.window.probation_month, _monthly_weights(inputs))


CALCULATORS: dict[str, Calculator] = {
    "months_in_grade": _months_in_grade,
    "score_q": _score_q,
    "score_prev_q": _score_prev_q,
    "attainment_q": _attainment_q,
    "attainment_prev_q": _attainment_prev_q,
    "attainment_half": _attainment_half,
    "consecutive_low_quarters": _consecutive_low,
    "vacancies_up": _vacancies_up,
    "monthly_score_avg": _monthly_score_avg,
    "on_probation": _on_probation,
    "probation_month": _probation_month,
    "probation_score": _probation_score,
}


def _calculator(name: str, settings: Settings) -> Calculator:
    if name in CALCULATORS:
        return CALCULATORS[name]
    if settings.aliases.get(name) in CALCULATORS:
        return CALCULATORS[settings.aliases[name]]
    if name in settings.composites and settings.composite_periods.get(name) != "month":
        weights = settings.composites[name]

        def composite(inputs: Inputs, emp: Person, m: EmployeeMetrics) -> Decimal | None:
            return m.composite(inputs.window.period, weights)

        return composite

    def unknown(inputs: Inputs, emp: Person, m: EmployeeMetrics) -> None:
        m.missing.append(f"{name} (no way to compute this fact)")

    return unknown


def facts_for(
    inputs: Inputs,
    employee: Person,
    values: Mapping[tuple[str, str], Decimal],
    calculators: Iterable[tuple[str, Calculator]],
) -> Facts:
    """One employee's facts from values already loaded (no database)."""
    metrics = EmployeeMetrics(values)
    facts: Facts = {
        "employee_id": employee.employee_id,
        "grade": employee.grade,
        "period": inputs.window.period.id,
    }
    missing: list[str] = []
    missing_for: dict[str, list[str]] = {}
    for name, calculate in calculators:
        metrics.missing = []
        value = calculate(inputs, employee, metrics)
        facts[name] = tidy(value) if type(value) is Decimal else value
        if metrics.missing:
            missing_for[name] = metrics.missing
            missing.extend(n for n in metrics.missing if n not in missing)
    facts["missing"] = missing
    facts["missing_for"] = missing_for
    return facts


@dataclass
class PreparedFacts:
    """One cycle's inputs, loaded: everything :func:`facts_for` needs, no session.

    Built by :func:`prepare_facts`; ``facts(i)`` computes the i-th employee's facts. Kept
    apart from loading so the per-employee arithmetic can run in worker processes
    (:mod:`promoflow.engine.parallel`). The metrics are either loaded here up front
    (``values``) or, with ``values`` None, read by each worker for its own run of
    employees from ``source`` (a database URL) — see :meth:`values_for`.
    """

    inputs: Inputs
    people: list[Person]
    values: Mapping[str, Mapping[tuple[str, str], Decimal]] | None
    calculators: list[tuple[str, Calculator]]
    #: where :meth:`values_for` reads metrics when they were not loaded up front
    source: str | None = None
    #: the PostgreSQL snapshot those reads share (``storage.db.export_snapshot``)
    snapshot: str | None = None

    def values_for(self, start: int, stop: int) -> Mapping[str, Mapping[tuple[str, str], Decimal]]:
        """The metrics of ``people[start:stop]``: those loaded up front, or read now.

        Reading now uses a read-only connection of this process's own and one range of
        the metrics index; ``people`` must be in the database's ``employee_id`` order
        (as :func:`promoflow.engine.cycles.evaluation.decide_and_plan` reads them). It sees the
        committed metrics as of ``snapshot`` (PostgreSQL) or of now (SQLite, where the
        writing process holds the lock), not the writing transaction's own changes: the
        transaction that opens a cycle writes no metrics.
        """
        if self.values is not None:
            return self.values
        if self.source is None:
            raise ValueError("prepared facts without values need a source to read them from")
        ids = [p.employee_id for p in self.people[start:stop]]
        if not ids:
            return {}
        with reader(self.source, self.snapshot) as session:
            return load_metrics(
                session,
                ids,
                self.inputs.window.period_ids(),
                self.inputs.settings.metric_names(),
                id_range=(ids[0], ids[-1]),
            )

    def facts(
        self, index: int, values: Mapping[str, Mapping[tuple[str, str], Decimal]] | None = None
    ) -> Facts:
        """The facts of ``people[index]`` (from ``values`` if given, else those loaded)."""
        person = self.people[index]
        held = self.values if values is None else values
        if held is None:  # never compute from no metrics at all: that reads as "missing"
            raise ValueError("metrics not loaded: pass values_for(start, stop) to facts()")
        values_of_person = held.get(person.employee_id, _EMPTY)
        return facts_for(self.inputs, person, values_of_person, self.calculators)


_EMPTY: Mapping[tuple[str, str], Decimal] = {}


def prepare_facts(
    session: Session,
    pack: Any,
    period_id: str,
    employees: list[Any],
    *,
    composites: Mapping[str, Mapping[str, Decimal]] | None = None,
    low_score: Decimal | None = None,
    metrics_from: str | None = None,
    only: Collection[str] | None = None,
) -> PreparedFacts:
    """Load what the facts of ``employees`` read (see :func:`build_facts`).

    With ``metrics_from`` (a database URL) the metrics are not loaded here: worker
    processes read their own employees' (:meth:`PreparedFacts.values_for`), so the
    largest read of opening a cycle runs in parallel instead of before everything else;
    on PostgreSQL they read in the snapshot of ``session``'s transaction. With ``only``,
    just those of the pack's facts are computed (what a cycle's rules read), and the
    inputs of no other fact are loaded.
    """
    settings = Settings.from_pack(pack, composites=composites, low_score=low_score)
    window = Window.of(period_id, settings.probation_offset)
    people = [e if type(e) is Person else Person.of(e) for e in employees]
    tracks = {settings.track} | {p.track for p in people}
    names = settings.fact_names
    if only is not None:
        names = tuple(name for name in names if name in only)
    inputs = Inputs(
        settings=settings,
        window=window,
        probation=(
            load_probation(session, tracks, window.probation_cycle.id)
            if "on_probation" in names or "probation_score" in names
            else set()
        ),
        vacancies=load_vacancies(session) if "vacancies_up" in names else {},
    )
    calculators = [(name, _calculator(name, settings)) for name in names]
    if metrics_from:
        snapshot = export_snapshot(session)
        return PreparedFacts(inputs, people, None, calculators, metrics_from, snapshot)
    values = load_metrics(
        session, [p.employee_id for p in people], window.period_ids(), settings.metric_names()
    )
    return PreparedFacts(inputs, people, values, calculators)


def build_facts(
    session: Session,
    pack: Any,
    period_id: str,
    employees: list[Any],
    *,
    composites: Mapping[str, Mapping[str, Decimal]] | None = None,
    low_score: Decimal | None = None,
) -> dict[str, Facts]:
    """Facts of every given employee for the cycle of ``pack`` over ``period_id``.

    ``period_id`` is the cycle's period (``2026Q3``, ``2026H2``) or, for a probation review,
    the probation month (``2026-11``). Weights come from ``pack.composites`` unless
    ``composites`` overrides them; the low-score mark of ``consecutive_low_quarters``
    from ``low_score``, else the pack's ``low_score``, else 80. Returns
    ``{employee_id: facts}`` in the order of ``employees``.
    """
    prepared = prepare_facts(
        session, pack, period_id, employees, composites=composites, low_score=low_score
    )
    return {p.employee_id: prepared.facts(i) for i, p in enumerate(prepared.people)}
