"""Reading overrides: by cycle, status and employee, and the approved ones that set grades.

Apart from the service so the cycle's steps and the read side can ask without importing
the service (which itself carries decisions out through the cycle's steps).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from promoflow.engine.storage.models import Override


def list_overrides(
    session: Session,
    cycle_id: str | None = None,
    status: str | None = None,
    *,
    employee_id: str | None = None,
    limit: int | None = None,
) -> list[Override]:
    """Overrides, oldest first, optionally of one cycle, status and/or employee (at most
    ``limit``)."""
    query = select(Override).order_by(Override.id)
    if cycle_id:
        query = query.where(Override.cycle_id == cycle_id)
    if status:
        query = query.where(Override.status == status)
    if employee_id:
        query = query.where(Override.employee_id == employee_id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def effective_overrides(session: Session, cycle_id: str) -> dict[str, Override]:
    """The latest approved grade-changing override per employee of a cycle: what the
    workflow should carry out instead of the rule's decision."""
    out: dict[str, Override] = {}
    for o in list_overrides(session, cycle_id, "approved"):
        if o.changes_grade:
            out[o.employee_id] = o
    return out
