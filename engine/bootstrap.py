"""Wires promoflow from configuration: one place builds the engine and session factory.

Entry points (CLI, web, scheduler) call :func:`bootstrap` once and pass the result to
services; nothing is built at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from promoflow import settings
from promoflow.engine.db import make_engine, session_factory


@dataclass
class Runtime:
    """What every service needs: the database, and the organisation's time zone."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    tz: ZoneInfo
    actor: str = "system"
    extras: dict = field(default_factory=dict)

    def now(self) -> datetime:
        """The current time, aware, in the organisation's zone (entry points only)."""
        return datetime.now(self.tz)


def bootstrap(url: str | None = None, actor: str = "system") -> Runtime:
    """Build the runtime for a database URL (resolved as INTERCHANGE.md says)."""
    resolved = settings.database_url(url)
    engine = make_engine(resolved)
    return Runtime(
        url=resolved,
        engine=engine,
        sessions=session_factory(engine),
        tz=settings.timezone(),
        actor=actor,
    )
