"""``promoflow demo``: a synthetic org, imported for real, summarised, its cycles run.

The demo works in its own folder (``demo-output/`` by default): a fresh SQLite database,
the generated CSV files, and then exactly what an HR officer would run — ``init`` and the
three imports, through the same services as ``promoflow import``. It never fakes a result:
the cycles run only through the real cycle services.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer
from rich.table import Table

from promoflow.console.commands._context import console
from promoflow.console.commands.cycle import moved_table, run_whole_cycle
from promoflow.console.commands.imports import describe, import_with_progress
from promoflow.demo.synthetic import SyntheticOrg, generate_org
from promoflow.engine.bootstrap import Runtime, bootstrap
from promoflow.engine.read import roster
from promoflow.engine.setup import initialise
from promoflow.rules.packs import bundled_packs

KINDS = ("employees", "metrics", "vacancies")
#: The cycles the demo runs through every milestone, in order.
DEMO_CYCLES = ("sales-{period}", "cs-{period}")
#: Rows of the "who moved" table shown per cycle; the rest are in ``promoflow decisions``.
MOVED_ROWS_SHOWN = 15


def prepare(folder: Path) -> str:
    """A fresh demo folder and the URL of its SQLite database (an earlier run's is removed)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("promoflow.db", "promoflow.db-journal", "promoflow.db-wal", "promoflow.db-shm"):
        (folder / name).unlink(missing_ok=True)
    return f"sqlite:///{(folder / 'promoflow.db').resolve()}"


def run_imports(rt: Runtime, org: SyntheticOrg, folder: Path) -> list:
    """Write the org's CSV files and import each, as ``promoflow import`` would."""
    paths = org.write_csv(folder)
    reports = []
    for kind in KINDS:
        report = import_with_progress(rt, kind, paths[kind], rt.now(), rt.actor)
        console.print(describe(report), highlight=False)
        reports.append(report)
    return reports


def stored_grades(rt: Runtime) -> list[tuple[str, str, int, int]]:
    """(track, grade, employees, entry-graded) from the database, grades low to high."""
    with rt.unit_of_work() as session:
        return roster.stored_grades(session)


def summary_tables(rt: Runtime, org: SyntheticOrg, reports: list) -> list[Table]:
    """Rich tables: what was imported, who is on which grade, which boundaries are covered."""
    imported = Table(title="Imports / 导入")
    for column in ("file", "rows", "changed", "details"):
        imported.add_column(column)
    for r in reports:
        details = ", ".join(f"{v} {k}" for k, v in r.details.items() if v)
        imported.add_row(r.file, str(r.rows), str(r.changed), details)

    grades = Table(title="Employees by track and grade, as stored / 各职级人数（入库）")
    for column in ("track", "grade", "employees", "of them entry-graded"):
        grades.add_column(column)
    for track, grade, count, entry in stored_grades(rt):
        grades.add_row(track, grade, str(count), str(entry) if entry else "")

    cases = Table(title="Data on both sides of the thresholds / 阈值两侧的数据")
    for column in ("track", "profile", "employees"):
        cases.add_column(column)
    tracks = {e["employee_id"]: e["track"] for e in org.employees}
    profiles = Counter((tracks[eid], p) for eid, (_, p) in org.profiles.items())
    for (track, profile), count in sorted(profiles.items()):
        cases.add_row(track, profile, str(count))
    return [imported, grades, cases]


def outcome_table(rows: list[dict], title: str, grades: tuple[str, ...]) -> Table:
    """Outcomes per starting grade (low to high), as counted from the decisions export."""
    counts = Counter((r["from_grade"], r["outcome"]) for r in rows)
    outcomes = ("promoted", "demoted", "unchanged", "pending")
    table = Table(title=title)
    table.add_column("grade")
    for outcome in outcomes:
        table.add_column(outcome, justify="right")
    present = {r["from_grade"] for r in rows}
    for grade in (g for g in grades if g in present):
        table.add_row(grade, *(str(counts.get((grade, o), 0) or "") for o in outcomes))
    return table


def run_cycles(url: str, org: SyntheticOrg, folder: Path) -> None:
    """Run each demo cycle through every milestone with the real services, then summarise."""
    rt = bootstrap(url, actor="demo")
    try:
        for template in DEMO_CYCLES:
            cycle = template.format(period=org.period.id)
            console.rule(f"cycle {cycle}")
            rows = run_whole_cycle(rt, cycle, folder)
            grades = bundled_packs()[cycle.split("-")[0]].grades
            title = f"{cycle}: outcomes per grade / 各职级结果"
            console.print(outcome_table(rows, title, grades))
            moved = [r for r in rows if r["outcome"] != "unchanged" or r["review"]]
            console.print(
                moved_table(moved[:MOVED_ROWS_SHOWN], f"{cycle}: who moved and why / 变动及原因")
            )
            if len(moved) > MOVED_ROWS_SHOWN:
                console.print(
                    f"  … {len(moved) - MOVED_ROWS_SHOWN} more: "
                    f"promoflow --db {url} decisions {cycle} --format csv",
                    highlight=False,
                )
    finally:
        rt.engine.dispose()


def register(app: typer.Typer) -> None:
    """Add ``demo``."""

    @app.command("demo")
    def demo(
        folder: Path = typer.Option(Path("demo-output"), "--folder", help="Where the demo works."),
        employees: int = typer.Option(300, "--employees", min=2, help="Size of the synthetic org."),
        seed: int = typer.Option(
            7, "--seed", help="Seed of the synthetic org (same seed, same org)."
        ),
        period: str = typer.Option("2026Q3", "--period", help="The quarter the cycles evaluate."),
    ) -> None:
        """Generate a synthetic org, import it, and run its cycles when available."""
        url = prepare(folder)
        rt = bootstrap(url, actor="demo")
        try:
            result = initialise(rt, rt.now())
            console.print(f"[green]database ready[/] {url} (go-live {result['go_live']})")
            org = generate_org(employees, ("sales", "cs"), seed=seed, period=period)
            console.print(
                f"generated {len(org.employees)} employees on sales and cs with "
                f"{len(org.metrics)} metric values for {org.previous.id} and {org.period.id}"
            )
            reports = run_imports(rt, org, folder)
            for table in summary_tables(rt, org, reports):
                console.print(table)
        finally:
            rt.engine.dispose()

        run_cycles(url, org, folder)
        first_cycle = DEMO_CYCLES[0].format(period=period)
        console.print(
            f"\nWhere to look next:\n"
            f"  • the files: {folder}/employees.csv, metrics.csv, vacancies.csv\n"
            f"  • the database: {url}\n"
            f"  • try: promoflow --db {url} import metrics {folder}/metrics.csv   (0 changed)\n"
            f"  • the decisions: promoflow --db {url} decisions {first_cycle} --format csv\n"
            f"  • the trail: promoflow --db {url} audit verify\n"
            f"  • docs/getting-started.md, docs/workflow.md and docs/rules.md",
            highlight=False,
        )
