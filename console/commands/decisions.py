"""``promoflow decisions CYCLE --format json|csv``: one line per evaluated employee.

The shape is fixed by INTERCHANGE.md: JSON prints one object per line with exactly the
keys of :data:`promoflow.engine.cycles.service.EXPORT_KEYS`; CSV has those columns, with
reasons and override ids joined by `` | `` and every cell escaped by
:func:`~promoflow.csvcell.csv_cell`, so a spreadsheet runs nothing. ``outcome``/``to_grade``
are the cycle's one outcome (:mod:`promoflow.workflow.outcome`), the rules' own verdict
beside them.
"""

from __future__ import annotations

import csv
import io
import json

import typer

from promoflow.console.commands._context import runtime
from promoflow.csvcell import csv_cell
from promoflow.engine.cycles.service import EXPORT_KEYS, decisions_export
from promoflow.errors import ConfigError


def render(rows: list[dict], fmt: str) -> str:
    """The export text in ``json`` (JSON lines) or ``csv``."""
    if fmt == "json":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(EXPORT_KEYS)
        for r in rows:
            cells = []
            for key in EXPORT_KEYS:
                value = r[key]
                if key in ("reasons", "overrides"):
                    value = " | ".join(map(str, value))
                elif isinstance(value, bool):
                    value = "true" if value else "false"
                cells.append(csv_cell(value))
            writer.writerow(cells)
        return out.getvalue()
    raise ConfigError(f"unknown format {fmt!r}: use json or csv")


def register(app: typer.Typer) -> None:
    """Add ``decisions``."""

    @app.command("decisions")
    def decisions(
        ctx: typer.Context,
        cycle: str = typer.Argument(..., metavar="CYCLE", help="e.g. sales-2026Q3"),
        fmt: str = typer.Option("json", "--format", metavar="json|csv"),
        lang: str = typer.Option("en", "--lang", metavar="en|zh", help="Language of reasons."),
    ) -> None:
        """Print every decision of a cycle with its case state (INTERCHANGE.md shape)."""
        rt = runtime(ctx)
        with rt.unit_of_work() as session:
            rows = decisions_export(session, cycle, lang=lang)
        typer.echo(render(rows, fmt), nl=False)
