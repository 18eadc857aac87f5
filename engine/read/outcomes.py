"""The one case outcome, read for a whole cycle: what the export, the console and the API show.

:func:`promoflow.workflow.outcome.case_outcome` decides what happened to one employee;
this module gathers what it needs from storage once per cycle (the track's grades, the
cycle's effective date, the approved grade overrides) so every reader asks it the same
way. Counts group the inputs in SQL first: a 100k cycle has a few dozen distinct
(verdict, case state) combinations, so counting costs one GROUP BY, not 100k calls.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from promoflow.engine.overrides.query import list_overrides
from promoflow.engine.packs.store import pack_of
from promoflow.engine.storage.models import Case, Cycle, Decision
from promoflow.rules.calendar import effective_date
from promoflow.rules.periods import parse_period
from promoflow.workflow.outcome import CaseOutcome, Overruled, Ruled, case_outcome

#: the columns :meth:`CycleOutcomes.of` reads from a joined decision + case row
OUTCOME_COLUMNS = (
    Decision.from_grade,
    Decision.to_grade,
    Decision.outcome,
    Decision.probation,
    Decision.review,
    Case.kind,
    Case.state,
    Case.flagged,
)


def grade_overrides(session: Session, cycle_id: str) -> dict[str, list[Overruled]]:
    """Per employee, the approved overrides of a cycle that set the grade it gives, oldest
    first: what ``case_outcome`` puts after the rules."""
    out: dict[str, list[Overruled]] = {}
    for o in list_overrides(session, cycle_id, "approved"):
        effect = o.effect or {}
        if o.changes_grade and "to_grade" in effect:
            since = effect.get("effective_from")
            out.setdefault(o.employee_id, []).append(
                Overruled(
                    o.id,
                    effect["outcome"],
                    effect["to_grade"],
                    date.fromisoformat(since) if since else None,
                )
            )
    return out


@dataclass(frozen=True)
class CycleOutcomes:
    """What every outcome of one cycle is computed from, read once."""

    cycle_id: str
    grades: tuple[str, ...]
    effective: date
    overruled: Mapping[str, list[Overruled]] = field(default_factory=dict)

    def of(self, row: Any, employee_id: str | None = None) -> CaseOutcome:
        """The outcome of one row holding :data:`OUTCOME_COLUMNS` (by name)."""
        who = employee_id if employee_id is not None else getattr(row, "employee_id", None)
        values = (row.from_grade, row.to_grade, row.outcome, row.probation, row.review,
                  row.kind, row.state, row.flagged)  # fmt: skip
        return self._of_values(values, who)

    def _of_values(self, values: tuple, who: str | None) -> CaseOutcome:
        from_grade, to_grade, outcome, probation, review, kind, state, flagged = values
        return case_outcome(
            Ruled(from_grade, to_grade, outcome, bool(probation), review),
            kind,
            state,
            flagged,
            self.overruled.get(who, ()) if who else (),
            self.grades,
            self.effective,
        )

    def memoised(self) -> Callable[[Any], CaseOutcome]:
        """:meth:`of` for rows of ``(employee_id, *OUTCOME_COLUMNS)`` read by position,
        remembering each distinct input: a cycle's 100k rows hold a few dozen (verdict, case
        state) combinations; employees with an override are not shared."""
        seen: dict[tuple, CaseOutcome] = {}
        overruled = self.overruled

        def of(row: Any) -> CaseOutcome:
            key = tuple(row[1:9])
            if row[0] in overruled:
                return self._of_values(key, row[0])
            found = seen.get(key)
            if found is None:
                found = seen[key] = self._of_values(key, None)
            return found

        return of


def cycle_outcomes(session: Session, cycle: Cycle) -> CycleOutcomes:
    """Everything the outcomes of ``cycle`` need beside each row."""
    pack = pack_of(session, cycle)
    return CycleOutcomes(
        cycle.cycle_id,
        tuple(pack.grades),
        effective_date(parse_period(cycle.period_id)),
        grade_overrides(session, cycle.cycle_id),
    )


def _joined(cycle_id: str):
    return and_(Case.cycle_id == Decision.cycle_id, Case.employee_id == Decision.employee_id)


def outcome_groups(
    session: Session, cycle: Cycle
) -> tuple[CycleOutcomes, list[tuple[CaseOutcome, str, int]]]:
    """Every (outcome, from_grade, how many) of a cycle: the inputs grouped in SQL, each
    group's outcome computed once; employees with an approved override one by one."""
    context = cycle_outcomes(session, cycle)
    overruled = list(context.overruled)
    base = (
        select(*OUTCOME_COLUMNS, func.count().label("n"))
        .select_from(Decision)
        .outerjoin(Case, _joined(cycle.cycle_id))
        .where(Decision.cycle_id == cycle.cycle_id)
        .group_by(*OUTCOME_COLUMNS)
    )
    if overruled:
        base = base.where(Decision.employee_id.not_in(overruled))
    groups = [(context.of(row, ""), row.from_grade, row.n) for row in session.execute(base)]
    if overruled:
        for row in session.execute(
            select(Decision.employee_id, *OUTCOME_COLUMNS)
            .select_from(Decision)
            .outerjoin(Case, _joined(cycle.cycle_id))
            .where(Decision.cycle_id == cycle.cycle_id, Decision.employee_id.in_(overruled))
        ):
            groups.append((context.of(row), row.from_grade, 1))
    return context, groups


def outcome_counts(session: Session, cycle: Cycle) -> Counter:
    """How many employees of the cycle end promoted, demoted, unchanged or pending."""
    counts: Counter = Counter()
    for result, _, n in outcome_groups(session, cycle)[1]:
        counts[result.outcome] += n
    return counts
