"""Semantic checks of a rule pack: what the schema cannot see.

Unknown grades, positions or cadences that leave a grade uncovered or cover it twice,
score bands with gaps or overlaps, weights that do not sum to 1, conditions naming unknown
facts (with a suggestion), rules for grades their cycle never evaluates. Every problem is
collected (not just the first), each with its line and rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from promoflow.errors import Problem
from promoflow.rules import schema
from promoflow.rules.conditions import (
    MAX_MAGNITUDE,
    MAX_PLACES,
    All,
    Compare,
    ConditionSyntaxError,
    parse_condition,
)

LineOf = Callable[[tuple], int | None]


@dataclass
class Checked:
    """The outcome of checking: problems, plus what the loader needs to build the Pack."""

    problems: list[Problem] = field(default_factory=list)
    position_grades: dict[str, tuple[str, ...]] = field(default_factory=dict)
    cadence: dict[str, str] = field(default_factory=dict)
    rules: list[dict] = field(default_factory=list)


def expand_grades(spec: str | list[str], grades: tuple[str, ...]) -> tuple[str, ...]:
    """``all``, ``S3..S9``, ``S13`` or a list of grades → the grades, low → high.

    Raises ValueError naming an unknown grade.
    """
    if isinstance(spec, list):
        for g in spec:
            if g not in grades:
                raise ValueError(f"unknown grade {g!r}")
        return tuple(g for g in grades if g in spec)
    text = spec.strip()
    if text == "all":
        return grades
    if ".." in text:
        low, high = (p.strip() for p in text.split("..", 1))
        for g in (low, high):
            if g not in grades:
                raise ValueError(f"unknown grade {g!r}")
        i, j = grades.index(low), grades.index(high)
        if i > j:
            raise ValueError(f"the range {text!r} runs from high to low")
        return grades[i : j + 1]
    if text not in grades:
        raise ValueError(f"unknown grade {text!r}")
    return (text,)


def _places_ok(value: Decimal) -> bool:
    return value.as_tuple().exponent >= -MAX_PLACES


def check(spec: schema.PackFile, line_of: LineOf, source: str) -> Checked:
    """Check a schema-valid pack for meaning; collect every problem."""
    out = Checked()

    def problem(path: tuple, message: str, rule: str | None = None) -> None:
        out.problems.append(Problem(message, file=source, line=line_of(path), rule=rule))

    grades = spec.grades
    if not grades:
        problem(("grades",), "the pack lists no grades")
    if len(set(grades)) != len(grades):
        dupes = sorted({g for g in grades if grades.count(g) > 1})
        problem(("grades",), f"grades listed twice: {', '.join(dupes)}")

    owner: dict[str, str] = {}
    for i, pos in enumerate(spec.positions):
        try:
            covered = expand_grades(pos.grades, grades)
        except ValueError as exc:
            problem(("positions", i, "grades"), f"position {pos.id}: {exc}")
            continue
        out.position_grades[pos.id] = covered
        for g in covered:
            if g in owner:
                problem(("positions", i), f"grade {g} is in two positions: {owner[g]} and {pos.id}")
            owner[g] = pos.id
    for g in grades:
        if g not in owner and spec.positions:
            problem(("positions",), f"grade {g} belongs to no position")

    for i, cad in enumerate(spec.cadence):
        try:
            covered = expand_grades(cad.grades, grades)
        except ValueError as exc:
            problem(("cadence", i, "grades"), f"cadence: {exc}")
            continue
        for g in covered:
            if g in out.cadence:
                problem(("cadence", i), f"grade {g} has two cadences")
            out.cadence[g] = cad.cycle
    for g in grades:
        if g not in out.cadence:
            problem(
                ("cadence",), f"grade {g} has no cadence: say whether quarter or half reviews it"
            )
    kinds = {c.cycle for c in spec.cadence}
    if set(spec.calendar.cycles) != kinds:
        problem(
            ("calendar", "cycles"),
            f"calendar cycles {sorted(spec.calendar.cycles)} differ from "
            f"the cadence's {sorted(kinds)}",
        )

    _check_calendar(spec, problem)
    _check_stages(spec, problem)
    _check_composites(spec, problem)
    fact_types = {name: f.type for name, f in spec.facts.items()}
    seen_ids: set[str] = set()
    for i, rule in enumerate(spec.rules):
        if rule.id in seen_ids:
            problem(("rules", i, "id"), f"rule id {rule.id} is used twice", rule.id)
        seen_ids.add(rule.id)
        try:
            covered = expand_grades(rule.grades, grades)
        except ValueError as exc:
            problem(("rules", i, "grades"), str(exc), rule.id)
            continue
        never = [g for g in covered if out.cadence.get(g) != rule.cycle]
        if never:
            problem(
                ("rules", i, "grades"),
                f"{', '.join(never)} are never evaluated in {rule.cycle} cycles (see cadence)",
                rule.id,
            )
        try:
            node = parse_condition(rule.when, fact_types)
        except ConditionSyntaxError as exc:
            col = f" (at character {exc.column})" if exc.column else ""
            problem(("rules", i, "when"), f"condition: {exc}{col}", rule.id)
            continue
        out.rules.append(
            {
                "id": rule.id,
                "cycle": rule.cycle,
                "grades": covered,
                "then": rule.then,
                "when": rule.when.strip(),
                "node": node,
                "steps": rule.steps,
                "probation": rule.probation,
                "review": rule.review,
                "at_bottom_review": rule.at_bottom.review if rule.at_bottom else None,
                "note": rule.note.model_dump() if rule.note else None,
                "line": line_of(("rules", i, "when")),
            }
        )
    if spec.bands:
        _check_bands(spec, out, problem, seen_ids, line_of)
    if spec.vacancy and fact_types.get(spec.vacancy.fact) != "int":
        problem(
            ("vacancy", "fact"), f"vacancy fact {spec.vacancy.fact!r} must be a declared int fact"
        )
    if spec.probation:
        types = {**fact_types, spec.probation.fact: "decimal"}
        try:
            parse_condition(spec.probation.pass_, types)
        except ConditionSyntaxError as exc:
            problem(("probation", "pass"), f"probation condition: {exc}")
    _check_examples(spec, out, problem)
    return out


def _check_calendar(spec: schema.PackFile, problem) -> None:
    try:
        ZoneInfo(spec.calendar.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problem(("calendar", "timezone"), f"unknown time zone {spec.calendar.timezone!r}")
    ids = [m.id for m in spec.calendar.milestones]
    if len(set(ids)) != len(ids):
        problem(("calendar", "milestones"), "a milestone is listed twice")
    if not ids or ids[0] != "open" or "announce" not in ids:
        problem(("calendar", "milestones"), "milestones must start with open and include announce")
    order = [(m.month, m.day, m.time) for m in spec.calendar.milestones]
    if order != sorted(order):
        problem(("calendar", "milestones"), "milestones must be listed in the order they fire")
    if spec.stages and not {"test_due", "interview_due"} <= set(ids):
        problem(("calendar", "milestones"), "a track with stages needs test_due and interview_due")


def _check_stages(spec: schema.PackFile, problem) -> None:
    for stage in spec.pass_marks:
        if stage == "probation_review" and spec.probation:
            continue  # the score that ends a probation (read at the probation_review milestone)
        if stage not in spec.stages:
            problem(("pass_marks", stage), f"pass mark for {stage!r}, which is not a stage")
    for stage in spec.stages:
        if stage not in spec.pass_marks:
            problem(("stages",), f"stage {stage!r} has no pass mark")


def _check_composites(spec: schema.PackFile, problem) -> None:
    for name, comp in spec.composites.items():
        total = sum(comp.components.values(), Decimal(0))
        if comp.normalised and total != 1:
            problem(
                ("composites", name, "components"),
                f"weights of {name} sum to {total}, not 1",
            )
        for metric, weight in comp.components.items():
            if weight <= 0:
                problem(
                    ("composites", name, "components", metric), f"weight of {metric} must be > 0"
                )
    inputs = {m for comp in spec.composites.values() for m in comp.components}
    for metric, scale in spec.scales.items():
        where = ("scales", metric)
        if metric not in inputs:
            problem(where, f"scale for {metric!r}, which no composite reads")
        if bool(scale.values) == (scale.from_ is not None or scale.to is not None):
            problem(where, f"the scale of {metric} needs either values or from and to")
        elif not scale.values and (scale.from_ is None or scale.to is None):
            problem(where, f"the scale of {metric} needs both from and to")
        elif not scale.values and scale.from_ > scale.to:  # type: ignore[operator]
            problem(where, f"the scale of {metric} runs from {scale.from_} down to {scale.to}")
        elif any(v < 0 for v in scale.values) or (scale.from_ is not None and scale.from_ < 0):
            problem(where, f"the scale of {metric} goes below 0: metrics are ≥ 0")
    for name, model in spec.competency_models.items():
        if any(c.weight <= 0 for c in model.competencies):
            problem(("competency_models", name), "competency weights must be > 0")


def _check_bands(
    spec: schema.PackFile, out: Checked, problem, seen_ids: set[str], line_of: LineOf
) -> None:
    bands = spec.bands
    assert bands is not None
    fact_type = spec.facts.get(bands.fact)
    if fact_type is None or fact_type.type == "bool":
        problem(("bands", "fact"), f"band fact {bands.fact!r} must be a declared numeric fact")
        return
    grades = spec.grades
    ranges = bands.ranges
    if not ranges:
        problem(("bands", "ranges"), "bands list no ranges")
        return
    for i, band in enumerate(ranges):
        path = ("bands", "ranges", i)
        if band.grade not in grades:
            problem(path, f"band for unknown grade {band.grade!r}", bands.id)
        if band.from_ >= band.to:
            problem(
                path, f"band {band.grade}: from {band.from_} must be below to {band.to}", bands.id
            )
        if max(abs(band.from_), abs(band.to)) >= MAX_MAGNITUDE:
            problem(path, f"band {band.grade}: edges must stay below 10¹²", bands.id)
        if not (_places_ok(band.from_) and _places_ok(band.to)):
            problem(path, f"band {band.grade}: more than {MAX_PLACES} decimal places", bands.id)
        if band.include_to and i != len(ranges) - 1:
            problem(path, "only the last band may include its upper edge", bands.id)
        if i:
            prev = ranges[i - 1]
            if band.from_ > prev.to:
                problem(
                    path, f"gap between bands: {prev.to} to {band.from_} has no grade", bands.id
                )
            elif band.from_ < prev.to:
                message = f"bands overlap: {band.from_} is below the previous band's end {prev.to}"
                problem(path, message, bands.id)
    if any(out.cadence.get(g) != bands.cycle for g in grades):
        problem(("bands", "cycle"), f"bands run in {bands.cycle} cycles, but not every grade does")
    covered = grades
    for i, band in enumerate(ranges):
        lo = Compare(bands.fact, ">=", band.from_)
        hi = Compare(bands.fact, "<=" if band.include_to else "<", band.to)
        rule_id = f"{bands.id}.{band.grade}"
        if rule_id in seen_ids:
            problem(("bands", "ranges", i), f"rule id {rule_id} is used twice", rule_id)
        out.rules.append(
            {
                "id": rule_id,
                "cycle": bands.cycle,
                "grades": covered,
                "then": "set",
                "target": band.grade,
                "when": f"{lo} and {hi}",
                "node": All((lo, hi)),
                "note": bands.note.model_dump() if bands.note else None,
                "line": line_of(("bands", "ranges", i)),
            }
        )
    if bands.below:
        below = Compare(bands.fact, "<", ranges[0].from_)
        out.rules.append(
            {
                "id": f"{bands.id}.below",
                "cycle": bands.cycle,
                "grades": covered,
                "then": "keep",
                "review": bands.below.review,
                "when": str(below),
                "node": below,
                "note": bands.note.model_dump() if bands.note else None,
                "line": line_of(("bands", "below")),
            }
        )


def _check_examples(spec: schema.PackFile, out: Checked, problem) -> None:
    for i, ex in enumerate(spec.examples):
        path = ("examples", i)
        if ex.grade not in spec.grades:
            problem(path, f"example {ex.name!r}: unknown grade {ex.grade!r}")
        if ex.expect.to_grade is not None and ex.expect.to_grade not in spec.grades:
            problem(path, f"example {ex.name!r}: unknown grade {ex.expect.to_grade!r}")
        for name in ex.facts:
            if name not in spec.facts:
                problem(path, f"example {ex.name!r}: unknown fact {name!r}")
