"""Every rule pack version ever loaded, by content hash, so old decisions can be replayed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from promoflow.engine.storage.models.base import Base


class PackVersion(Base):
    """The exact text of one version of one rule pack."""

    __tablename__ = "pack_versions"
    __table_args__ = (UniqueConstraint("pack_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    pack_id: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(64))  # sha256 of the text
    source: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    loaded_at: Mapped[datetime]
