"""``promoflow init [--start T]``: create or upgrade the schema and load the bundled packs."""

from __future__ import annotations

import typer

from promoflow.console.commands._context import console, parse_time, runtime
from promoflow.engine.setup import initialise


def register(app: typer.Typer) -> None:
    """Add ``init``."""

    @app.command("init")
    def init(
        ctx: typer.Context,
        start: str | None = typer.Option(
            None, "--start", metavar="T", help="Go-live time; milestones after it are fired."
        ),
    ) -> None:
        """Create or upgrade the schema, record go-live, load the bundled rule packs."""
        rt = runtime(ctx)
        result = initialise(rt, parse_time(start, rt))
        console.print(f"[green]schema ready[/] at {rt.url}; go-live {result['go_live']}")
