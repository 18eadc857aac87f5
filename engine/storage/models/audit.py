"""The append-only audit trail: every change, who made it, and a hash chain over them.

``audit_events`` holds the chain; ``audit_head`` holds, in a separate one-row table
updated in the same transaction as every append, the sequence number and hash of the
last event (HMAC-signed when an audit key is configured), so cutting events off the
tail is caught by ``promoflow audit verify``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from promoflow.engine.storage.models.base import Base


class AuditEvent(Base):
    """One thing that happened. ``hash`` covers every field and ``prev_hash``.

    Indexed for what is looked up (an employee's, a cycle's, a case's events; events of a
    kind), not for everything: opening a 100k cycle appends ~285k events, and each index is
    a B-tree updated per row. Measured on SQLite, 285k events into a trail of 250k: 9.8 s
    with a unique index on ``hash`` (random keys: every insert lands on a random page),
    ``actor`` and ``at`` indexes and a separate primary-key index; 2.2 s without them and
    with ``seq`` as SQLite's rowid. The chain itself guarantees hashes are unique and
    ordered (``promoflow audit verify``); time filters follow ``seq``, which grows with time.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_employee", "employee_id"),
        Index("ix_audit_events_cycle", "cycle_id"),
        Index("ix_audit_events_case", "case_id"),
    )

    #: the rowid on SQLite (no second B-tree for the key)
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str | None] = mapped_column(String(200))
    employee_id: Mapped[str | None] = mapped_column(String(64))
    cycle_id: Mapped[str | None] = mapped_column(String(64))
    case_id: Mapped[int | None]
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    #: how the actor was identified (``cli-asserted``, ``token``, ``session``, ``password``,
    #: ``system``); hashed when set, NULL (and not hashed) on events from before migration 0004
    via: Mapped[str | None] = mapped_column(String(32))


class AuditHead(Base):
    """Where the chain ends (one row, ``id`` 1): a truncated tail no longer reaches it."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    #: HMAC-SHA256 of ``seq:hash`` under the audit key; None when no key is configured
    mac: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime]
