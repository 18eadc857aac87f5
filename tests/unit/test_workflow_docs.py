"""docs/workflow.md holds exactly the diagrams generated from the machine definitions."""

from __future__ import annotations

from pathlib import Path

import pytest

from promoflow.workflow.specs import PROBATION, all_specs
from tools.diagrams import block, mermaid, render_into

DOC = Path(__file__).resolve().parents[2] / "docs" / "workflow.md"


@pytest.mark.parametrize("spec", all_specs(), ids=lambda s: s.name)
def test_the_docs_page_holds_the_fresh_diagram_of_every_machine(spec):
    assert block(spec) in DOC.read_text(encoding="utf-8")


def test_regenerating_the_docs_page_changes_nothing():
    text = DOC.read_text(encoding="utf-8")
    assert render_into(text) == text


def test_a_diagram_draws_every_transition_of_its_machine():
    diagram = mermaid(PROBATION)
    for t in PROBATION.transitions:
        assert f"{t.source} --> {t.dest}: {t.trigger}" in diagram
