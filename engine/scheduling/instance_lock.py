"""One scheduler service per SQLite database: an exclusive lock on a file beside it.

SQLite serialises writers but cannot share the firing lock between services the way a
PostgreSQL advisory lock does, so a second service on the same file refuses to start.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from sqlalchemy import make_url

from promoflow.errors import PromoflowError


class SchedulerBusy(PromoflowError):
    """Another scheduler already runs against this SQLite database."""

    exit_code = 1


def lock_path(url: str) -> Path | None:
    """``<database file>.scheduler.lock`` for a SQLite file; None for PostgreSQL or memory."""
    parsed = make_url(url)
    database = parsed.database if parsed.get_backend_name() == "sqlite" else None
    return Path(f"{database}.scheduler.lock") if database not in (None, "", ":memory:") else None


class InstanceLock:
    """One scheduler per SQLite database: an exclusive, non-blocking lock on a file beside it.

    The operating system drops the lock when the process ends, however it ends, so a
    crashed scheduler never blocks the next one. PostgreSQL needs no such lock.
    """

    def __init__(self, url: str):
        self.path = lock_path(url)
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`SchedulerBusy` naming the process that holds it."""
        if self.path is None:
            return
        handle = open(self.path, "a+")  # noqa: SIM115 - held open while the service runs
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise SchedulerBusy(
                f"another scheduler is already running against this SQLite database "
                f"({holder} holds {self.path}); SQLite allows one scheduler — stop it first, "
                f"or use PostgreSQL to run several"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        """Give the lock up (also happens when the process exits)."""
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
