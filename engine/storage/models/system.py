"""Installation-wide settings kept in the database (go-live time, …)."""

from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from promoflow.engine.storage.models.base import Base


class SystemSetting(Base):
    """One named setting; values are text (times in ISO 8601 with their offset)."""

    __tablename__ = "system_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
