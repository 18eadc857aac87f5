"""Milestone firings: the scheduler's record of what it fired, so each fires exactly once.

One row per (track, period, milestone). A row is written when a firing succeeds
(``status = fired``) or fails (``status = failed``, with the error and when to retry); the
unique key is the last line of defence against a double firing. (APScheduler keeps its
jobs in each service's memory: migration 0003 dropped the ``apscheduler_jobs`` table.)
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from promoflow.engine.storage.models.base import Base

FIRED = "fired"
FAILED = "failed"


class MilestoneFiring(Base):
    """The firing of one milestone of one cycle: fired once, or failed and waiting to retry."""

    __tablename__ = "milestone_firings"
    __table_args__ = (UniqueConstraint("track", "period_id", "milestone"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    track: Mapped[str] = mapped_column(String(32))
    period_id: Mapped[str] = mapped_column(String(16))
    milestone: Mapped[str] = mapped_column(String(32))
    cycle_id: Mapped[str] = mapped_column(String(64), index=True)
    #: when the calendar said it should fire
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), index=True)  # fired | failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_retry_at: Mapped[datetime | None]
    fired_at: Mapped[datetime | None]
    #: who fired it: ``scheduler`` plus host and process id
    fired_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime]
