"""Rule packs: load a YAML pack, validate it, and expose it as a frozen :class:`Pack`.

A pack is the whole policy of one track (grades, positions, cadence, calendar, facts,
rules, bands, weights, competency models, example cases). Loading either returns a pack
that is safe to run or raises :class:`~promoflow.errors.PackError` listing every problem
with file, line, rule and a plain sentence — a bad pack never reaches a running system.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from promoflow.errors import PackError, Problem
from promoflow.rules import schema
from promoflow.rules.conditions import Node, facts_of
from promoflow.rules.validate import Checked, check

PACK_DIR = Path(__file__).parent / "packs"
TRACKS = ("sales", "support", "cs", "cs_rating", "cs_assistant")


@dataclass(frozen=True)
class Position:
    """A job title and the grades it covers, low → high."""

    id: str
    zh: str
    en: str
    grades: tuple[str, ...]


@dataclass(frozen=True)
class PackRule:
    """A rule ready to evaluate: its parsed condition and what it does when it holds.

    ``then`` is ``promote``, ``demote``, ``keep`` or ``set`` (a band: ``target`` grade).
    """

    id: str
    cycle: str
    grades: tuple[str, ...]
    then: str
    when: str
    node: Node
    steps: int = 1
    probation: bool = False
    review: str | None = None
    at_bottom_review: str | None = None
    target: str | None = None
    note: dict[str, str] | None = None
    line: int | None = None

    @property
    def priority(self) -> int:
        """Demotion first, then keep/band, then promotion: demotion beats promotion."""
        return {"demote": 0, "keep": 1, "set": 1, "promote": 2}[self.then]


@dataclass(frozen=True, eq=False)
class Pack:
    """A validated rule pack; ``version`` is the sha256 of its text.

    Two packs are equal (and hash alike) when their id and text are: the text is the pack.
    """

    id: str
    version: str
    source: str
    file: str
    title: dict[str, str]
    grades: tuple[str, ...]
    positions: tuple[Position, ...]
    stages: tuple[str, ...]
    pass_marks: dict[str, Decimal]
    calendar: schema.Calendar
    facts: dict[str, schema.FactSpec]
    composites: dict[str, schema.Composite]
    probation: schema.Probation | None
    #: metric → its scale (inputs that are not 0–100 scores, e.g. ``cs_assistant``'s items)
    scales: dict[str, schema.Scale]
    vacancy: schema.Vacancy | None
    competency_models: dict[str, schema.CompetencyModel]
    rules: tuple[PackRule, ...]
    examples: tuple[schema.Example, ...]
    cadence: dict[str, str] = field(default_factory=dict)  # grade → cycle kind
    spec: schema.PackFile | None = field(default=None, repr=False, compare=False)
    #: memo of derived lookups (rules per cycle kind and grade, …); the pack itself is frozen
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pack):
            return NotImplemented
        return (self.id, self.version) == (other.id, other.version)

    def __hash__(self) -> int:
        return hash((self.id, self.version))

    @property
    def track(self) -> str:
        """The track (ladder) this pack governs; the same as its id."""
        return self.id

    @property
    def cycle_kinds(self) -> tuple[str, ...]:
        """The cycle kinds this track runs (``quarter``, ``half``)."""
        return tuple(self.calendar.cycles)

    def grades_for(self, cycle_kind: str) -> tuple[str, ...]:
        """The grades a cycle of this kind evaluates, low → high."""
        return tuple(g for g in self.grades if self.cadence.get(g) == cycle_kind)

    def position_of(self, grade: str) -> Position:
        """The position a grade belongs to; KeyError for an unknown grade."""
        for position in self.positions:
            if grade in position.grades:
                return position
        raise KeyError(f"grade {grade!r} is not in track {self.id}")

    def lowest_grade_of_position(self, name: str) -> str:
        """Entry grading: the lowest grade of a position named by id, Chinese or English."""
        wanted = name.strip().casefold()
        for position in self.positions:
            if wanted in (position.id.casefold(), position.zh.casefold(), position.en.casefold()):
                return position.grades[0]
        raise KeyError(f"position {name!r} is not in track {self.id}")

    def rules_for(self, cycle_kind: str, grade: str | None = None) -> tuple[PackRule, ...]:
        """The rules a cycle kind runs (for one grade if given), in decision order."""
        key = ("rules_for", cycle_kind, grade)
        found = self.memo.get(key)
        if found is None:
            chosen = [
                r
                for r in self.rules
                if r.cycle == cycle_kind and (grade is None or grade in r.grades)
            ]
            found = self.memo[key] = tuple(sorted(chosen, key=lambda r: r.priority))
        return found

    def facts_read(self, cycle_kind: str) -> frozenset[str]:
        """Every fact a cycle of this kind can read: its rules' conditions, and the vacancy
        fact where a promotion of this kind into another position needs a vacancy.

        A cycle computes only these (the sales pack's quarterly rules read five of its
        eight facts); a decision never reads another.
        """
        key = ("facts_read", cycle_kind)
        found = self.memo.get(key)
        if found is None:
            names = {name for rule in self.rules_for(cycle_kind) for name in facts_of(rule.node)}
            if self.vacancy is not None and cycle_kind in self.vacancy.cycles:
                names.add(self.vacancy.fact)
            found = self.memo[key] = frozenset(names)
        return found

    def index(self, grade: str) -> int:
        """Position of a grade on the ladder, 0 = lowest."""
        return self.grades.index(grade)


def line_map(text: str) -> dict[tuple, int]:
    """Path in the YAML document → 1-based line, for problem reports."""
    lines: dict[tuple, int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines

    def walk(node: Any, path: tuple) -> None:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                lines[(*path, key.value)] = key.start_mark.line + 1
                walk(value, (*path, key.value))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    if root is not None:
        walk(root, ())
    return lines


def line_of(lines: dict[tuple, int], path: tuple) -> int | None:
    """The line of ``path``, or of its nearest ancestor that has one."""
    path = tuple(path)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


def _pydantic_problems(exc: ValidationError, source: str, lines: dict) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function")))
        where = ".".join(str(p) for p in loc) or "the pack"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "this key is not part of the pack format (misspelt?)"
        elif err["type"] == "missing":
            msg = "this required key is missing"
        problems.append(Problem(f"{where}: {msg}", file=source, line=line_of(lines, loc)))
    return problems


def load_pack_text(text: str, source: str = "<text>") -> Pack:
    """Parse and validate a pack; raise PackError listing every problem found."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = Problem(f"not valid YAML: {getattr(exc, 'problem', exc)}", source, line)
        raise PackError(f"{source}: the rule pack is not valid YAML", [problem]) from exc
    lines = line_map(text)
    if not isinstance(data, dict):
        problem = Problem("a rule pack must be a mapping of keys (id, grades, rules …)", source, 1)
        raise PackError(f"{source}: not a rule pack", [problem])
    try:
        spec = schema.PackFile.model_validate(data)
    except ValidationError as exc:
        problems = _pydantic_problems(exc, source, lines)
        raise PackError(f"{source}: {len(problems)} problem(s) in the rule pack", problems) from exc
    checked: Checked = check(spec, lambda path: line_of(lines, path), source)
    if checked.problems:
        raise PackError(
            f"{source}: {len(checked.problems)} problem(s) in the rule pack", checked.problems
        )
    return Pack(
        id=spec.id,
        version=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        source=text,
        file=source,
        title={"zh": spec.title.zh, "en": spec.title.en},
        grades=spec.grades,
        positions=tuple(
            Position(p.id, p.zh, p.en, checked.position_grades[p.id]) for p in spec.positions
        ),
        stages=spec.stages,
        pass_marks=dict(spec.pass_marks),
        calendar=spec.calendar,
        facts=dict(spec.facts),
        composites=dict(spec.composites),
        probation=spec.probation,
        scales=dict(spec.scales),
        vacancy=spec.vacancy,
        competency_models=dict(spec.competency_models),
        rules=tuple(PackRule(**r) for r in checked.rules),
        examples=spec.examples,
        cadence=checked.cadence,
        spec=spec,
    )


def load_pack_file(path: str | Path) -> Pack:
    """Load a pack from a file (problems name the file)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PackError(f"cannot read rule pack {path}: {exc.strerror}") from exc
    return load_pack_text(text, str(path))


@cache
def bundled_packs() -> dict[str, Pack]:
    """The default packs shipped in ``rules/packs/``, keyed by track id (loaded once)."""
    packs = {}
    for track in TRACKS:
        pack = load_pack_file(PACK_DIR / f"{track}.yaml")
        packs[pack.id] = pack
    return packs
