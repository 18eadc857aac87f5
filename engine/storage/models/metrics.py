"""Periods, metric values, and the revisions a re-import leaves behind."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from promoflow.engine.storage.models.base import Base


class Period(Base):
    """A month (2026-07), quarter (2026Q3) or half (2026H2), with its first and last day."""

    __tablename__ = "periods"

    period_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # month | quarter | half
    starts: Mapped[date]
    ends: Mapped[date]


class Metric(Base):
    """The current value of one metric of one employee in one period."""

    __tablename__ = "metrics"
    __table_args__ = (UniqueConstraint("employee_id", "period_id", "metric"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.employee_id"))
    period_id: Mapped[str] = mapped_column(ForeignKey("periods.period_id"))
    metric: Mapped[str] = mapped_column(String(32))
    value: Mapped[Decimal]
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"))
    updated_at: Mapped[datetime]


class MetricRevision(Base):
    """An earlier value a re-import replaced: the old value, the new one, and when."""

    __tablename__ = "metric_revisions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    metric_id: Mapped[int] = mapped_column(ForeignKey("metrics.id"), index=True)
    old_value: Mapped[Decimal]
    new_value: Mapped[Decimal]
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"))
    changed_at: Mapped[datetime]


class ImportRun(Base):
    """One accepted import file: what it was, its hash, and how many rows it changed."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # employees | metrics | vacancies | results
    file_name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int]
    changed: Mapped[int]
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]
