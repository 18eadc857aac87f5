"""The ``promoflow`` command: parses arguments, calls one service, renders the result.

Each command group lives in ``console/commands/<group>.py`` and exposes ``register(app)``.
A :class:`~promoflow.errors.PromoflowError` becomes a red message (with every problem
listed) and its exit status; nothing else is caught, so bugs keep their traceback.
"""

from __future__ import annotations

import sys

import click
import typer
from rich.console import Console

from promoflow.console.commands import (
    audit,
    cycle,
    decisions,
    demo,
    imports,
    init,
    override,
    replay,
    rules,
    scheduler,
    serve,
    user,
    whatif,
)
from promoflow.errors import PromoflowError

#: the command groups, in the order ``promoflow --help`` lists them
COMMAND_MODULES = (
    init,
    imports,
    rules,
    cycle,
    decisions,
    scheduler,
    audit,
    override,
    user,
    serve,
    demo,
    replay,
    whatif,
)

app = typer.Typer(
    name="promoflow",
    help="Promotion, demotion and grading cycles from declarative rule packs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)


@app.callback()
def _global_options(
    ctx: typer.Context,
    db: str | None = typer.Option(
        None,
        "--db",
        metavar="URL",
        help="Database URL (default: env PROMOFLOW_DATABASE_URL, else ./promoflow.db).",
    ),
    actor: str = typer.Option(
        "system",
        "--actor",
        envvar="PROMOFLOW_ACTOR",
        help="Who is acting, for the audit trail (asserted, not checked: the trail says "
        "via cli-asserted).",
    ),
    token: str | None = typer.Option(
        None,
        "--token",
        envvar="PROMOFLOW_TOKEN",
        metavar="TOKEN",
        help="Act as this API token's user, authenticated (the trail says via token).",
        show_default=False,
    ),
) -> None:
    source = ctx.get_parameter_source("actor")
    asserted = source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT")
    ctx.obj = {"db": db, "actor": actor, "actor_given": asserted, "token": token or None}


for _module in COMMAND_MODULES:
    _module.register(app)


def report(error: PromoflowError) -> None:
    """Print a promoflow error and each of its problems, for a person to act on."""
    err_console.print(f"[bold red]error:[/] {error}", highlight=False)
    for problem in getattr(error, "problems", []) or []:
        err_console.print(f"  • {problem}", highlight=False, markup=False)


def main() -> None:
    """Console entry point."""
    try:
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:  # typer.Exit(n) returns n without standalone mode
            sys.exit(code)
    except PromoflowError as error:
        report(error)
        sys.exit(error.exit_code)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(1)
    except (click.ClickException, typer.TyperException) as error:
        # a usage error (unknown option, missing argument): Typer's own one-line message;
        # Typer ships its own copy of click, whose exceptions are not click's
        if not hasattr(error, "show"):
            raise
        error.show()
        sys.exit(error.exit_code)
