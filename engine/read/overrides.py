"""Read-side views of HR overrides for the console and the API: rows as pages show them.

The queries are the overrides service's own (:func:`~promoflow.engine.overrides.service.
list_overrides`); this module only shapes each override for display and JSON.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from promoflow.engine.overrides.query import list_overrides
from promoflow.engine.storage.models import Override

#: rows of the approval queue shown at once
QUEUE_LIMIT = 200
#: rows of one API listing
LIST_LIMIT = 1000


def override_row(o: Override) -> dict[str, Any]:
    """One override as the console and the API show it."""
    return {
        "id": o.id,
        "cycle_id": o.cycle_id,
        "employee_id": o.employee_id,
        "kind": o.kind,
        "params": o.params,
        "reason": o.reason,
        "status": o.status,
        "changes_grade": o.changes_grade,
        "rule_decision": o.rule_decision,
        "effect": o.effect,
        "proposed_by": o.proposed_by,
        "proposed_at": o.proposed_at,
        "decided_by": o.decided_by,
        "decided_at": o.decided_at,
        "decision_note": o.decision_note,
    }


def case_overrides(session: Session, cycle_id: str, employee_id: str) -> list[dict[str, Any]]:
    """Every override of one case, oldest first."""
    rows = list_overrides(session, cycle_id, employee_id=employee_id)
    return [override_row(o) for o in rows]


def pending_overrides(session: Session, limit: int = QUEUE_LIMIT) -> list[dict[str, Any]]:
    """Overrides waiting for a decision, oldest first."""
    return [override_row(o) for o in list_overrides(session, status="proposed", limit=limit)]


def find_overrides(
    session: Session, status: str = "proposed", cycle_id: str | None = None
) -> list[dict[str, Any]]:
    """Overrides of one status (``all``: any) and optionally one cycle, oldest first."""
    if status == "proposed" and cycle_id is None:
        return pending_overrides(session)
    if not status:
        return []  # no override has an empty status
    wanted = None if status == "all" else status
    rows = list_overrides(session, cycle_id or None, wanted, limit=LIST_LIMIT)
    return [override_row(o) for o in rows]


def pending_count(session: Session) -> int:
    """How many overrides wait for a second person (the dashboard's badge)."""
    query = select(func.count()).select_from(Override).where(Override.status == "proposed")
    return session.scalar(query) or 0
