"""Writing the audit trail: append-only events, each hashing the one before.

Every service records what it changed with :func:`record` (or :func:`record_many` for
bulk work such as 100k decisions) inside the same transaction as the change itself, so a
change and its audit event land together or not at all.

The chain is extended under a lock, so two writers can never both continue from the same
tail: on PostgreSQL a transaction-scoped advisory lock, on SQLite the database write lock
(taken by a no-op write before the tail is read). Both are held until the transaction
ends, so appends of concurrent transactions are serialised in commit order. The head of
the chain (last sequence number and hash, HMAC-signed when an audit key is configured) is
kept in ``audit_head`` and moved in the same transaction, so events cut off the tail are
caught by :func:`promoflow.engine.audit_verify.verify_chain`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from promoflow.engine.models.audit import AuditEvent, AuditHead
from promoflow.errors import ConfigError, IntegrityError_

GENESIS = "0" * 64
#: advisory-lock id that guards the chain on PostgreSQL ("promo" in ASCII)
CHAIN_LOCK_ID = 0x70726F6D6F
HEAD_ID = 1
KEY_ENV = "PROMOFLOW_AUDIT_KEY"
KEY_FILE_ENV = "PROMOFLOW_AUDIT_KEY_FILE"

_EVENTS = AuditEvent.__table__
_HEAD = AuditHead.__table__


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
    """A JSON value that reads back equal to itself, so the stored event re-hashes the same."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} in an audit event: use aware datetimes")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, Enum):
        return _jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_jsonable(v) for v in value), key=str)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def canonical(row: Mapping[str, Any]) -> bytes:
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


def event_hash(row: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical form of one event."""
    return hashlib.sha256(canonical(row)).hexdigest()


def audit_key() -> bytes | None:
    """The key that signs the head: ``PROMOFLOW_AUDIT_KEY``, else the file in
    ``PROMOFLOW_AUDIT_KEY_FILE``; None when neither is set (head kept unsigned)."""
    value = os.environ.get(KEY_ENV)
    if value:
        return value.encode()
    path = os.environ.get(KEY_FILE_ENV)
    if path:
        try:
            data = Path(path).read_bytes().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the audit key file {path!r}: {exc}") from exc
        if not data:
            raise ConfigError(f"the audit key file {path!r} is empty")
        return data
    return None


def head_mac(seq: int, head_hash: str, key: bytes | None) -> str | None:
    """HMAC-SHA256 of the head under ``key`` (None without a key)."""
    if key is None:
        return None
    return hmac.new(key, f"{seq}:{head_hash}".encode(), hashlib.sha256).hexdigest()


def lock_chain(session: Session) -> None:
    """Take the chain's lock for the rest of this transaction (see the module docstring)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": CHAIN_LOCK_ID})
    elif dialect == "sqlite":
        # a write as the transaction's first statement waits (busy timeout) for the lock
        session.execute(update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(seq=_HEAD.c.seq))


def chain_head(session: Session) -> tuple[int, str, bool]:
    """(last seq, last hash, head row exists) as recorded in ``audit_head``."""
    head = session.execute(select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == HEAD_ID)).first()
    if head is not None:
        return head.seq, head.hash, True
    stored = session.execute(select(_EVENTS.c.seq).limit(1)).first()
    if stored is not None:
        raise IntegrityError_(
            "the audit head is missing although events exist: the trail was tampered with; "
            "run `promoflow audit verify`"
        )
    return 0, GENESIS, False


def _check(event: Event) -> None:
    if not isinstance(event.kind, str) or not event.kind or len(event.kind) > 64:
        raise ValueError(f"audit event kind must be a short non-empty string, not {event.kind!r}")
    if not isinstance(event.actor, str) or not event.actor.strip() or len(event.actor) > 100:
        raise ValueError(f"audit event actor must be a non-empty name, not {event.actor!r}")
    if not isinstance(event.at, datetime) or event.at.tzinfo is None:
        raise ValueError(f"audit event time must be an aware datetime, not {event.at!r}")


def record_many(session: Session, events: Iterable[Event]) -> int:
    """Append events to the chain in one bulk statement; returns how many were written.

    Runs inside the caller's transaction (the caller commits); the chain stays locked
    until that transaction ends.
    """
    pending = list(events)
    if not pending:
        return 0
    for event in pending:
        _check(event)
    lock_chain(session)
    seq, prev, has_head = chain_head(session)
    rows = []
    for event in pending:
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
    session.execute(insert(_EVENTS), rows)
    values = {
        "seq": seq,
        "hash": prev,
        "mac": head_mac(seq, prev, audit_key()),
        "updated_at": rows[-1]["at"],
    }
    if has_head:
        session.execute(update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(**values))
    else:
        session.execute(insert(_HEAD).values(id=HEAD_ID, **values))
    return len(rows)


def record(session: Session, kind: str, actor: str, at: datetime, **fields: Any) -> int:
    """Append one event (see :class:`Event` for the fields); returns its sequence number."""
    record_many(session, [Event(kind=kind, actor=actor, at=at, **fields)])
    return chain_head(session)[0]
