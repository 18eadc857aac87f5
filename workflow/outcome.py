"""What happened to an employee in a cycle: one answer for every screen, export and API.

POLICY.md §6: the rules' verdict, then the stages, then the vacancy, then HR's decisions
and approved overrides. :func:`case_outcome` is the one place that puts them together; the
decisions export, the console's pages, counts, charts and exports and the API all read it.
The rules' own verdict stays beside it (``rule_outcome``, ``rule_to_grade``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

OUTCOMES = ("promoted", "demoted", "unchanged", "pending")

#: a nomination that stopped at a stage: the stage's state suffix → (outcome, zh, en)
_STOPPED = {
    "failed": ("unchanged", "{zh}未通过，职级不变", "{en} not passed → grade unchanged"),
    "missing": (
        "pending",
        "{zh}结果截止时未到，待人力资源处理",
        "{en} result missing at its deadline → waiting for HR",
    ),
}
_STAGE_NAMES = {"test": ("笔试", "written test"), "interview": ("面试", "interview")}
_NO_VACANCY = ("unchanged", "无空缺职位，职级不变", "no vacancy → grade unchanged")

#: the review a case is under, by the state it reached (a failed probation month)
_REVIEW_BY_STATE = {
    ("probation", "dismissal_review"): "dismissal",
    ("probation", "dismissed"): "dismissal",
    ("probation", "retained"): "dismissal",
}
#: what HR decided, by the final state of a reviewed case
_REVIEW_DECISION = {
    ("probation", "dismissed"): "dismissed",
    ("probation", "retained"): "retained",
    ("elimination", "eliminated"): "eliminated",
    ("elimination", "retained"): "retained",
    ("below_standard", "reviewed"): "closed",
}
#: flags that hold a case until HR decides (POLICY.md §6): it reads ``pending`` meanwhile
HOLDING_FLAGS = ("facts_revised", "employee_changed")


def is_held(flagged: str | None) -> bool:
    """Whether a case's flag holds it for HR (``employee_changed: grade S5 → S7``)."""
    return bool(flagged) and flagged.split(":")[0].strip() in HOLDING_FLAGS


@dataclass(frozen=True)
class Ruled:
    """The rules' decision for one employee (a ``decisions`` row)."""

    from_grade: str
    to_grade: str
    outcome: str
    probation: bool = False
    review: str | None = None


@dataclass(frozen=True)
class Overruled:
    """An approved override that changed the grade the cycle gives (``overrides.effect``)."""

    id: int
    outcome: str  # promoted, demoted, unchanged, or set (a grade named outright)
    to_grade: str
    effective_from: date | None = None


@dataclass(frozen=True)
class CaseOutcome:
    """The answer: what the cycle does to the employee, and how it got there."""

    outcome: str
    to_grade: str
    rule_outcome: str
    rule_to_grade: str
    review: str | None
    review_decision: str | None
    overrides: tuple[int, ...]
    effective_from: date | None
    #: the sentence to add to the rules' reasons when the outcome is not the rules' own
    why_zh: str | None = None
    why_en: str | None = None

    def why(self, lang: str) -> str | None:
        """The added sentence in ``lang`` (``zh`` or ``en``)."""
        return self.why_zh if lang == "zh" else self.why_en


def case_outcome(
    ruled: Ruled,
    kind: str | None,
    state: str | None,
    flagged: str | None = None,
    overrides: Sequence[Overruled] = (),
    grades: Sequence[str] = (),
    effective: date | None = None,
) -> CaseOutcome:
    """Put the rules' verdict, the case's stages and HR's decisions together.

    ``grades`` are the track's grades low to high (to read a grade set outright as up or
    down); ``effective`` is the cycle's effective date (the 1st of the month after the
    announcement), the default date of every grade change it makes.
    """
    outcome, to_grade = ruled.outcome, ruled.to_grade
    why = (None, None)
    review = _REVIEW_BY_STATE.get((kind or "", state or ""), ruled.review)
    decided = _REVIEW_DECISION.get((kind or "", state or ""))
    stopped = _stopped(kind, state)
    if stopped is not None:
        outcome, why = stopped[0], stopped[1:]
        to_grade = ruled.from_grade
    if is_held(flagged):
        outcome, to_grade = "pending", ruled.from_grade
        why = ("数据变更，待人力资源确认", "data changed after the decision → waiting for HR")
    since = effective
    applied: tuple[int, ...] = ()
    if overrides:
        last = overrides[-1]
        applied = tuple(o.id for o in overrides)
        to_grade = last.to_grade
        outcome = _direction(last.outcome, ruled.from_grade, to_grade, grades)
        since = last.effective_from or effective
        why = (f"人工调整 #{last.id}", f"override #{last.id}")
    return CaseOutcome(
        outcome=outcome,
        to_grade=to_grade,
        rule_outcome=ruled.outcome,
        rule_to_grade=ruled.to_grade,
        review=review,
        review_decision=decided,
        overrides=applied,
        effective_from=since if to_grade != ruled.from_grade else None,
        why_zh=why[0],
        why_en=why[1],
    )


def _stopped(kind: str | None, state: str | None) -> tuple[str, str, str] | None:
    """A nomination that did not (or not yet) become a promotion: (outcome, zh, en)."""
    if kind != "promotion" or not state:
        return None
    if state == "no_vacancy":
        return _NO_VACANCY
    short, _, result = state.rpartition("_")
    if result not in _STOPPED or short not in _STAGE_NAMES:
        return None
    outcome, zh, en = _STOPPED[result]
    stage_zh, stage_en = _STAGE_NAMES[short]
    return outcome, zh.format(zh=stage_zh), en.format(en=stage_en)


def _direction(said: str, from_grade: str, to_grade: str, grades: Sequence[str]) -> str:
    """An override's outcome; a grade set outright reads as up, down or unchanged."""
    if said != "set":
        return said
    if to_grade == from_grade:
        return "unchanged"
    rank: Mapping[str, int] = {g: i for i, g in enumerate(grades)}
    if from_grade not in rank or to_grade not in rank:
        raise ValueError(f"grades {from_grade!r} and {to_grade!r} must be grades of the track")
    return "promoted" if rank[to_grade] > rank[from_grade] else "demoted"
