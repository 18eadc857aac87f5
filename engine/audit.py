"""Writing the audit trail: append-only events, each hashing the one before.

Every service records what it changed with :func:`record` (or :func:`record_many` for
bulk work such as 100k decisions) inside the same transaction as the change itself, so a
change and its audit event land together or not at all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from promoflow.engine.models.audit import AuditEvent

GENESIS = "0" * 64


@dataclass
class Event:
    """An audit event before it is chained: what happened, to whom, and why."""

    kind: str
    actor: str
    at: datetime
    subject: str | None = None
    employee_id: str | None = None
    cycle_id: str | None = None
    case_id: int | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def canonical(row: dict[str, Any]) -> bytes:
    """The bytes an event's hash covers: every stored field but the hash, in fixed order."""
    fields = {
        "seq": row["seq"],
        "at": _jsonable(row["at"]),
        "actor": row["actor"],
        "kind": row["kind"],
        "subject": row["subject"],
        "employee_id": row["employee_id"],
        "cycle_id": row["cycle_id"],
        "case_id": row["case_id"],
        "before": _jsonable(row["before"]),
        "after": _jsonable(row["after"]),
        "reason": row["reason"],
        "prev_hash": row["prev_hash"],
    }
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def event_hash(row: dict[str, Any]) -> str:
    """SHA-256 of the canonical form of one event."""
    return hashlib.sha256(canonical(row)).hexdigest()


def _tail(session: Session) -> tuple[int, str]:
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    return (last.seq, last.hash) if last else (0, GENESIS)


def record_many(session: Session, events: Iterable[Event]) -> int:
    """Append events to the chain in one bulk statement; returns how many were written."""
    seq, prev = _tail(session)
    rows = []
    for event in events:
        seq += 1
        after = {**(event.after or {}), **event.extra} if event.extra else event.after
        row = {
            "seq": seq,
            "at": event.at.astimezone(UTC),
            "actor": event.actor,
            "kind": event.kind,
            "subject": event.subject,
            "employee_id": event.employee_id,
            "cycle_id": event.cycle_id,
            "case_id": event.case_id,
            "before": _jsonable(event.before),
            "after": _jsonable(after),
            "reason": event.reason,
            "prev_hash": prev,
        }
        row["hash"] = prev = event_hash(row)
        rows.append(row)
    if rows:
        session.execute(insert(AuditEvent), rows)
    return len(rows)


def record(session: Session, kind: str, actor: str, at: datetime, **fields: Any) -> None:
    """Append one event (see :class:`Event` for the fields)."""
    record_many(session, [Event(kind=kind, actor=actor, at=at, **fields)])
