"""The shape of a rule pack file, as pydantic models (structure only; meaning is checked in
:mod:`promoflow.rules.validate`).

Every model is frozen and forbids unknown keys, so a misspelt key is reported instead of
silently ignored. Numbers in a pack are read as exact ``Decimal``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _exact(value: Any) -> Any:
    # YAML floats (0.25) are turned into the Decimal of their text, never of the binary float.
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


class Text(_Frozen):
    """A label in both languages."""

    zh: str
    en: str


class Position(_Frozen):
    """A job title covering a contiguous range of grades."""

    id: str
    zh: str
    en: str
    grades: str | list[str]

    #: filled in by the loader: the grades of ``grades`` expanded, low → high
    expanded: tuple[str, ...] = ()


class Cadence(_Frozen):
    """Which cycle kind evaluates which grades."""

    grades: str | list[str]
    cycle: Literal["quarter", "half"]


class Milestone(_Frozen):
    """A milestone of every cycle: ``month`` 1 is the first month after the period."""

    id: Literal["open", "test_due", "interview_notice", "interview_due", "announce",
                "probation_review"]  # fmt: skip
    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)
    time: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class Calendar(_Frozen):
    """When a track's milestones fire (read by the scheduler)."""

    timezone: str = "Asia/Shanghai"
    working_days_only: bool = False
    cycles: tuple[Literal["quarter", "half"], ...]
    milestones: tuple[Milestone, ...]


class FactSpec(_Frozen):
    """A fact the pack's conditions may read; labels may use {period}, {q}, {prev_q}."""

    type: Literal["int", "decimal", "percent", "bool"]
    zh: str
    en: str


class Composite(_Frozen):
    """A weighted sum of metrics (weights are exact decimals)."""

    period: Literal["month", "quarter", "half"]
    components: dict[str, Decimal]
    normalised: bool = True

    _coerce = field_validator("components", mode="before")(
        lambda v: {k: _exact(x) for k, x in v.items()} if isinstance(v, dict) else v
    )


class Scale(_Frozen):
    """The values one input metric may take (POLICY.md §4's item scales): the listed
    points, or any number from ``from`` to ``to`` inclusive. Metrics without a scale are
    0–100 scores or sales amounts (INTERCHANGE.md)."""

    values: tuple[Decimal, ...] = ()
    from_: Decimal | None = Field(default=None, alias="from")
    to: Decimal | None = None

    _coerce = field_validator("from_", "to", mode="before")(_exact)
    _coerce_values = field_validator("values", mode="before")(
        lambda v: tuple(_exact(x) for x in v) if isinstance(v, (list, tuple)) else v
    )

    def admits(self, value: Decimal) -> bool:
        """Whether ``value`` lies on the scale."""
        if self.values:
            return value in self.values
        return self.from_ <= value <= self.to  # type: ignore[operator]

    def describe(self) -> str:
        """The scale as an error message names it: ``0, 1, 3 or 5`` / ``1 to 5``."""
        if self.values:
            points = [str(v) for v in self.values]
            return ", ".join(points[:-1]) + f" or {points[-1]}" if len(points) > 1 else points[0]
        return f"{self.from_} to {self.to}"


class AtBottom(_Frozen):
    """What a demotion does at the lowest grade: the grade stays, a review is flagged."""

    review: Literal["elimination", "dismissal", "below_standard"] | None = None


class Rule(_Frozen):
    """One promotion, demotion or keep rule."""

    id: str
    cycle: Literal["quarter", "half"]
    grades: str | list[str]
    then: Literal["promote", "demote", "keep"]
    when: str
    steps: int = Field(default=1, ge=1, le=10)
    probation: bool = False
    review: Literal["elimination", "dismissal", "below_standard"] | None = None
    at_bottom: AtBottom | None = None
    note: Text | None = None


class BandRange(_Frozen):
    """``from <= fact < to`` (or ``<= to`` with include_to) sets the grade."""

    grade: str
    from_: Decimal = Field(alias="from")
    to: Decimal
    include_to: bool = False

    _coerce = field_validator("from_", "to", mode="before")(_exact)


class Below(_Frozen):
    """Below the lowest band: the grade stays and a review is flagged."""

    review: Literal["elimination", "dismissal", "below_standard"] = "below_standard"


class Bands(_Frozen):
    """Grading by bands of one fact (cs_rating, cs_assistant)."""

    id: str
    cycle: Literal["quarter", "half"]
    fact: str
    ranges: tuple[BandRange, ...]
    below: Below | None = None
    note: Text | None = None


class Vacancy(_Frozen):
    """A promotion into another position needs an open headcount (in these cycle kinds)."""

    cycles: tuple[Literal["quarter", "half"], ...]
    fact: str


class Probation(_Frozen):
    """The probation review: which fact is read and the condition that ends probation."""

    fact: str
    zh: str
    en: str
    pass_: str = Field(alias="pass")
    fail_review: Literal["dismissal", "elimination", "below_standard"] = "dismissal"


class ScaleLevel(_Frozen):
    """One level of an interview rating scale."""

    level: int
    from_: Decimal = Field(alias="from")
    to: Decimal


class Competency(_Frozen):
    """One competency rated at interview, with its weight."""

    id: str
    zh: str
    en: str
    weight: Decimal = Decimal(1)

    _coerce = field_validator("weight", mode="before")(_exact)


class CompetencyModel(_Frozen):
    """An interview scoring model (POLICY.md §5)."""

    zh: str
    en: str
    pass_mark: Decimal
    scale: tuple[ScaleLevel, ...]
    competencies: tuple[Competency, ...]


class Expect(_Frozen):
    """The decision an example case must produce."""

    outcome: Literal["promoted", "demoted", "unchanged", "pending"]
    to_grade: str | None = None
    rule: str | None = None
    review: str | None = None
    probation: bool | None = None
    missing: list[str] | None = None


class Example(_Frozen):
    """A worked case carried by the pack: given facts → expected decision."""

    name: str
    cycle: Literal["quarter", "half"]
    grade: str
    facts: dict[str, Any]
    expect: Expect


class PackFile(_Frozen):
    """A whole rule pack file."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: Text
    grades: tuple[str, ...]
    positions: tuple[Position, ...]
    cadence: tuple[Cadence, ...]
    stages: tuple[str, ...] = ()
    pass_marks: dict[str, Decimal] = Field(default_factory=dict)
    vacancy: Vacancy | None = None
    calendar: Calendar
    facts: dict[str, FactSpec]
    composites: dict[str, Composite] = Field(default_factory=dict)
    #: metric → the values it may take, for inputs that are not 0–100 scores
    scales: dict[str, Scale] = Field(default_factory=dict)
    probation: Probation | None = None
    rules: tuple[Rule, ...] = ()
    bands: Bands | None = None
    competency_models: dict[str, CompetencyModel] = Field(default_factory=dict)
    examples: tuple[Example, ...] = ()

    _coerce = field_validator("pass_marks", mode="before")(
        lambda v: {k: _exact(x) for k, x in v.items()} if isinstance(v, dict) else v
    )
