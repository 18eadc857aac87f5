"""Employees, their grade history, and the vacancies of each org unit."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from promoflow.engine.storage.models.base import Base


class Employee(Base):
    """One member of staff on one track; ``grade`` is the grade held now."""

    __tablename__ = "employees"

    employee_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    track: Mapped[str] = mapped_column(String(32), index=True)
    grade: Mapped[str] = mapped_column(String(64))
    grade_since: Mapped[date]
    hire_date: Mapped[date | None]
    org_unit: Mapped[str | None] = mapped_column(String(100))
    position: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime]


class GradeHistory(Base):
    """Who held which grade from when, and why: one row per change, never rewritten."""

    __tablename__ = "grade_history"
    __table_args__ = (Index("ix_grade_history_employee_from", "employee_id", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.employee_id"))
    track: Mapped[str] = mapped_column(String(32))
    grade: Mapped[str] = mapped_column(String(64))
    previous_grade: Mapped[str | None] = mapped_column(String(64))
    effective_from: Mapped[date]
    #: ``import``, ``entry_grading``, ``cycle``, ``override``
    source: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    cycle_id: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[datetime]


class Vacancy(Base):
    """Open headcount for a position in an org unit (needed to move up a position)."""

    __tablename__ = "vacancies"
    __table_args__ = (UniqueConstraint("org_unit", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    org_unit: Mapped[str] = mapped_column(String(100))
    position: Mapped[str] = mapped_column(String(100))
    open: Mapped[int]
    updated_at: Mapped[datetime]
