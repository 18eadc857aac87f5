"""``promoflow scheduler plan|run-due|start|status``: milestones on their dates, exactly once."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, time, timedelta
from pathlib import Path

import typer
import yaml

from promoflow.console.commands._context import parse_time, runtime
from promoflow.engine.bootstrap import Runtime
from promoflow.engine.scheduling import service as scheduling
from promoflow.engine.scheduling.firing import run_due
from promoflow.errors import ConfigError
from promoflow.rules.calendar import (
    CalendarError,
    CalendarSpec,
    calendar_from_mapping,
    with_effective_step,
)
from promoflow.scheduler.service import SchedulerService

CALENDARS_HELP = (
    "YAML file mapping track → calendar section, used instead of the rule packs' calendars "
    "(testing aid)."
)


def _calendars(rt: Runtime, path: Path | None) -> dict[str, CalendarSpec]:
    if path is None:
        with rt.unit_of_work() as session:
            return scheduling.load_calendars(session)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return {
            str(track): with_effective_step(calendar_from_mapping(section, f"{path}: {track}"))
            for track, section in data.items()
        }
    except (OSError, yaml.YAMLError, CalendarError, AttributeError) as exc:
        raise ConfigError(f"cannot use calendar file {path}: {exc}") from exc


def _day(value: str | None, default: date, rt: Runtime, end: bool) -> datetime:
    if value is None:
        day = default
    else:
        try:
            return _time_or_day(value, rt, end)
        except ValueError as exc:
            raise ConfigError(f"bad date {value!r}: use YYYY-MM-DD") from exc
    return datetime.combine(day, time.max if end else time.min, tzinfo=rt.tz)


def _time_or_day(value: str, rt: Runtime, end: bool) -> datetime:
    if "T" in value:
        return parse_time(value, rt)
    day = date.fromisoformat(value)
    return datetime.combine(day, time.max if end else time.min, tzinfo=rt.tz)


def _local(at: datetime, rt: Runtime) -> str:
    return at.astimezone(rt.tz).strftime("%Y-%m-%d %H:%M")


def _logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def register(app: typer.Typer) -> None:
    """Add the ``scheduler`` group."""
    group = typer.Typer(help="Fire cycle milestones on their dates, exactly once.")
    app.add_typer(group, name="scheduler")

    @group.command("plan")
    def plan(
        ctx: typer.Context,
        from_: str | None = typer.Option(
            None, "--from", metavar="D", help="First day (default today)."
        ),
        to: str | None = typer.Option(
            None, "--to", metavar="D", help="Last day (default a year on)."
        ),
        fmt: str = typer.Option("text", "--format", help="text or json (one object a line)."),
        calendars: Path | None = typer.Option(None, "--calendars", help=CALENDARS_HELP),
    ) -> None:
        """List the milestones from --from to --to: date, time, track, cycle, milestone, status."""
        rt = runtime(ctx)
        today = rt.now().date()
        start = _day(from_, today, rt, end=False)
        end = _day(to, today + timedelta(days=365), rt, end=True)
        cals = _calendars(rt, calendars)
        with rt.unit_of_work() as session:
            rows = scheduling.plan(session, start, end, cals)
        for row in rows:
            m = row.milestone
            local = m.at.astimezone(rt.tz)
            if fmt == "json":
                item = {
                    "date": local.date().isoformat(),
                    "time": local.strftime("%H:%M"),
                    "at": m.at.isoformat(),
                    "track": m.track,
                    "cycle": m.cycle_id,
                    "milestone": m.milestone,
                    "status": row.status,
                    "shifted_from": m.shifted_from.isoformat() if m.shifted_from else None,
                    "note": m.note,
                }
                typer.echo(json.dumps(item, ensure_ascii=False))
            else:
                note = f"  (moved from {_local(m.shifted_from, rt)})" if m.shifted_from else ""
                note += f"  [{m.note}]" if m.note else ""
                typer.echo(
                    f"{local:%Y-%m-%d}  {local:%H:%M}  {m.track:<12} {m.cycle_id:<20} "
                    f"{m.milestone:<17} {row.status}{note}"
                )
        if fmt != "json" and not rows:
            typer.echo("no milestones in that range")

    @group.command("run-due")
    def run_due_cmd(
        ctx: typer.Context,
        now: str | None = typer.Option(None, "--now", metavar="T", help="The time to act at."),
        calendars: Path | None = typer.Option(None, "--calendars", help=CALENDARS_HELP),
    ) -> None:
        """Fire every milestone after go-live and at or before --now not fired yet, oldest first."""
        rt = runtime(ctx)
        at = parse_time(now, rt)
        report = run_due(rt.sessions, at, calendars=_calendars(rt, calendars))
        for o in report.outcomes:
            m = o.milestone
            label = f"{m.cycle_id} {m.milestone} (due {_local(m.at, rt)})"
            if o.result == "fired":
                typer.echo(f"fired    {label}" + (f": nothing to do, {o.note}" if o.note else ""))
            elif o.result == "failed":
                typer.echo(f"FAILED   {label}: {o.error}; retry after {_local(o.retry_at, rt)}")
            elif o.result == "waiting":
                until = f" until {_local(o.retry_at, rt)}" if o.retry_at else ""
                typer.echo(f"waiting  {label}{until}: {o.error}")
        failed = len(report.of("failed"))
        typer.echo(
            f"{len(report.fired)} fired, {failed} failed, {len(report.of('waiting'))} waiting "
            f"at {_local(at, rt)}"
        )
        if failed:
            raise typer.Exit(1)

    @group.command("start")
    def start(
        ctx: typer.Context,
        fake_now: str | None = typer.Option(
            None,
            "--fake-now",
            metavar="T",
            help="Testing aid: the service's clock starts at T and runs at real speed.",
        ),
        calendars: Path | None = typer.Option(None, "--calendars", help=CALENDARS_HELP),
    ) -> None:
        """Run the scheduler service until SIGTERM/SIGINT; catches up on start-up."""
        _logging()
        rt = runtime(ctx)
        rt.identify("scheduler", "system")  # firings on the calendar are the product's own
        offset = parse_time(fake_now, rt) - rt.now() if fake_now else timedelta(0)
        cals = _calendars(rt, calendars) if calendars else None
        with rt.unit_of_work() as session:
            scheduling.require_go_live(session)
        SchedulerService(rt, calendars=cals, clock_offset=offset).run_forever()

    @group.command("status")
    def status(
        ctx: typer.Context,
        now: str | None = typer.Option(None, "--now", metavar="T", help="The time to report at."),
        calendars: Path | None = typer.Option(None, "--calendars", help=CALENDARS_HELP),
    ) -> None:
        """Go-live, failures waiting to retry, what is due, the latest and the next firings."""
        rt = runtime(ctx)
        at = parse_time(now, rt)
        cals = _calendars(rt, calendars)
        with rt.unit_of_work() as session:
            st = scheduling.status(session, at, cals)
        go = _local(st.go_live, rt) if st.go_live else "not set (run promoflow init)"
        typer.echo(f"go-live: {go}")
        typer.echo(f"fired: {st.fired}")
        typer.echo(f"failed: {len(st.failed)}")
        for r in st.failed:
            typer.echo(
                f"  FAILED {r.cycle_id} {r.milestone} (due {_local(r.due_at, rt)}): "
                f"{r.attempts} attempts, next retry {_local(r.next_retry_at, rt)}; {r.last_error}"
            )
        typer.echo(f"due now: {len(st.due)}")
        for c in st.due:
            m = c.milestone
            typer.echo(f"  due {m.cycle_id} {m.milestone} ({_local(m.at, rt)})")
        for r in st.recent:
            typer.echo(f"  last fired {r.cycle_id} {r.milestone} at {_local(r.fired_at, rt)}")
        for m in st.upcoming:
            typer.echo(f"  next {_local(m.at, rt)} {m.cycle_id} {m.milestone}")
