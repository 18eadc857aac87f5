"""Shared helpers for command modules: the runtime from the global options, output consoles."""

from __future__ import annotations

from datetime import datetime

import typer
from rich.console import Console

from promoflow.engine.bootstrap import Runtime, bootstrap
from promoflow.errors import ConfigError

console = Console()


def runtime(ctx: typer.Context) -> Runtime:
    """The runtime for this invocation, built once from ``--db`` and ``--actor``."""
    root = ctx.find_root()
    obj = root.obj or {}
    if "runtime" not in obj:
        obj["runtime"] = bootstrap(obj.get("db"), actor=obj.get("actor", "system"))
        root.obj = obj
    return obj["runtime"]


def parse_time(value: str | None, rt: Runtime) -> datetime:
    """An ISO time from the command line; a time without zone is in the organisation's zone."""
    if value is None:
        return rt.now()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"bad time {value!r}: use ISO 8601, e.g. 2026-10-08T10:00+08:00") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=rt.tz)
    return parsed
