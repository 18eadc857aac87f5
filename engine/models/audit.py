"""The append-only audit trail: every change, who made it, and a hash chain over them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from promoflow.engine.models.base import Base


class AuditEvent(Base):
    """One thing that happened. ``hash`` covers every field and ``prev_hash``."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_employee", "employee_id"),
        Index("ix_audit_events_cycle", "cycle_id"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
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
    hash: Mapped[str] = mapped_column(String(64), unique=True)
