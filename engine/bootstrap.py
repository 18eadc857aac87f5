"""Wires promoflow from configuration: one place builds the engine and session factory.

Entry points (CLI, web, scheduler) call :func:`bootstrap` once and pass the result to
services; nothing is built at import time. Every entry point works through
:meth:`Runtime.unit_of_work`: services flush but never commit, so one action is one
transaction, committed or rolled back in one place.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from promoflow import settings
from promoflow.engine import collector
from promoflow.engine.audit.trail import READ_ONLY_KEY, VIA_KEY
from promoflow.engine.storage.db import make_engine, schema_exists, session_factory
from promoflow.errors import ConfigError
from promoflow.settings import Settings

__all__ = ["Runtime", "Session", "attempt", "bootstrap"]


@dataclass
class Runtime:
    """What every service needs: the database, the organisation's time zone, and the
    settings they were built from."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    tz: ZoneInfo
    actor: str = "system"
    settings: Settings = field(default_factory=settings.current)
    extras: dict = field(default_factory=dict)
    #: how ``actor`` was identified, written on every audit event (``audit_events.via``)
    via: str = "system"

    def __post_init__(self) -> None:
        self.identify(self.actor, self.via)

    def identify(self, actor: str, via: str, *, read_only: bool = False) -> None:
        """Act as ``actor``, identified ``via`` (see :data:`~promoflow.engine.audit.trail.VIAS`):
        every session made from now on carries both to the trail; ``read_only`` sessions
        refuse to record an event (a change without the token a deployment requires)."""
        self.actor, self.via = actor, via
        self.sessions.configure(info={VIA_KEY: via, READ_ONLY_KEY: read_only})

    def now(self) -> datetime:
        """The current time, aware, in the organisation's zone (entry points only)."""
        return datetime.now(self.tz)

    def schema_ready(self) -> bool:
        """Whether ``promoflow init`` has set up this database (commands that only read
        say so plainly instead of failing on a missing table)."""
        return schema_exists(self.engine)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One action's transaction: committed when the block ends, rolled back if it raises.

        The one place entry points commit: a command, a request or a scheduler firing
        calls its services inside this block and never commits or rolls back by hand.
        """
        try:
            with self.sessions() as session, session.begin():
                yield session
        except DBAPIError as exc:
            # a missing table is a database never set up, not a bug: say what to do
            if not schema_exists(self.engine):
                raise ConfigError(
                    f"no promoflow schema at {self.url}: run `promoflow init` first"
                ) from exc
            raise


@contextmanager
def attempt(session: Session) -> Iterator[Session]:
    """A part of a unit of work that is undone on its own when it raises (a savepoint).

    For an entry point that reports a refused action and goes on in the same unit of work
    (a form shown again with the reason): what the refused action wrote is gone, what was
    read or written before it stays. The exception is raised again for the caller.
    """
    with session.begin_nested():
        yield session


def bootstrap(url: str | None = None, actor: str = "system", via: str = "system") -> Runtime:
    """Build the runtime for a database URL (resolved as INTERCHANGE.md says), from the
    ``PROMOFLOW_*`` settings read once here."""
    config = settings.load()
    resolved = config.database_url_for(url)
    collector.relax()
    engine = make_engine(resolved, config=config)
    return Runtime(
        url=resolved,
        engine=engine,
        sessions=session_factory(engine),
        tz=config.timezone,
        actor=actor,
        settings=config,
        via=via,
    )
