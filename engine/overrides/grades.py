"""Carrying out the grade an approved override decided: the employee's grade, its history
row and the audit event, in the caller's transaction.

Apart from the service because the cycle's ``effective`` step also calls it, for the
overrides that waited for the cycle's effective date.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from promoflow.engine.audit.trail import Event, record_many
from promoflow.engine.notices.outbox import Outgoing, queue
from promoflow.engine.storage.models import Employee, GradeHistory
from promoflow.engine.storage.models.overrides import Override


def why_of(o: Override) -> str:
    """The reason a grade change by override gives, naming both people."""
    return f"override #{o.id} ({o.kind}) by {o.proposed_by}, approved by {o.decided_by}: {o.reason}"


def override_event(o: Override, kind: str, actor: str, now: datetime, **fields) -> Event:
    """An audit event about what an override did to its employee (subject ``override:ID``)."""
    return Event(
        kind=kind,
        actor=actor,
        at=now,
        subject=f"override:{o.id}",
        employee_id=o.employee_id,
        cycle_id=o.cycle_id,
        case_id=o.case_id,
        **fields,
    )


def notify_decision(
    session: Session, o: Override, kind: str, now: datetime, actor: str, **params: str
) -> None:
    """Queue the notice an HR decision calls for (``hr_grade``, ``retained``,
    ``dismissed``), its reason quoted."""
    employee = session.get(Employee, o.employee_id)
    values = {
        "cycle_id": o.cycle_id,
        "employee_id": o.employee_id,
        "name": employee.name if employee else o.employee_id,
        "from_grade": employee.grade if employee else "",
        "to_grade": employee.grade if employee else "",
        "effective_on": "",
        "reasons": [o.reason],
        **params,
    }
    queue(session, [Outgoing(o.cycle_id, o.employee_id, o.case_id, kind, values)], now, actor)


def apply_grade(
    session: Session, o: Override, since: date, now: datetime, actor: str, why: str
) -> None:
    """Record the grade the override decided, from ``since``, with its history and event."""
    employee = session.get(Employee, o.employee_id)
    target = o.effect["to_grade"]
    before = employee.grade
    o.effect = {**o.effect, "applied_grade": target, "effective_from": since.isoformat()}
    if target == before:
        # e.g. a promotion blocked before it took effect: nothing to change now; the
        # workflow must not carry out the rule's change (see effective_overrides)
        return
    employee.grade, employee.grade_since, employee.updated_at = target, since, now
    session.add(
        GradeHistory(
            employee_id=employee.employee_id,
            track=employee.track,
            grade=target,
            previous_grade=before,
            effective_from=since,
            source="override",
            reason=why,
            cycle_id=o.cycle_id,
            recorded_at=now,
        )
    )
    record_many(
        session,
        [
            override_event(
                o,
                "grade_change",
                actor,
                now,
                before={"grade": before},
                after={"grade": target, "grade_since": since.isoformat(), "override_id": o.id},
                reason=why,
            )
        ],
    )
    if o.cycle_id is not None:
        notify_decision(
            session,
            o,
            "hr_grade",
            now,
            actor,
            from_grade=before,
            to_grade=target,
            effective_on=since.isoformat(),
        )
