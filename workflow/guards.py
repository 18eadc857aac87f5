"""Judging a stage result against the pack's pass marks, and the guards machines call.

A result is what HR records (INTERCHANGE.md results.csv ``value``): ``pass``/``fail``, a
score, or competency ratings ``沟通能力=85;产品知识=70`` scored per POLICY.md §5 (weighted
average, the core five weigh double). The machines never compare numbers themselves: their
``result_passed`` guard reads the :class:`Verdict` this module produced.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

PASS_WORDS = {"pass", "passed", "通过", "合格"}
FAIL_WORDS = {"fail", "failed", "不通过", "不合格"}

#: POLICY.md defaults when a pack names no pass mark for a stage
DEFAULT_PASS_MARKS = {
    "written_test": Decimal(60),
    "interview": Decimal(60),
    "probation_review": Decimal(50),
}

#: POLICY.md §5: customer-manager core competencies weigh double
CORE_COMPETENCIES = frozenset(
    {"沟通能力", "挖掘需求与发现商机", "顾问式营销技巧", "产品知识", "行业知识"}
)


@dataclass(frozen=True)
class Verdict:
    """A stage result as read: the score (None for a bare pass/fail) and whether it passes."""

    stage: str
    value: str
    score: Decimal | None
    passed: bool
    pass_mark: Decimal | None
    ratings: tuple[tuple[str, Decimal], ...] = ()

    def explain(self) -> str:
        """One sentence an HR officer can check."""
        verb = "passes" if self.passed else "fails"
        if self.score is None:
            return f"{self.stage} recorded as {self.value}"
        return f"{self.stage} score {self.score} {verb} (pass mark {self.pass_mark})"


def pass_mark(stage: str, pass_marks: dict[str, Decimal] | None) -> Decimal:
    """The pack's pass mark for ``stage``, else POLICY.md's default."""
    marks = pass_marks or {}
    if stage in marks:
        return Decimal(marks[stage])
    if stage in DEFAULT_PASS_MARKS:
        return DEFAULT_PASS_MARKS[stage]
    raise ValueError(f"no pass mark for stage {stage!r}")


def competency_weights(models) -> dict[str, Decimal]:
    """Competency name (id, Chinese or English) → weight, from a pack's competency models."""
    out: dict[str, Decimal] = {}
    for model in (models or {}).values():
        for c in model.competencies:
            for name in (c.id, c.zh, c.en):
                out.setdefault(name, Decimal(c.weight))
    return out


def competency_score(
    ratings: dict[str, Decimal], weights: dict[str, Decimal] | None = None
) -> Decimal:
    """Weighted average of competency ratings, with the pack's weights when it has any,
    else POLICY.md §5's default: the core five count twice."""
    if not ratings:
        raise ValueError("no competency ratings")
    total = Decimal(0)
    weight = Decimal(0)
    for name, rating in ratings.items():
        if weights:
            if name not in weights:
                known = ", ".join(sorted(n for n in weights if n.isascii()))
                raise ValueError(f"unknown competency {name!r} (known: {known})")
            w = weights[name]
        else:
            w = Decimal(2) if name in CORE_COMPETENCIES else Decimal(1)
        total += w * rating
        weight += w
    return total / weight


def parse_ratings(text: str) -> dict[str, Decimal]:
    """``沟通能力=85;产品知识=70`` → {name: rating}; raises ValueError naming the bad part."""
    ratings: dict[str, Decimal] = {}
    for part in text.replace("；", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        name, sep, raw = part.replace("：", "=").replace(":", "=").partition("=")
        if not sep or not name.strip():
            raise ValueError(f"competency rating {part!r} is not NAME=NUMBER")
        try:
            rating = Decimal(raw.strip())
        except InvalidOperation:
            raise ValueError(
                f"competency rating {part!r}: {raw.strip()!r} is not a number"
            ) from None
        if not Decimal(0) <= rating <= Decimal(100):
            raise ValueError(f"competency rating {part!r} is outside 0–100")
        ratings[name.strip()] = rating
    return ratings


def judge(
    stage: str,
    value: str,
    pass_marks: dict[str, Decimal] | None = None,
    weights: dict[str, Decimal] | None = None,
) -> Verdict:
    """Read one recorded result; raises ValueError with a sentence for HR if it is unreadable.

    ``weights`` are the pack's competency weights (:func:`competency_weights`) for results
    given as ratings."""
    text = value.strip()
    if not text:
        raise ValueError("value is empty: give a score, pass or fail")
    lowered = text.lower()
    if lowered in PASS_WORDS or lowered in FAIL_WORDS:
        return Verdict(stage, text, None, lowered in PASS_WORDS, None)
    mark = pass_mark(stage, pass_marks)
    if "=" in text or ":" in text or "：" in text:
        ratings = parse_ratings(text)
        score = competency_score(ratings, weights)
        return Verdict(stage, text, score, score >= mark, mark, tuple(ratings.items()))
    try:
        score = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a score, pass or fail") from None
    if not score.is_finite() or not Decimal(0) <= score <= Decimal(100):
        raise ValueError(f"score {text} is outside 0–100")
    return Verdict(stage, text, score, score >= mark, mark)


def result_passed(verdict: Verdict) -> bool:
    """The guard behind every ``record_*`` arrow."""
    return verdict.passed
