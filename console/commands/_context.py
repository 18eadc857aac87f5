"""Shared helpers for command modules: the runtime from the global options, output consoles."""

from __future__ import annotations

from datetime import datetime

import typer
from rich.console import Console

from promoflow.engine.bootstrap import Runtime, bootstrap
from promoflow.engine.users import accounts as users
from promoflow.errors import AuthenticationRequired, ConfigError

console = Console()

#: commands that change nothing: they run without a token even where one is required
#: (``PROMOFLOW_CLI_REQUIRE_TOKEN``), and their sessions refuse to record an event
READ_ONLY_COMMANDS = frozenset(
    {
        "decisions",
        "audit verify",
        "audit show",
        "audit export",
        "cycle list",
        "cycle status",
        "cycle replay",
        "override list",
        "user list",
        "user tokens",
        "rules check",
        "rules show",
        "rules test",
        "rules whatif",
        "scheduler plan",
        "scheduler status",
    }
)
#: services that identify their own principals: the console authenticates every request,
#: the scheduler acts as the product (``via: system``)
SERVICE_COMMANDS = frozenset({"serve", "scheduler start"})
#: setting up a database that has no user yet: no token can exist, so none is asked for
BOOTSTRAP_COMMANDS = frozenset({"init", "user add"})


def command_name(ctx: typer.Context) -> str:
    """The command as typed after ``promoflow`` and its options: ``user list``."""
    names = []
    while ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(names))


def runtime(ctx: typer.Context) -> Runtime:
    """The runtime for this invocation, built once from ``--db``, ``--actor`` and
    ``--token``: who acts and how they were identified (see :func:`identify`)."""
    root = ctx.find_root()
    obj = root.obj or {}
    if "runtime" not in obj:
        rt = bootstrap(obj.get("db"), actor=obj.get("actor", "system"), via="cli-asserted")
        try:
            identify(rt, obj, command_name(ctx))
        except BaseException:
            rt.engine.dispose()
            raise
        obj["runtime"] = rt
        root.obj = obj
    return obj["runtime"]


def identify(rt: Runtime, obj: dict, command: str) -> None:
    """Who acts in this command. With ``--token`` (or ``PROMOFLOW_TOKEN``) the token's
    user, authenticated (``via: token``); a token that is unknown, expired or revoked is
    refused (exit 2), as is an ``--actor`` naming someone else. Without a token the
    ``--actor`` name as asserted (``via: cli-asserted``) — unless the deployment requires
    a token (``PROMOFLOW_CLI_REQUIRE_TOKEN=1``): then only read-only commands run (and
    cannot write), a setup command runs while the database has no user, and any other
    command is refused (exit 2)."""
    token = obj.get("token")
    if token:
        with rt.unit_of_work() as session:
            user = users.user_for_token(session, token, rt.now(), rt.settings.token_days)
            name = user.username if user is not None else None
        if name is None:
            raise AuthenticationRequired(
                "the token given (--token or PROMOFLOW_TOKEN) is unknown, expired or revoked"
            )
        if obj.get("actor_given") and obj.get("actor") != name:
            raise AuthenticationRequired(
                f"--actor {obj.get('actor')!r} is not the token's user {name!r}: give one of them"
            )
        rt.identify(name, "token")
        return
    if command in SERVICE_COMMANDS or not rt.settings.cli_require_token:
        return
    if command in READ_ONLY_COMMANDS:
        rt.identify(rt.actor, "cli-asserted", read_only=True)
        return
    if command in BOOTSTRAP_COMMANDS and not _has_users(rt):
        return
    raise AuthenticationRequired(
        f"'promoflow {command}' changes data and this deployment requires a token "
        "(PROMOFLOW_CLI_REQUIRE_TOKEN): give --token or set PROMOFLOW_TOKEN"
    )


def _has_users(rt: Runtime) -> bool:
    if not rt.schema_ready():
        return False
    with rt.unit_of_work() as session:
        return users.has_users(session)


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
