"""What-if: a proposed rule pack run against a past cycle's recorded facts.

HR edits a pack (say, the promotion score from 80 to 85) and asks who would have moved
differently. The cycle's decisions hold the facts they read; the proposed pack decides
again from exactly those facts through the same evaluation as a real cycle, and the report
lists, per grade and per person, every decision that would change — with the proposed
pack's reasons, so the "why" is in the rule's own words. Nothing is stored.

A fact the proposed pack reads that the recorded decision did not store cannot be known
after the fact: such people come out ``pending`` and are named with what is missing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from promoflow.engine.cycles.evaluation import cycle_kind, evaluate_facts
from promoflow.engine.cycles.replay import cycle_decisions, recomputed, recorded, typed_facts
from promoflow.errors import InputError

#: a person "moves differently" when one of these differs (a renamed rule alone does not)
MOVE = ("outcome", "to_grade", "probation", "review")


@dataclass(frozen=True)
class Change:
    """One person whose decision the proposed pack would change, and why."""

    employee_id: str
    grade: str
    recorded: dict[str, Any]
    proposed: dict[str, Any]
    reasons_en: list[str]
    reasons_zh: list[str]
    missing: list[str]

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return {
            "employee_id": self.employee_id,
            "grade": self.grade,
            "recorded": self.recorded,
            "proposed": self.proposed,
            "reasons_en": self.reasons_en,
            "reasons_zh": self.reasons_zh,
            "missing": self.missing,
        }


@dataclass
class WhatIfReport:
    """Per grade (evaluated, changed, which moves) and per person (what and why)."""

    cycle_id: str
    recorded_version: list[str]
    proposed_version: str
    evaluated: int = 0
    changes: list[Change] = field(default_factory=list)
    per_grade: dict[str, dict[str, Any]] = field(default_factory=dict)
    not_evaluated: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return {
            "cycle": self.cycle_id,
            "recorded_pack_versions": self.recorded_version,
            "proposed_pack_version": self.proposed_version,
            "evaluated": self.evaluated,
            "changed": len(self.changes),
            "per_grade": self.per_grade,
            "changes": [c.as_dict() for c in self.changes],
            "not_evaluated": self.not_evaluated,
        }


def _move(fields: dict[str, Any]) -> str:
    text = fields["outcome"]
    if fields["outcome"] in ("promoted", "demoted"):
        text += f" {fields['to_grade']}"
    if fields["probation"]:
        text += " +probation"
    if fields["review"]:
        text += f" ({fields['review']})"
    return text


def what_if(session: Session, pack, cycle_id: str) -> WhatIfReport:
    """Evaluate ``pack`` (a proposed, unstored Pack) against ``cycle_id``'s recorded facts."""
    cycle, decisions = cycle_decisions(session, cycle_id)
    if pack.id != cycle.track:
        raise InputError(f"pack {pack.id!r} is for track {pack.id}, not {cycle.track} ({cycle_id})")
    grades = set(pack.grades_for(cycle_kind(cycle.period_id)))
    report = WhatIfReport(cycle.cycle_id, sorted({d.pack_version for d in decisions}), pack.version)
    kept = [d for d in decisions if d.from_grade in grades]
    report.not_evaluated = [d.employee_id for d in decisions if d.from_grade not in grades]
    facts = {d.employee_id: typed_facts(pack, d.facts, d.from_grade) for d in kept}
    results = evaluate_facts(pack, facts, cycle.period_id) if facts else {}
    moves: dict[str, Counter] = {}
    for d in kept:
        result = results[d.employee_id]
        before, after = recorded(d), recomputed(result)
        grade = report.per_grade.setdefault(d.from_grade, {"evaluated": 0, "changed": 0})
        grade["evaluated"] += 1
        report.evaluated += 1
        if any(before[k] != after[k] for k in MOVE):
            grade["changed"] += 1
            moves.setdefault(d.from_grade, Counter())[f"{_move(before)} → {_move(after)}"] += 1
            report.changes.append(
                Change(
                    d.employee_id,
                    d.from_grade,
                    before,
                    after,
                    list(result.reasons_en),
                    list(result.reasons_zh),
                    list(result.missing),
                )
            )
    for grade, counter in moves.items():
        report.per_grade[grade]["moves"] = dict(counter)
    order = {g: i for i, g in enumerate(pack.grades)}
    report.per_grade = dict(sorted(report.per_grade.items(), key=lambda kv: order.get(kv[0], 0)))
    return report
