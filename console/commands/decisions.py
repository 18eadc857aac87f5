"""``promoflow decisions CYCLE --format json|csv``: one line per evaluated employee.

The shape is fixed by INTERCHANGE.md: JSON prints one object per line with exactly the
keys of :data:`promoflow.engine.cycles.service.EXPORT_KEYS` (plus ``overrides`` on a line HR
overruled); CSV has those columns, reasons joined by `` | ``, and one extra last column,
``overrides``, that describes HR's overrides beside the rule's decision.
"""

from __future__ import annotations

import csv
import io
import json

import typer

from promoflow.console.commands._context import runtime
from promoflow.engine.cycles.service import EXPORT_KEYS, decisions_export
from promoflow.errors import ConfigError


def describe_override(o: dict) -> str:
    """One override as a CSV cell: ``#3 block_promotion approved (olivia, mia): reason``."""
    people = ", ".join(p for p in (o.get("proposed_by"), o.get("decided_by")) if p)
    grade = (o.get("effect") or {}).get("to_grade")
    target = f" → {grade}" if grade else ""
    return f"#{o['id']} {o['kind']}{target} {o['status']} ({people}): {o['reason']}"


def render(rows: list[dict], fmt: str) -> str:
    """The export text in ``json`` (JSON lines) or ``csv``."""
    if fmt == "json":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow((*EXPORT_KEYS, "overrides"))
        for r in rows:
            cells = []
            for key in EXPORT_KEYS:
                value = r[key]
                if key == "reasons":
                    value = " | ".join(value)
                elif isinstance(value, bool):
                    value = "true" if value else "false"
                elif value is None:
                    value = ""
                cells.append(value)
            cells.append(" | ".join(describe_override(o) for o in r.get("overrides", [])))
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
