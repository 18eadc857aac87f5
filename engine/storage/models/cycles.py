"""Cycles, the decisions the rules made in them, and the cases that carry them out."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from promoflow.engine.storage.models.base import Base


class Cycle(Base):
    """One run of a track's policy over one period, e.g. ``sales-2026Q3``."""

    __tablename__ = "cycles"

    cycle_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    track: Mapped[str] = mapped_column(String(32))
    period_id: Mapped[str] = mapped_column(String(16))
    #: last milestone completed: ``open``, ``test_due``, …, ``announce``; None before opening
    milestone: Mapped[str | None] = mapped_column(String(32))
    pack_id: Mapped[str] = mapped_column(String(32))
    pack_version: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    #: when and where interviews take place (interview notices); None = the default slot
    interview_at: Mapped[datetime | None]
    interview_place: Mapped[str | None] = mapped_column(String(300))


class Decision(Base):
    """What the rules decided for one employee in one cycle, with everything it read."""

    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("cycle_id", "employee_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.cycle_id"))
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.employee_id"))
    outcome: Mapped[str] = mapped_column(String(16))  # promoted|demoted|unchanged|pending
    from_grade: Mapped[str] = mapped_column(String(64))
    to_grade: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str | None] = mapped_column(String(100))
    pack_id: Mapped[str] = mapped_column(String(32))
    pack_version: Mapped[str] = mapped_column(String(64))
    probation: Mapped[bool] = mapped_column(default=False)
    review: Mapped[str | None] = mapped_column(String(32))
    #: facts read, as strings (exact decimals survive JSON)
    facts: Mapped[dict[str, Any]]
    #: thresholds compared, as strings
    thresholds: Mapped[dict[str, Any]]
    reasons_zh: Mapped[list[Any]]
    reasons_en: Mapped[list[Any]]
    missing: Mapped[list[Any]]
    decided_at: Mapped[datetime]


class Case(Base):
    """A decision being carried out: its workflow state is stored, so restarts continue."""

    __tablename__ = "cases"
    # (cycle_id, employee_id) also serves "a cycle's cases": no separate cycle_id index,
    # one index fewer to maintain for every case opened or moved
    __table_args__ = (UniqueConstraint("cycle_id", "employee_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.cycle_id"))
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.employee_id"))
    #: promotion | demotion | probation | elimination | below_standard | evaluation
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32), index=True)
    flagged: Mapped[str | None] = mapped_column(Text)  # why HR must look, if anything
    updated_at: Mapped[datetime]
    #: the decision this case carries out
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    #: when the grade change takes effect (POLICY §1: 1st of the month after announcement)
    effective_on: Mapped[date | None]


class StageResult(Base):
    """A written-test, interview or probation-review result recorded for a case."""

    __tablename__ = "stage_results"
    __table_args__ = (UniqueConstraint("cycle_id", "employee_id", "stage"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.cycle_id"))
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.employee_id"))
    stage: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(100))
    score: Mapped[Decimal | None]
    passed: Mapped[bool | None]
    recorded_at: Mapped[datetime]
