"""Example cases carried by a pack: given facts → expected decision.

``promoflow rules test`` runs them through durable_rules, ``promoflow rules check`` through
plain Python; either way a pack whose examples disagree with its rules is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from promoflow.rules.decide import DecisionResult, Verdict, decide, plain_verdict
from promoflow.rules.packs import Pack, PackRule
from promoflow.rules.schema import Example

PERIOD = {"quarter": "2026Q3", "half": "2026H2"}

#: (pack, cycle kind, grade, facts) → verdict; the plain walk by default
VerdictFn = Callable[[Pack, str, str, dict], Verdict]


def plain(pack: Pack, kind: str, grade: str, facts: dict) -> Verdict:
    """The plain-Python verdict."""
    rules: tuple[PackRule, ...] = pack.rules_for(kind, grade)
    return plain_verdict(rules, facts)


@dataclass
class ExampleRun:
    """One example's decision and what differed from the expectation (empty = passed)."""

    example: Example
    decision: DecisionResult
    differences: list[str]

    @property
    def passed(self) -> bool:
        """Whether the decision matched every expected field."""
        return not self.differences


def example_facts(pack: Pack, example: Example) -> dict:
    """The example's facts as typed values (numbers from strings, exactly)."""
    facts: dict[str, object] = {}
    for name, raw in example.facts.items():
        ftype = pack.facts[name].type if name in pack.facts else "decimal"
        if raw is None or ftype == "bool":
            facts[name] = raw
        elif ftype == "int":
            facts[name] = int(raw)
        else:
            try:
                facts[name] = Decimal(str(raw))
            except InvalidOperation as exc:
                raise ValueError(
                    f"example {example.name!r}: {name} = {raw!r} is no number"
                ) from exc
    return facts


def run_examples(pack: Pack, verdict: VerdictFn = plain) -> list[ExampleRun]:
    """Decide every example of the pack and compare with its expectation."""
    runs = []
    for example in pack.examples:
        facts = example_facts(pack, example)
        found = verdict(pack, example.cycle, example.grade, facts)
        d = decide(
            pack, example.cycle, "example", example.grade, facts, PERIOD[example.cycle], found
        )
        expect = example.expect
        diffs = []
        wanted = {
            "outcome": expect.outcome,
            "to_grade": expect.to_grade,
            "rule": expect.rule,
            "review": expect.review,
            "probation": expect.probation,
            "missing": expect.missing,
        }
        for key, value in wanted.items():
            if value is not None and getattr(d, key) != value:
                diffs.append(f"{key} is {getattr(d, key)!r}, expected {value!r}")
        runs.append(ExampleRun(example, d, diffs))
    return runs
