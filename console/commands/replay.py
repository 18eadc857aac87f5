"""``promoflow cycle replay CYCLE``: recompute a cycle's decisions from what was recorded.

Lives in its own module (the ``cycle`` group belongs to the workflow commands) and adds
``replay`` to that group. Exit 0 when every decision comes out as recorded, 1 otherwise.
"""

from __future__ import annotations

import json

import typer
from rich.table import Table

from promoflow.console.commands._context import console, runtime
from promoflow.engine.cycles.replay import replay_cycle


def group_of(app: typer.Typer, name: str, help_text: str) -> typer.Typer:
    """The sub-app ``name`` another module registered, or a new one."""
    for info in app.registered_groups:
        if info.name == name and info.typer_instance is not None:
            return info.typer_instance
    group = typer.Typer(help=help_text, no_args_is_help=True)
    app.add_typer(group, name=name)
    return group


def register(app: typer.Typer) -> None:
    """Add ``cycle replay``."""
    group = group_of(app, "cycle", "Run a cycle by hand and see where it stands.")

    @group.command("replay")
    def replay(
        ctx: typer.Context,
        cycle: str = typer.Argument(..., help="Cycle id, e.g. sales-2026Q3."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    ) -> None:
        """Recompute every decision from its recorded facts and pack version; show any
        difference (exit 1 when there is one)."""
        rt = runtime(ctx)
        with rt.unit_of_work() as session:
            report = replay_cycle(session, cycle)
        if as_json:
            print(
                json.dumps(
                    {
                        "cycle": report.cycle_id,
                        "pack_versions": report.pack_versions,
                        "decisions": report.decisions,
                        "differences": [d.as_dict() for d in report.differences],
                    },
                    ensure_ascii=False,
                )
            )
        elif report.ok:
            console.print(
                f"[green]{report.cycle_id}: no difference[/] — {report.decisions} decisions "
                f"recomputed from their recorded facts with pack "
                f"{', '.join(v[:12] for v in report.pack_versions) or '—'}",
                highlight=False,
            )
        else:
            table = Table(title=f"{report.cycle_id}: {len(report.differences)} differences")
            for name in ("employee", "field", "recorded", "now", "where"):
                table.add_column(name)
            for d in report.differences:
                where = (
                    "recomputed from recorded facts"
                    if d.source == "replay"
                    else "trail event vs decisions table"
                )
                table.add_row(d.employee_id, d.field, str(d.recorded), str(d.recomputed), where)
            console.print(table)
        if not report.ok:
            raise typer.Exit(1)
