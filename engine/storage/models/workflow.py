"""Workflow tables: the milestones each cycle has run, and the notices outbox.

The outbox is how notices leave the system at least once and never twice: a notice is
written in the same transaction as the case move that caused it, keyed by an idempotency
key (cycle, employee, kind), and the mailer marks it ``sent`` only after the SMTP server
accepted it; a ``sent`` notice is never picked up again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from promoflow.engine.storage.models.base import Base


class CycleMilestone(Base):
    """One milestone that completed for one cycle: when, by whom, and what it did."""

    __tablename__ = "cycle_milestones"
    __table_args__ = (UniqueConstraint("cycle_id", "milestone"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.cycle_id"))
    milestone: Mapped[str] = mapped_column(String(32))
    ran_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    #: counts of moves by trigger, notices queued, flags raised
    summary: Mapped[dict[str, Any]]


class Notice(Base):
    """A rendered notice waiting in (or delivered from) the outbox."""

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        Index("ix_notices_state", "state"),
        Index("ix_notices_cycle", "cycle_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    #: ``{cycle_id}:{employee_id}:{kind}`` — one notice of a kind per case, ever
    idempotency_key: Mapped[str] = mapped_column(String(200))
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.cycle_id"))
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.employee_id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    #: test | interview | promotion | demotion | probation | dismissal_review | rating
    kind: Mapped[str] = mapped_column(String(32))
    lang: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    #: the values the template was rendered with (time and place of an interview, …)
    params: Mapped[dict[str, Any]]
    #: pending | sent | failed (failed ones are retried; sent ones never again)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
