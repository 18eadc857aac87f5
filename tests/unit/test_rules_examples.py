"""Every example case a bundled pack carries holds through durable_rules and plain Python."""

from __future__ import annotations

import pytest

from promoflow.engine import rules_engine
from promoflow.rules.examples import plain, run_examples
from promoflow.rules.packs import bundled_packs

PACKS = bundled_packs()


def durable(pack, kind, grade, facts):
    return rules_engine.verdicts(pack, kind, [("example", grade, facts)])["example"]


@pytest.mark.parametrize("track", sorted(PACKS))
@pytest.mark.parametrize("engine", [plain, durable], ids=["plain", "durable"])
def test_every_bundled_example_decides_as_expected(track, engine):
    runs = run_examples(PACKS[track], engine)
    assert runs, f"{track} carries no examples"
    failures = {run.example.name: run.differences for run in runs if not run.passed}
    assert failures == {}


def test_every_bundled_rule_is_fired_by_some_example():
    for pack in PACKS.values():
        named = {run.decision.rule for run in run_examples(pack)}
        assert [r.id for r in pack.rules if r.id not in named] == [], pack.id


def test_sales_examples_include_cases_where_no_rule_fires():
    runs = run_examples(PACKS["sales"])
    assert sum(run.decision.rule is None for run in runs) >= 5
