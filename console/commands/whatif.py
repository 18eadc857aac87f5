"""``promoflow rules whatif PACK_FILE --cycle CYCLE``: a proposed pack against a past cycle.

Adds ``whatif`` to the ``rules`` group (owned by the rules commands). Reads only: the
proposed pack is parsed from the file, never stored, and no decision changes.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from promoflow.console.commands._context import console, runtime
from promoflow.console.commands.replay import group_of
from promoflow.engine.cycles.whatif import what_if
from promoflow.rules.packs import load_pack_file


def register(app: typer.Typer) -> None:
    """Add ``rules whatif``."""
    group = group_of(app, "rules", "Rule packs: check a file, show a track's rules.")

    @group.command("whatif")
    def whatif(
        ctx: typer.Context,
        pack_file: Path = typer.Argument(..., help="The proposed rule pack (YAML)."),
        cycle: str = typer.Option(..., "--cycle", help="A past cycle, e.g. sales-2026Q3."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
        lang: str = typer.Option("en", "--lang", help="Language of the reasons: en or zh."),
    ) -> None:
        """Who would move differently under PACK_FILE, per grade and per person, and why."""
        pack = load_pack_file(pack_file)
        rt = runtime(ctx)
        with rt.unit_of_work() as session:
            report = what_if(session, pack, cycle)
        if as_json:
            print(json.dumps(report.as_dict(), ensure_ascii=False))
            return
        console.print(
            f"{report.cycle_id}: {report.evaluated} decisions re-evaluated with "
            f"{pack_file.name} ({report.proposed_version[:12]}); "
            f"[bold]{len(report.changes)}[/] would change",
            highlight=False,
        )
        grades = Table(title="per grade")
        for name in ("grade", "evaluated", "changed", "moves"):
            grades.add_column(name)
        for grade, row in report.per_grade.items():
            moves = "; ".join(f"{k}: {v}" for k, v in row.get("moves", {}).items())
            grades.add_row(grade, str(row["evaluated"]), str(row["changed"]), moves)
        console.print(grades)
        if report.changes:
            people = Table(title="per person")
            for name in ("employee", "grade", "recorded", "proposed", "why"):
                people.add_column(name, overflow="fold")
            for c in report.changes:
                reasons = c.reasons_zh if lang == "zh" else c.reasons_en
                people.add_row(
                    c.employee_id,
                    c.grade,
                    f"{c.recorded['outcome']} {c.recorded['to_grade']}",
                    f"{c.proposed['outcome']} {c.proposed['to_grade']}",
                    "; ".join(reasons),
                )
            console.print(people)
        if report.not_evaluated:
            console.print(
                f"not evaluated by the proposed pack (grade outside it): "
                f"{', '.join(report.not_evaluated)}",
                highlight=False,
            )
