"""Moving cases through their machines and writing each move, in bulk, with its audit event.

Milestones move many cases at once: they collect :class:`Move` objects in memory (each one
computed by the case's ``transitions`` machine), then :meth:`Moves.write` applies them with
one bulk UPDATE (:func:`promoflow.engine.storage.bulk.update_rows`) and one bulk audit
insert, so 100k cases never mean 100k ORM flushes. :func:`trigger` moves a single case
(overrides, results) through the same path.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from promoflow.engine.audit.trail import Event, record_many
from promoflow.engine.packs.store import pack_of
from promoflow.engine.storage.bulk import update_rows
from promoflow.engine.storage.models import Case, Cycle
from promoflow.errors import NotFoundError
from promoflow.workflow.machines import fire
from promoflow.workflow.specs import MachineSpec, spec_for

#: ``flagged`` left unchanged by a move
KEEP = object()


@dataclass
class CaseRef:
    """The columns of a case a milestone needs (no ORM object, no identity map)."""

    id: int
    employee_id: str
    kind: str
    state: str
    flagged: str | None
    decision_id: int | None = None


@dataclass
class Move:
    """One state change of one case, and why."""

    case_id: int | None
    employee_id: str
    trigger: str
    before: str | None
    after: str
    reason: str | None = None
    flagged: Any = KEEP


@dataclass
class Moves:
    """Moves collected during one milestone or import, written together."""

    cycle_id: str
    moves: list[Move] = field(default_factory=list)

    def fire(
        self,
        spec: MachineSpec,
        ref: CaseRef,
        trigger: str,
        reason: str | None = None,
        flagged: Any = KEEP,
        **kwargs: Any,
    ) -> str:
        """Fire ``trigger`` on ``ref`` through its machine; update ``ref`` and note the move."""
        after = fire(spec, ref.state, trigger, **kwargs)
        self.moves.append(Move(ref.id, ref.employee_id, trigger, ref.state, after, reason, flagged))
        ref.state = after
        if flagged is not KEEP:
            ref.flagged = flagged
        return after

    def flag(self, ref: CaseRef, text: str) -> None:
        """Flag a case for HR without moving it; an earlier flag is kept in front."""
        if ref.flagged and text not in ref.flagged:
            text = f"{ref.flagged}; {text}"
        ref.flagged = text
        self.moves.append(Move(ref.id, ref.employee_id, "flag", ref.state, ref.state, text, text))

    def counts(self) -> dict[str, int]:
        """Moves per trigger, for milestone reports."""
        return dict(Counter(m.trigger for m in self.moves))

    def write(self, session: Session, now: datetime, actor: str) -> int:
        """Apply every move to ``cases`` and append one ``case_transition`` event per move."""
        final: dict[int, dict[str, Any]] = {}
        for m in self.moves:
            if m.case_id is None:
                continue
            row = final.setdefault(m.case_id, {"id": m.case_id, "updated_at": now})
            row["state"] = m.after
            if m.flagged is not KEEP:
                row["flagged"] = m.flagged
        by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in final.values():
            by_shape.setdefault(tuple(sorted(row)), []).append(row)
        for rows in by_shape.values():
            update_rows(session, Case.__table__, "id", rows)
        events = []
        for m in self.moves:
            after = {"state": m.after, "trigger": m.trigger}
            if m.flagged is not KEEP:
                after["flagged"] = m.flagged
            events.append(
                Event(
                    kind="case_transition",
                    actor=actor,
                    at=now,
                    subject=m.trigger,
                    employee_id=m.employee_id,
                    cycle_id=self.cycle_id,
                    case_id=m.case_id,
                    before={"state": m.before} if m.before is not None else None,
                    after=after,
                    reason=m.reason,
                )
            )
        record_many(session, events, plain=True)  # states, triggers, flags: all text
        return len(events)


def load_refs(
    session: Session, cycle_id: str, states: tuple[str, ...] | None = None
) -> list[CaseRef]:
    """The cases of a cycle (optionally only those in ``states``), ordered by employee."""
    query = select(
        Case.id, Case.employee_id, Case.kind, Case.state, Case.flagged, Case.decision_id
    ).where(Case.cycle_id == cycle_id)
    if states is not None:
        query = query.where(Case.state.in_(states))
    return [CaseRef(*row) for row in session.execute(query.order_by(Case.employee_id))]


def stages_of(session: Session, cycle_id: str) -> tuple[str, ...]:
    """The stages of the pack version the cycle was opened with."""
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise NotFoundError(f"unknown cycle {cycle_id!r}")
    return tuple(pack_of(session, cycle).stages)


def spec_of_case(kind: str, stages: tuple[str, ...]) -> MachineSpec:
    """The machine for a stored case."""
    return spec_for(kind, stages)


def trigger(
    session: Session,
    case: Case,
    trigger_name: str,
    now: datetime,
    actor: str,
    reason: str | None = None,
    **kwargs: Any,
) -> str:
    """Fire one trigger on one case (overrides, late results); returns the new state.

    Raises TransitionError when the case's state does not allow the trigger. The case row
    and its ``case_transition`` audit event are written in the caller's transaction.
    """
    spec = spec_of_case(case.kind, stages_of(session, case.cycle_id))
    ref = CaseRef(case.id, case.employee_id, case.kind, case.state, case.flagged, case.decision_id)
    moves = Moves(case.cycle_id)
    flagged = kwargs.pop("flagged", KEEP)
    moves.fire(spec, ref, trigger_name, reason=reason, flagged=flagged, **kwargs)
    session.flush()
    moves.write(session, now, actor)
    session.expire(case)
    return ref.state
