"""Replaying a cycle: recompute every decision from what was recorded, and compare.

A decision stores the facts it read (as exact strings) and the pack version that decided
it; ``pack_versions`` keeps that version's text. Replaying feeds the same facts to the same
pack through :func:`promoflow.engine.cycles.evaluation.evaluate_facts` — years later, with no
metric re-read — and reports every decision that comes out differently. It also checks each
stored decision against its ``decision`` event in the hash-chained trail, so a decision
row edited after the fact shows up even when its facts were edited to match.

Nothing is written: a replay only reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from promoflow.engine.cycles.evaluation import evaluate_facts
from promoflow.engine.packs.store import pack_by_version
from promoflow.engine.storage.models import AuditEvent, Cycle, Decision
from promoflow.errors import InputError, NotFoundError

#: what "deciding differently" means: the move, not the wording of the reasons
COMPARED = ("outcome", "to_grade", "rule", "probation", "review")


@dataclass(frozen=True)
class Difference:
    """One field of one employee's decision that differs, and both values."""

    employee_id: str
    field: str
    recorded: Any
    recomputed: Any
    source: str = "replay"  # replay: recomputed from facts; trail: stored row vs audit event

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return {
            "employee_id": self.employee_id,
            "field": self.field,
            "recorded": self.recorded,
            "recomputed": self.recomputed,
            "source": self.source,
        }


@dataclass
class ReplayReport:
    """What a replay found: how many decisions it recomputed, and every difference."""

    cycle_id: str
    pack_versions: list[str]
    decisions: int = 0
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every decision came out as recorded and matches the trail."""
        return not self.differences


def typed_facts(pack, stored: Mapping[str, Any] | None, grade: str) -> dict[str, Any]:
    """Stored fact strings back to the values the rules compare (exact Decimals, ints)."""
    facts: dict[str, Any] = {}
    for name, raw in (stored or {}).items():
        ftype = pack.facts[name].type if name in pack.facts else "decimal"
        if raw is None:
            facts[name] = None
        elif ftype == "bool":
            facts[name] = raw if isinstance(raw, bool) else str(raw).lower() == "true"
        elif ftype == "int":
            facts[name] = int(raw)
        else:
            try:
                facts[name] = Decimal(str(raw))
            except InvalidOperation as exc:
                raise InputError(f"stored fact {name} = {raw!r} is not a number") from exc
    facts["grade"] = grade
    return facts


def recorded(decision: Decision) -> dict[str, Any]:
    """The compared fields of a stored decision."""
    return {
        "outcome": decision.outcome,
        "to_grade": decision.to_grade,
        "rule": decision.rule,
        "probation": bool(decision.probation),
        "review": decision.review,
    }


def recomputed(result) -> dict[str, Any]:
    """The compared fields of a fresh :class:`~promoflow.rules.decide.DecisionResult`."""
    return {
        "outcome": result.outcome,
        "to_grade": result.to_grade,
        "rule": result.rule,
        "probation": bool(result.probation),
        "review": result.review,
    }


def cycle_decisions(session: Session, cycle_id: str) -> tuple[Cycle, list[Decision]]:
    """The cycle and its stored decisions (by employee), or NotFoundError."""
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise NotFoundError(f"unknown cycle {cycle_id!r}")
    decisions = list(
        session.scalars(
            select(Decision).where(Decision.cycle_id == cycle_id).order_by(Decision.employee_id)
        )
    )
    return cycle, decisions


def _trail(session: Session, cycle_id: str) -> dict[str, dict[str, Any]]:
    """The last ``decision`` event of each employee of the cycle (what the trail says)."""
    out: dict[str, dict[str, Any]] = {}
    query = (
        select(AuditEvent.employee_id, AuditEvent.after)
        .where(AuditEvent.cycle_id == cycle_id, AuditEvent.kind == "decision")
        .order_by(AuditEvent.seq)
    )
    for employee_id, after in session.execute(query):
        if employee_id:
            out[employee_id] = after or {}
    return out


def replay_cycle(session: Session, cycle_id: str) -> ReplayReport:
    """Recompute every decision of ``cycle_id`` from its recorded facts and pack version."""
    cycle, decisions = cycle_decisions(session, cycle_id)
    by_version: dict[tuple[str, str], list[Decision]] = {}
    for d in decisions:
        by_version.setdefault((d.pack_id, d.pack_version), []).append(d)
    report = ReplayReport(cycle.cycle_id, sorted(v for _, v in by_version), len(decisions))
    for (pack_id, version), group in by_version.items():
        pack = pack_by_version(session, pack_id, version)
        facts = {d.employee_id: typed_facts(pack, d.facts, d.from_grade) for d in group}
        results = evaluate_facts(pack, facts, cycle.period_id)
        for d in group:
            before, after = recorded(d), recomputed(results[d.employee_id])
            report.differences += [
                Difference(d.employee_id, name, before[name], after[name])
                for name in COMPARED
                if before[name] != after[name]
            ]
    trail = _trail(session, cycle.cycle_id)
    for d in decisions:
        event = trail.get(d.employee_id)
        if event is None:
            report.differences.append(
                Difference(d.employee_id, "decision event", "stored", "absent", "trail")
            )
            continue
        stored = {**recorded(d), "pack_version": d.pack_version, "facts": d.facts}
        # the decision event carries what the evaluation chose to chain (facts too, when
        # it records them): every such field must still match the stored decision
        for name in ("outcome", "to_grade", "rule", "pack_version", "facts"):
            if name in event and event[name] != stored[name]:
                report.differences.append(
                    Difference(d.employee_id, name, event[name], stored[name], "trail")
                )
    return report
