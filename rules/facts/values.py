"""Exact arithmetic over one employee's stored metrics: scores, composites, sums, ratios.

Pure (no database): :class:`EmployeeMetrics` wraps the ``(period_id, metric) -> Decimal``
values already loaded for one employee, answers "what is the 2026Q3 score?" the way
INTERCHANGE.md defines it, and notes in ``missing`` exactly which stored value it needed and
did not find ("2026-08 score", "2026Q3 sales_target"). A missing input yields ``None``,
never a default number, so the rules can make the decision wait.

Why the arithmetic stays exact: sums and weighted sums of stored values (at most 6 decimal
places) are computed in a 60-digit context that traps ``Inexact``, so they are exact or they
fail loudly. Means and ratios may not terminate (``241/3``); they are rounded to 28
significant digits (the default ``Decimal`` precision, as docs/facts.md agrees). A rounded
value can never land on a threshold it does not equal: a mean of three values with 6
decimals is ``n/3·10⁻⁶`` (repeating 3s or 6s, never 9s), and two different ratios of
amounts below 10¹⁴ differ by more than 10⁻²¹, far above the 10⁻²⁶ rounding step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Context, Decimal, Inexact

from promoflow.rules.periods import Period

#: exact sums: any inexact step raises instead of rounding
EXACT = Context(prec=60, traps=[Inexact])
#: quotients that need not terminate (means, ratios)
QUOTIENT = Context(prec=28)

Values = Mapping[tuple[str, str], Decimal]


def tidy(value: Decimal) -> Decimal:
    """The same number without trailing zeros and never in exponent form (80.000 → 80)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def weighted_sum(components: Mapping[str, Decimal], weights: Mapping[str, Decimal]) -> Decimal:
    """Σ weight × component, exact (66.8·0.2 + 79·0.2 + 68.3·0.25 + 83.1·0.25 + 29.9·0.1 = 70)."""
    total = Decimal(0)
    for name, weight in weights.items():
        total = EXACT.add(total, EXACT.multiply(Decimal(weight), components[name]))
    return tidy(total)


def exact_sum(values: Iterable[Decimal]) -> Decimal:
    """Σ values, exact."""
    total = Decimal(0)
    for value in values:
        total = EXACT.add(total, value)
    return total


def mean(values: list[Decimal]) -> Decimal:
    """The arithmetic mean; exact whenever the mean has a finite decimal form."""
    return tidy(QUOTIENT.divide(exact_sum(values), Decimal(len(values))))


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal:
    """numerator / denominator (the caller has ruled out a zero denominator)."""
    return tidy(QUOTIENT.divide(numerator, denominator))


class EmployeeMetrics:
    """One employee's stored values, and the derived figures the rules read.

    Every method returns the figure or ``None``; on ``None`` it has appended to
    ``missing`` the precise name of each stored value that was needed.
    """

    def __init__(self, values: Values | None = None) -> None:
        self.values: Values = values or {}
        self.missing: list[str] = []

    def _note(self, *names: str) -> None:
        for name in names:
            if name not in self.missing:
                self.missing.append(name)

    def get(self, period_id: str, metric: str) -> Decimal | None:
        """The stored value itself, or None (not noted as missing)."""
        return self.values.get((period_id, metric))

    def _has_any(self, period: Period, metrics: Iterable[str]) -> bool:
        names = tuple(metrics)
        ids = {period.id} | {m.id for m in period.months}
        if period.kind == "half":
            ids |= {q.id for q in period.quarters}
        return any((pid, name) in self.values for pid in ids for name in names)

    # -- scores ------------------------------------------------------------------------

    def _monthly(self, month: Period, weights: Mapping[str, Decimal] | None) -> tuple:
        """(score, names missing) of one month, without noting anything yet."""
        score = self.get(month.id, "score")
        if score is not None:
            return score, []
        if not weights:
            return None, [f"{month.id} score"]
        components = {name: self.get(month.id, name) for name in weights}
        absent = [name for name, value in components.items() if value is None]
        if not absent:
            return weighted_sum(components, weights), []
        if len(absent) == len(components):
            return None, [f"{month.id} score"]
        return None, [f"{month.id} {name}" for name in absent]

    def monthly_score(
        self, month: Period, weights: Mapping[str, Decimal] | None = None
    ) -> Decimal | None:
        """A month's score: its ``score`` row, else the weighted sum of its components."""
        score, absent = self._monthly(month, weights)
        self._note(*absent)
        return score

    def quarter_score(
        self, quarter: Period, weights: Mapping[str, Decimal] | None = None
    ) -> Decimal | None:
        """The quarter's ``score`` row, else the mean of its three monthly scores.

        With nothing at all stored for the quarter, the missing name is the quarter's
        ("2026Q2 score"); with some months present, it is the absent months' names.
        """
        score = self.get(quarter.id, "score")
        if score is not None:
            return score
        results = [self._monthly(month, weights) for month in quarter.months]
        absent = [name for _score, names in results for name in names]
        if not absent:
            return mean([score for score, _names in results])
        if not self._has_any(quarter, ["score", *(weights or {})]):
            self._note(f"{quarter.id} score")
        else:
            self._note(*absent)
        return None

    def composite(
        self, period: Period, weights: Mapping[str, Decimal] | None = None
    ) -> Decimal | None:
        """The period's ``score`` row, else the weighted sum of the period's own components."""
        score = self.get(period.id, "score")
        if score is not None:
            return score
        if not weights:
            self._note(f"{period.id} score")
            return None
        components = {name: self.get(period.id, name) for name in weights}
        absent = [name for name, value in components.items() if value is None]
        if not absent:
            return weighted_sum(components, weights)
        if len(absent) == len(components):
            self._note(f"{period.id} score")
        else:
            self._note(*(f"{period.id} {name}" for name in absent))
        return None

    # -- sums and attainment -----------------------------------------------------------

    def _total(self, period: Period, metric: str) -> tuple[Decimal | None, list[str]]:
        value = self.get(period.id, metric)
        if value is not None:
            return value, []
        if period.kind == "month":
            return None, [f"{period.id} {metric}"]
        parts = period.quarters if period.kind == "half" else period.months
        results = [self._total(part, metric) for part in parts]
        absent = [name for _value, names in results for name in names]
        if not absent:
            return exact_sum(value for value, _names in results), []
        if not self._has_any(period, [metric]):
            return None, [f"{period.id} {metric}"]
        return None, absent

    def total(self, period: Period, metric: str) -> Decimal | None:
        """Σ of a metric over a period: its own row, else the sum of its quarters or months.

        A half without a row sums its two quarters; a quarter without a row sums its three
        months; any part without a value makes the total missing (named at the coarsest
        level with nothing stored).
        """
        value, absent = self._total(period, metric)
        self._note(*absent)
        return value

    def attainment(self, period: Period) -> Decimal | None:
        """Σ sales_actual / Σ sales_target over the period, as a ratio (0.8 = 80%).

        A zero target cannot be divided by: the figure is missing, named
        "2026Q3 sales_target is 0".
        """
        actual = self.total(period, "sales_actual")
        target = self.total(period, "sales_target")
        if target is not None and target == 0:
            self._note(f"{period.id} sales_target is 0")
            return None
        if actual is None or target is None:
            return None
        return ratio(actual, target)
