"""Handing out open headcount at announcement (POLICY.md §1), pure.

Those who passed test and interview and need a vacancy are ranked by the average of their
test and interview scores, then attainment, then months in grade (all descending), then
employee id; the first ``open`` of each (org unit, position) get it, the rest keep their
grade. A candidate without a score (a bare pass) ranks after every scored one, since the
ranking has nothing to compare; HR can see why in the case's reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Candidate:
    """One passed promotion that needs a vacancy in ``(org_unit, position)``."""

    employee_id: str
    org_unit: str | None
    position: str
    test_score: Decimal | None
    interview_score: Decimal | None
    attainment: Decimal | None
    months_in_grade: int | None

    @property
    def average(self) -> Decimal | None:
        """Mean of test and interview score; None if either is a bare pass."""
        if self.test_score is None or self.interview_score is None:
            return None
        return (self.test_score + self.interview_score) / 2


def _desc(value) -> tuple[int, object]:
    # None sorts last in a descending order; negation keeps Decimal exact
    return (1, 0) if value is None else (0, -value)


def rank_key(c: Candidate) -> tuple:
    """Sort key: average, attainment, months in grade descending, then employee id."""
    return (_desc(c.average), _desc(c.attainment), _desc(c.months_in_grade), c.employee_id)


def rank(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Candidates in POLICY.md §1 order."""
    return sorted(candidates, key=rank_key)


def allocate(
    candidates: Iterable[Candidate], open_headcount: dict[tuple[str | None, str], int]
) -> tuple[list[Candidate], list[Candidate]]:
    """(winners, losers): per (org unit, position), the first ``open`` ranked candidates win."""
    left = dict(open_headcount)
    winners, losers = [], []
    for c in rank(candidates):
        key = (c.org_unit, c.position)
        if left.get(key, 0) > 0:
            left[key] -= 1
            winners.append(c)
        else:
            losers.append(c)
    return winners, losers
