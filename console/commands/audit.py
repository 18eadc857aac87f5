"""``promoflow audit verify|show|export``: prove the trail intact, read it, hand it over.

``verify`` exits 0 when every event re-hashes, links to the one before and the chain ends
where the head says; otherwise it names the first bad event and exits 1.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.table import Table

from promoflow.console.commands._context import console, parse_time, runtime
from promoflow.engine.audit.query import FORMATS, EventFilter, export_events, find_events
from promoflow.engine.audit.verify import verify_chain
from promoflow.errors import ConfigError, InputError, IntegrityError_


def _session(ctx: typer.Context):
    """A session on a database ``promoflow init`` has set up (else a clear error)."""
    rt = runtime(ctx)
    if not rt.schema_ready():
        raise ConfigError(f"no promoflow schema at {rt.url}: run `promoflow init` first")
    return rt.unit_of_work()


def _filter(ctx, employee, case, cycle, actor, kind, since, until) -> EventFilter:
    rt = runtime(ctx)
    return EventFilter(
        employee_id=employee,
        case_id=case,
        cycle_id=cycle,
        actor=actor,
        kinds=tuple(kind or ()),
        since=parse_time(since, rt) if since else None,
        until=parse_time(until, rt) if until else None,
    )


def _short(value, width: int = 60) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


EMPLOYEE = typer.Option(None, "--employee", help="Only events about this employee id.")
CASE = typer.Option(None, "--case", help="Only events about this case id.")
CYCLE = typer.Option(None, "--cycle", help="Only events of this cycle, e.g. sales-2026Q3.")
ACTOR = typer.Option(None, "--actor", "--by", help="Only events by this actor.")
KIND = typer.Option(None, "--kind", help="Only events of this kind (repeatable).")
SINCE = typer.Option(None, "--since", metavar="T", help="From this time (ISO 8601, inclusive).")
UNTIL = typer.Option(None, "--until", metavar="T", help="Up to this time (ISO 8601, inclusive).")


def register(app: typer.Typer) -> None:
    """Add the ``audit`` command group."""
    group = typer.Typer(help="Verify, read and export the audit trail.", no_args_is_help=True)
    app.add_typer(group, name="audit")

    @group.command("verify")
    def verify(ctx: typer.Context) -> None:
        """Exit 0 when the audit trail is intact, 1 naming the first bad event when not."""
        with _session(ctx) as session:
            report = verify_chain(session)
        if not report.ok:
            raise IntegrityError_(
                f"audit trail broken at event #{report.finding.seq} "
                f"({report.finding.problem}): {report.finding.message}"
            )
        signed = "signed head verified" if report.signed else "head unsigned (no audit key)"
        console.print(
            f"[green]audit trail intact[/]: {report.events} events, chain ends at "
            f"#{report.head_seq or 0}, {signed}",
            highlight=False,
        )

    @group.command("show")
    def show(
        ctx: typer.Context,
        employee: str | None = EMPLOYEE,
        case: int | None = CASE,
        cycle: str | None = CYCLE,
        actor: str | None = ACTOR,
        kind: list[str] | None = KIND,
        since: str | None = SINCE,
        until: str | None = UNTIL,
        limit: int = typer.Option(200, "--limit", min=1, help="Show at most this many (newest)."),
    ) -> None:
        """Matching events as a table (the newest LIMIT, oldest first)."""
        flt = _filter(ctx, employee, case, cycle, actor, kind, since, until)
        rt = runtime(ctx)
        with _session(ctx) as session:
            events = find_events(session, flt, limit=limit, newest=True)
        table = Table(title=f"audit events ({len(events)})", show_lines=False)
        for name in ("#", "at", "actor", "via", "kind"):
            table.add_column(name, no_wrap=True)
        for name in ("subject", "cycle", "case", "change", "reason"):
            table.add_column(name, overflow="fold")
        for e in events:
            subject = e.subject or e.employee_id or ""
            change = _short(e.after) if e.before is None else f"{_short(e.before, 30)} → "
            if e.before is not None:
                change += _short(e.after, 30)
            table.add_row(
                str(e.seq),
                e.at.astimezone(rt.tz).strftime("%Y-%m-%d %H:%M:%S"),
                e.actor,
                e.via or "",
                e.kind,
                subject,
                e.cycle_id or "",
                "" if e.case_id is None else str(e.case_id),
                change,
                _short(e.reason, 50),
            )
        console.print(table)

    @group.command("export")
    def export(
        ctx: typer.Context,
        fmt: str = typer.Option("jsonl", "--format", help=f"One of {', '.join(FORMATS)}."),
        output: Path | None = typer.Option(
            None, "--output", "-o", help="Write to this file (default: standard output)."
        ),
        employee: str | None = EMPLOYEE,
        case: int | None = CASE,
        cycle: str | None = CYCLE,
        actor: str | None = ACTOR,
        kind: list[str] | None = KIND,
        since: str | None = SINCE,
        until: str | None = UNTIL,
    ) -> None:
        """Every matching event, every field, as CSV or JSON Lines (oldest first)."""
        if fmt not in FORMATS:
            raise InputError(f"unknown export format {fmt!r}: use {' or '.join(FORMATS)}")
        flt = _filter(ctx, employee, case, cycle, actor, kind, since, until)
        with _session(ctx) as session:
            if output is None:
                export_events(session, sys.stdout, fmt, flt)
                return
            with output.open("w", encoding="utf-8", newline="") as out:
                count = export_events(session, out, fmt, flt)
        print(f"wrote {count} events to {output}", file=sys.stderr)
