"""``promoflow cycle open|advance|status CYCLE`` and ``promoflow notices send``.

Each command parses, calls one service in one transaction, and prints what it did.
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
from pathlib import Path

import typer
from rich.table import Table

from promoflow.console.commands._context import console, parse_time, runtime
from promoflow.csvcell import csv_cell
from promoflow.engine.cycles import service as cycles
from promoflow.engine.cycles import steps
from promoflow.engine.imports import run_import
from promoflow.engine.notices.mailer import deliver
from promoflow.engine.read import queries
from promoflow.errors import ConfigError, InputError
from promoflow.rules.calendar import milestone_time
from promoflow.rules.periods import parse_period
from promoflow.settings import smtp_settings

NOW_HELP = "Act as if it were this time (ISO 8601; default: now)."


def _print_report(report: steps.MilestoneReport) -> None:
    if not report.ran:
        console.print(f"{report.cycle_id}: nothing to do ({report.note})", highlight=False)
        return
    for step in report.steps:
        counts = report.counts.get(step, {})
        detail = ", ".join(f"{k} {v}" for k, v in counts.items()) or "no cases moved"
        console.print(f"{report.cycle_id} {step}: {detail}", highlight=False)


def _deliver_if_configured(rt, now) -> None:
    """After a step commits, mail its notices when SMTP is configured (else they wait)."""
    smtp = rt.settings.smtp()
    if smtp is None:
        return
    report = deliver(rt.sessions, smtp, now, rt.actor)
    console.print(f"notices: sent {len(report.sent)}, failed {len(report.failed)}", highlight=False)


def _status_text(status: dict) -> str:
    lines = [
        f"cycle {status['cycle']} (pack {status['pack_version'][:12]}): "
        + ("closed" if status["closed"] else "open"),
        f"  done: {', '.join(status['steps_done']) or 'nothing yet'}",
        f"  next: {status['next'] or '—'}"
        + (f" due {status['next_due']}" if status["next_due"] else ""),
        "  cases:",
    ]
    for kind, states in sorted(status["cases"].items()):
        parts = ", ".join(f"{state} {n}" for state, n in sorted(states.items()))
        lines.append(f"    {kind}: {parts}")
    lines.append(f"  flagged for HR: {status['flagged']}")
    if status["waiting_on"]:
        lines.append("  waiting on:")
        for who, n in sorted(status["waiting_on"].items()):
            lines.append(f"    {who}: {n}")
    notices = ", ".join(f"{k} {v}" for k, v in sorted(status["notices"].items())) or "none"
    lines.append(f"  notices: {notices}")
    return "\n".join(lines)


FORCE_HELP = "Run it even before its calendar time (the reason goes in the audit trail)."
REASON_HELP = "Why it runs before its calendar time (with --force)."


FORMAT_HELP = "text (default) or json: one object per line."


def _format(output: str) -> str:
    if output not in ("text", "json"):
        raise InputError(f"--format must be text or json, not {output!r}")
    return output


def _forced(force: bool, reason: str | None) -> str | None:
    """The reason a milestone runs early, None when it must keep the calendar."""
    if not force:
        if reason:
            raise InputError("--reason is for --force: the milestone keeps its calendar time")
        return None
    return (reason or "").strip() or "run by hand before its calendar time (--force)"


def register(app: typer.Typer) -> None:
    """Add the ``cycle`` and ``notices`` groups."""
    group = typer.Typer(help="Run a cycle by hand and see where it stands.", no_args_is_help=True)
    notices = typer.Typer(help="Deliver queued notices.", no_args_is_help=True)
    app.add_typer(group, name="cycle")
    app.add_typer(notices, name="notices")

    @group.command("open")
    def open_(
        ctx: typer.Context,
        cycle: str = typer.Argument(..., metavar="CYCLE", help="e.g. sales-2026Q3"),
        now: str | None = typer.Option(None, "--now", metavar="T", help=NOW_HELP),
        force: bool = typer.Option(False, "--force", help=FORCE_HELP),
        reason: str | None = typer.Option(None, "--reason", help=REASON_HELP),
    ) -> None:
        """Open a cycle: decide, open one case per decision, queue test notices."""
        rt = runtime(ctx)
        when = parse_time(now, rt)
        with rt.unit_of_work() as session:
            report = steps.run_by_hand(
                session, cycle, when, rt.actor, "open", _forced(force, reason)
            )
        _print_report(report)
        _deliver_if_configured(rt, when)

    @group.command("advance")
    def advance(
        ctx: typer.Context,
        cycle: str = typer.Argument(..., metavar="CYCLE"),
        now: str | None = typer.Option(None, "--now", metavar="T", help=NOW_HELP),
        force: bool = typer.Option(False, "--force", help=FORCE_HELP),
        reason: str | None = typer.Option(None, "--reason", help=REASON_HELP),
    ) -> None:
        """Run the cycle's next milestone (one transaction; running it again changes nothing)."""
        rt = runtime(ctx)
        when = parse_time(now, rt)
        with rt.unit_of_work() as session:
            report = steps.run_by_hand(session, cycle, when, rt.actor, None, _forced(force, reason))
        _print_report(report)
        _deliver_if_configured(rt, when)

    @group.command("list")
    def list_(
        ctx: typer.Context,
        output: str = typer.Option("text", "--format", metavar="text|json", help=FORMAT_HELP),
    ) -> None:
        """Every cycle and where it stands: its last step, the next and when, closed or not."""
        rt = runtime(ctx)
        with rt.unit_of_work() as session:
            rows = cycles.cycle_statuses(session)
        if _format(output) == "json":
            for row in rows:
                typer.echo(json.dumps(row, ensure_ascii=False, sort_keys=True))
            return
        table = Table("cycle", "steps done", "next", "due", "waiting on", "closed")
        for row in rows:
            waiting = ", ".join(f"{who} {n}" for who, n in sorted(row["waiting_on"].items()))
            table.add_row(
                row["cycle"],
                ", ".join(row["steps_done"]) or "—",
                row["next"] or "—",
                row["next_due"] or "—",
                waiting or "—",
                "yes" if row["closed"] else "no",
            )
        console.print(table)

    @group.command("status")
    def status(
        ctx: typer.Context,
        cycle: str = typer.Argument(..., metavar="CYCLE"),
        output: str = typer.Option("text", "--format", metavar="text|json", help=FORMAT_HELP),
        as_json: bool = typer.Option(False, "--json", hidden=True, help="As --format json."),
    ) -> None:
        """Counts per state, what waits on whom, notices, and whether the cycle is closed."""
        rt = runtime(ctx)
        with rt.unit_of_work() as session:
            data = cycles.cycle_status(session, cycle)
        if as_json or _format(output) == "json":
            typer.echo(json.dumps(data, ensure_ascii=False, sort_keys=True))
        else:
            console.print(_status_text(data), highlight=False, markup=False)

    @group.command("interview")
    def interview(
        ctx: typer.Context,
        cycle: str = typer.Argument(..., metavar="CYCLE"),
        at: str = typer.Option(..., "--at", metavar="T", help="Interview time (ISO 8601)."),
        place: str = typer.Option(..., "--place", help="Interview place."),
    ) -> None:
        """Set when and where the cycle's interviews take place (used by interview notices)."""
        rt = runtime(ctx)
        with rt.unit_of_work() as session:
            cycles.set_interview(session, cycle, parse_time(at, rt), place)
        console.print(f"{cycle}: interviews at {at}, {place}", highlight=False)

    @notices.command("send")
    def send(
        ctx: typer.Context,
        now: str | None = typer.Option(None, "--now", metavar="T", help=NOW_HELP),
        limit: int | None = typer.Option(None, "--limit", help="Send at most this many."),
    ) -> None:
        """Deliver pending notices by SMTP (PROMOFLOW_SMTP_HOST …); sent ones never again."""
        smtp = smtp_settings()
        if smtp is None:
            raise ConfigError(
                "no SMTP server configured: set PROMOFLOW_SMTP_HOST (and _PORT, _FROM)"
            )
        rt = runtime(ctx)
        report = deliver(rt.sessions, smtp, parse_time(now, rt), rt.actor, limit=limit)
        console.print(f"sent {len(report.sent)}, failed {len(report.failed)}", highlight=False)
        for key, error in report.failed.items():
            console.print(f"  failed {key}: {error}", highlight=False, markup=False)
        if report.failed:
            raise typer.Exit(1)


def run_whole_cycle(rt, cycle: str, folder, actor: str = "demo") -> list[dict]:
    """Run every step of a cycle at its calendar time, importing synthetic stage results.

    For ``promoflow demo``: the results of written tests and interviews are what a business
    school would send, generated deterministically from the employee id (a demo org has no
    real ones) and imported through the real ``results`` import. Prints each step and
    returns the decisions export.
    """
    cid = cycles.cycle_id(*cycles.parse_cycle_id(cycle))
    track, period_id = cycles.parse_cycle_id(cid)
    with rt.unit_of_work() as session:
        pack = cycles.active_pack(session, track)
    period = parse_period(period_id)

    def synthetic_results(stage: str, state: str, when) -> None:
        with rt.unit_of_work() as session:
            ids = queries.employees_in_state(session, cid, state)
        if not ids:
            return
        path = Path(folder) / f"results-{cid}-{stage}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["employee_id", "cycle", "stage", "value"])
            for eid in ids:
                digest = int(hashlib.sha256(f"{eid}:{stage}".encode()).hexdigest(), 16)
                if digest % 10 == 0:
                    continue  # a result that never arrives: the case waits, flagged for HR
                writer.writerow(map(csv_cell, (eid, cid, stage, 50 + digest % 50)))
        with rt.unit_of_work() as session:
            report = run_import(session, "results", path, when, actor)
        console.print(f"  imported {report.rows} {stage} results from {path.name}", highlight=False)

    for step in cycles.steps_of(pack):
        when = milestone_time(pack.calendar, period, step)
        started = time.perf_counter()
        with rt.unit_of_work() as session:
            report = steps.run_milestone(session, cid, step, when, actor)
        _print_report(report)
        console.print(f"  ({time.perf_counter() - started:.1f} s)", highlight=False)
        stages = tuple(pack.stages)
        if step == "open" and stages:
            synthetic_results(stages[0], "test_notified", when)
        if step == "interview_notice" and len(stages) > 1:
            synthetic_results(stages[1], "interview_notified", when)
    with rt.unit_of_work() as session:
        return cycles.decisions_export(session, cid)


def moved_table(rows: list[dict], title: str):
    """A Rich table of who moved (or waits) and why, for the demo."""
    table = Table(title=title)
    for column in ("employee", "from → to", "outcome", "case state", "why"):
        table.add_column(column)
    for r in rows:
        if r["outcome"] == "unchanged" and not r["review"]:
            continue
        why = "; ".join(r["reasons"])
        table.add_row(
            r["employee_id"],
            f"{r['from_grade']} → {r['to_grade']}",
            r["outcome"] + (f" ({r['review']})" if r["review"] else ""),
            r["state"] or "",
            why,
        )
    return table
