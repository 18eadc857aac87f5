"""What facts read of a rule pack: its facts, weights, positions, calendar and marks.

Kept apart from :mod:`promoflow.engine.facts.build` so the calculators see one small
:class:`Settings`, and a pack without some section (a custom track) still gets the
bundled defaults instead of an ``AttributeError`` deep in a loop over 100k employees.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise
from typing import Any

#: POLICY.md §1: a quarter "scores low" below 80 (a pack may say otherwise: ``low_score``)
DEFAULT_LOW_SCORE = Decimal(80)
#: POLICY.md §2 / INTERCHANGE calendar: probation month = month 2 after the cycle's period
DEFAULT_PROBATION_MONTH = 2

#: facts each bundled track reads, used when a pack does not declare its own ``facts``
DEFAULT_FACTS: dict[str, tuple[str, ...]] = {
    "sales": (
        "months_in_grade",
        "score_q",
        "score_prev_q",
        "attainment_q",
        "attainment_prev_q",
        "attainment_half",
        "vacancies_up",
    ),
    "cs": ("months_in_grade", "monthly_score_avg"),
    "support": ("months_in_grade", "monthly_score_avg"),
    "cs_rating": ("months_in_grade", "composite"),
    "cs_assistant": ("months_in_grade", "assistant_score"),
}
#: facts computed beyond the declared ones, for the workflow and for reasons
EXTRA_FACTS: dict[str, tuple[str, ...]] = {
    "sales": ("consecutive_low_quarters",),
    "cs": ("on_probation", "probation_month", "probation_score"),
    "support": ("on_probation", "probation_month", "probation_score"),
}
BASE_METRICS = ("score", "sales_actual", "sales_target")


@dataclass
class Settings:
    """What of the pack the facts need: track, grades, positions, weights, thresholds."""

    track: str
    grades: tuple[str, ...]
    fact_names: tuple[str, ...]
    composites: dict[str, Mapping[str, Decimal]]
    composite_periods: dict[str, str]
    low_score: Decimal
    probation_offset: int
    #: grade → every name (id, Chinese, English) of the next higher grade's position
    next_position_names: dict[str, frozenset[str]] = field(default_factory=dict)
    #: fact names a pack gives to built-in facts (its probation and vacancy facts)
    aliases: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_pack(
        cls,
        pack: Any,
        composites: Mapping[str, Mapping[str, Decimal]] | None = None,
        low_score: Decimal | None = None,
    ) -> Settings:
        """Read the pack; explicit ``composites`` weights or ``low_score`` take precedence."""
        track = str(getattr(pack, "track", None) or pack.id)
        weights, periods = _pack_composites(pack)
        if composites:
            weights.update({name: dict(parts) for name, parts in composites.items()})
        declared = tuple(getattr(pack, "facts", None) or DEFAULT_FACTS.get(track, ()))
        aliases = _pack_aliases(pack)
        wanted = [*declared, *EXTRA_FACTS.get(track, ()), *aliases]
        names = tuple(dict.fromkeys(wanted))
        grades = tuple(getattr(pack, "grades", ()) or ())
        return cls(
            track=track,
            grades=grades,
            fact_names=names,
            composites=weights,
            composite_periods=periods,
            low_score=Decimal(low_score if low_score is not None else _pack_low_score(pack)),
            probation_offset=_pack_probation_offset(pack),
            next_position_names=_next_position_names(pack, grades),
            aliases=aliases,
        )

    def metric_names(self) -> set[str]:
        """Every metric any fact of this pack may read."""
        names = set(BASE_METRICS)
        for parts in self.composites.values():
            names.update(parts)
        return names


def _pack_composites(pack: Any) -> tuple[dict[str, dict[str, Decimal]], dict[str, str]]:
    weights: dict[str, dict[str, Decimal]] = {}
    periods: dict[str, str] = {}
    for name, composite in (getattr(pack, "composites", None) or {}).items():
        parts = getattr(composite, "components", composite)
        weights[name] = {metric: Decimal(str(w)) for metric, w in parts.items()}
        periods[name] = str(getattr(composite, "period", "month" if "monthly" in name else "half"))
    return weights, periods


def _pack_aliases(pack: Any) -> dict[str, str]:
    """The pack's probation fact reads the probation month; its vacancy fact, vacancies."""
    aliases = {}
    probation = getattr(pack, "probation", None)
    if getattr(probation, "fact", None):
        aliases[str(probation.fact)] = "probation_score"
    vacancy = getattr(pack, "vacancy", None)
    if getattr(vacancy, "fact", None):
        aliases[str(vacancy.fact)] = "vacancies_up"
    return aliases


def _pack_low_score(pack: Any) -> Decimal:
    value = getattr(pack, "low_score", None)
    return Decimal(str(value)) if value is not None else DEFAULT_LOW_SCORE


def _pack_probation_offset(pack: Any) -> int:
    calendar = getattr(pack, "calendar", None)
    for milestone in getattr(calendar, "milestones", None) or ():
        if getattr(milestone, "id", None) == "probation_review":
            return int(milestone.month) - 1
    return DEFAULT_PROBATION_MONTH


def _next_position_names(pack: Any, grades: tuple[str, ...]) -> dict[str, frozenset[str]]:
    """Grade → every name the next higher grade's position goes by (id, Chinese, English)."""
    out: dict[str, frozenset[str]] = {}
    for lower, higher in pairwise(grades):
        try:
            position = pack.position_of(higher)
        except (AttributeError, KeyError, LookupError, ValueError):
            continue
        names = {getattr(position, key, None) for key in ("id", "zh", "en")}
        out[lower] = frozenset(str(n) for n in names if n)
    return out
