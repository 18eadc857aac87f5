"""``promoflow import employees|metrics|vacancies|results FILE`` (INTERCHANGE.md).

Parses the arguments, runs the import service in one transaction, and prints what changed.
A bad file raises InputError: the CLI lists every bad row and exits 2, and nothing is written.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from promoflow.console.commands._context import console, parse_time, runtime
from promoflow.engine.imports import IMPORTERS, ImportReport, run_import


def import_with_progress(rt, kind: str, path: Path, now, actor: str) -> ImportReport:
    """Run one import in its own transaction, with a progress bar when stdout is a terminal."""
    if not console.is_terminal:
        with rt.unit_of_work() as session:
            return run_import(session, kind, path, now, actor)
    columns = (
        TextColumn(f"importing {path.name}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("import", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        with rt.unit_of_work() as session:
            return run_import(session, kind, path, now, actor, progress=advance)


def describe(report: ImportReport) -> str:
    """One line saying what an import did (the same words for every kind)."""
    details = ", ".join(f"{v} {k}" for k, v in report.details.items() if v)
    extra = f" ({details})" if details else ""
    return (
        f"imported {report.kind} from {report.file}: {report.rows} rows, "
        f"{report.changed} changed{extra}; import #{report.import_id}"
    )


def register(app: typer.Typer) -> None:
    """Add ``import KIND FILE``."""

    @app.command("import")
    def import_(
        ctx: typer.Context,
        kind: str = typer.Argument(..., metavar="|".join(IMPORTERS), help="What the file holds."),
        file: Path = typer.Argument(..., metavar="FILE", help="A .csv (UTF-8) or .xlsx file."),
        now: str | None = typer.Option(
            None, "--now", metavar="T", help="Record the import at this time (default: now)."
        ),
    ) -> None:
        """Import a CSV or XLSX file; any bad row refuses the whole file (exit 2)."""
        rt = runtime(ctx)
        report = import_with_progress(rt, kind, file, parse_time(now, rt), rt.actor)
        console.print(describe(report), highlight=False)
