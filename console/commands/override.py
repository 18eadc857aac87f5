"""``promoflow override …``: HR overruling a decision, and ``override approve|reject|list``.

The acting person is the global ``--actor`` (or ``PROMOFLOW_ACTOR``); their roles come from
the stored users (``promoflow user add NAME --role hr_officer``). Every command needs
``--reason``. Grade-changing overrides wait for a different ``hr_manager`` to approve.
"""

from __future__ import annotations

import json

import typer
from rich.table import Table

from promoflow.console.commands._context import console, parse_time, runtime
from promoflow.engine.overrides import service as overrides
from promoflow.engine.overrides.query import list_overrides
from promoflow.errors import InputError

REASON = typer.Option(..., "--reason", "-r", help="Why the rule's decision is overruled.")
NOW = typer.Option(None, "--now", metavar="T", help="Act as if it were this time (ISO 8601).")


def _done(o) -> None:
    status = {
        "proposed": "[yellow]proposed[/]: waits for a different hr_manager to approve",
        "approved": "[green]approved[/] and applied",
        "rejected": "[red]rejected[/]",
    }[o.status]
    console.print(
        f"override #{o.id} {o.kind} for {o.employee_id}"
        + (f" in {o.cycle_id}" if o.cycle_id else "")
        + f": {status}",
        highlight=False,
    )


def _propose(ctx: typer.Context, kind: str, now: str | None, **fields) -> None:
    rt = runtime(ctx)
    with rt.unit_of_work() as session:
        o = overrides.propose(session, now=parse_time(now, rt), actor=rt.actor, kind=kind, **fields)
    _done(o)


def register(app: typer.Typer) -> None:
    """Add the ``override`` command group."""
    group = typer.Typer(
        help="Overrule a rule decision (reason required; grades need four eyes).",
        no_args_is_help=True,
    )
    app.add_typer(group, name="override")

    @group.command("force-promotion")
    def force_promotion(
        ctx: typer.Context,
        cycle: str = typer.Argument(..., help="Cycle, e.g. sales-2026Q3."),
        employee: str = typer.Argument(..., help="Employee id."),
        reason: str = REASON,
        to_grade: str | None = typer.Option(None, "--to-grade", help="Default: one grade up."),
        effective: str | None = typer.Option(None, "--effective", help="YYYY-MM-DD."),
        now: str | None = NOW,
    ) -> None:
        """Promote although the rules did not."""
        params = {"to_grade": to_grade, "effective": effective}
        _propose(ctx, "force_promotion", now, cycle_id=cycle, employee_id=employee,
                 reason=reason, params=params)  # fmt: skip

    @group.command("block-promotion")
    def block_promotion(
        ctx: typer.Context,
        cycle: str = typer.Argument(...),
        employee: str = typer.Argument(...),
        reason: str = REASON,
        now: str | None = NOW,
    ) -> None:
        """Keep the grade although the rules promoted."""
        _propose(ctx, "block_promotion", now, cycle_id=cycle, employee_id=employee, reason=reason)

    @group.command("cancel-demotion")
    def cancel_demotion(
        ctx: typer.Context,
        cycle: str = typer.Argument(...),
        employee: str = typer.Argument(...),
        reason: str = REASON,
        now: str | None = NOW,
    ) -> None:
        """Keep the grade although the rules demoted."""
        _propose(ctx, "cancel_demotion", now, cycle_id=cycle, employee_id=employee, reason=reason)

    @group.command("change-demotion")
    def change_demotion(
        ctx: typer.Context,
        cycle: str = typer.Argument(...),
        employee: str = typer.Argument(...),
        to_grade: str = typer.Option(..., "--to-grade", help="The grade to demote to instead."),
        reason: str = REASON,
        effective: str | None = typer.Option(None, "--effective", help="YYYY-MM-DD."),
        now: str | None = NOW,
    ) -> None:
        """Demote to another grade than the rules said."""
        _propose(ctx, "change_demotion", now, cycle_id=cycle, employee_id=employee,
                 reason=reason, params={"to_grade": to_grade, "effective": effective})  # fmt: skip

    @group.command("set-grade")
    def set_grade(
        ctx: typer.Context,
        first: str = typer.Argument(
            ..., metavar="CYCLE", help="The cycle it concerns (- for none)."
        ),
        second: str = typer.Argument(..., metavar="EMPLOYEE", help="Employee id."),
        reason: str = REASON,
        to_grade: str | None = typer.Option(None, "--to-grade", help="The grade to set."),
        cycle: str | None = typer.Option(None, "--cycle", hidden=True),
        effective: str | None = typer.Option(None, "--effective", help="YYYY-MM-DD."),
        now: str | None = NOW,
    ) -> None:
        """Set an employee's grade outright: ``set-grade CYCLE EMPLOYEE --to-grade G``
        (INTERCHANGE.md); the earlier ``set-grade EMPLOYEE GRADE [--cycle C]`` still works."""
        if to_grade is not None:
            cycle_id, employee = (None if first in ("-", "") else first), second
        else:
            cycle_id, employee, to_grade = cycle, first, second
        _propose(ctx, "set_grade", now, cycle_id=cycle_id, employee_id=employee, reason=reason,
                 params={"to_grade": to_grade, "effective": effective})  # fmt: skip

    @group.command("record-result")
    def record_result(
        ctx: typer.Context,
        cycle: str = typer.Argument(...),
        employee: str = typer.Argument(...),
        stage_arg: str | None = typer.Argument(None, metavar="[STAGE]", hidden=True),
        value_arg: str | None = typer.Argument(None, metavar="[VALUE]", hidden=True),
        reason: str = REASON,
        stage: str | None = typer.Option(
            None, "--stage", help="written_test, interview or probation_review."
        ),
        value: str | None = typer.Option(None, "--value", help="A score, pass or fail."),
        now: str | None = NOW,
    ) -> None:
        """Record a result that was missing at its deadline (moves the case at once)."""
        stage, value = stage or stage_arg, value or value_arg
        if not stage or not value:
            raise InputError("record-result needs --stage and --value")
        _propose(ctx, "record_result", now, cycle_id=cycle, employee_id=employee, reason=reason,
                 params={"stage": stage, "value": value})  # fmt: skip

    @group.command("end-probation")
    def end_probation(
        ctx: typer.Context,
        cycle: str = typer.Argument(...),
        employee: str = typer.Argument(...),
        reason: str = REASON,
        now: str | None = NOW,
    ) -> None:
        """End a probation (cleared, or retained after a dismissal review)."""
        _propose(ctx, "end_probation", now, cycle_id=cycle, employee_id=employee, reason=reason)

    def _hr_decision(name: str, kind: str, doc: str) -> None:
        def command(
            ctx: typer.Context,
            cycle: str = typer.Argument(..., help="Cycle, e.g. sales-2026Q3."),
            employee: str = typer.Argument(..., help="Employee id."),
            reason: str = REASON,
            stage: str | None = typer.Option(None, "--stage", help="waive-stage: which stage."),
            now: str | None = NOW,
        ) -> None:
            params = {"stage": stage} if stage else {}
            _propose(ctx, kind, now, cycle_id=cycle, employee_id=employee, reason=reason,
                     params=params)  # fmt: skip

        command.__doc__ = doc
        group.command(name)(command)

    _hr_decision("retain", "retain", "Retain after an elimination or dismissal review.")
    _hr_decision(
        "dismiss", "dismiss", "Dismiss after a dismissal review (a second manager approves)."
    )
    _hr_decision(
        "eliminate",
        "eliminate",
        "Eliminate after an elimination review (a second manager approves).",
    )
    _hr_decision(
        "close-review", "close_review", "Close a below-standard review (say the plan in --reason)."
    )
    _hr_decision(
        "waive-stage", "waive_stage", "Waive the written test or interview the case waits for."
    )
    _hr_decision(
        "accept-revision",
        "accept_revision",
        "Take the rules' new decision for a case whose inputs were revised after open.",
    )
    _hr_decision(
        "keep-decision",
        "keep_decision",
        "Keep the rules' decision for a case held after its employee record changed.",
    )

    @group.command("approve")
    def approve(
        ctx: typer.Context,
        override_id: int = typer.Argument(...),
        note: str | None = typer.Option(None, "--note", "--reason", help="Why (optional)."),
        now: str | None = NOW,
    ) -> None:
        """Approve a proposed override (an hr_manager other than its proposer) and apply it."""
        rt = runtime(ctx)
        with rt.unit_of_work() as session:
            o = overrides.approve(
                session, override_id, now=parse_time(now, rt), actor=rt.actor, note=note
            )
        _done(o)

    @group.command("reject")
    def reject(
        ctx: typer.Context,
        override_id: int = typer.Argument(...),
        note: str = typer.Option(..., "--reason", "--note", help="Why it is rejected."),
        now: str | None = NOW,
    ) -> None:
        """Reject a proposed override; the rule's decision stands."""
        rt = runtime(ctx)
        with rt.unit_of_work() as session:
            o = overrides.reject(
                session, override_id, now=parse_time(now, rt), actor=rt.actor, note=note
            )
        _done(o)

    @group.command("list")
    def list_(
        ctx: typer.Context,
        cycle: str | None = typer.Option(None, "--cycle"),
        status: str | None = typer.Option(None, "--status", help="proposed|approved|rejected"),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
    ) -> None:
        """Overrides with the rule's decision beside each."""
        rt = runtime(ctx)
        with rt.unit_of_work() as session:
            rows = [overrides.override_record(o) for o in list_overrides(
                session, cycle, status)]  # fmt: skip
        if as_json:
            for row in rows:
                print(json.dumps(row, ensure_ascii=False))
            return
        table = Table(title=f"overrides ({len(rows)})")
        for name in ("#", "kind", "status", "cycle", "employee", "rule", "override", "reason",
                     "proposed by", "decided by"):  # fmt: skip
            table.add_column(name, overflow="fold")
        for r in rows:
            rule = r["rule_decision"] or {}
            effect = r["effect"] or {}
            table.add_row(
                str(r["id"]), r["kind"], r["status"], r["cycle_id"] or "", r["employee_id"],
                f"{rule.get('outcome', '')} {rule.get('to_grade', '')}".strip(),
                f"{effect.get('outcome', '')} {effect.get('to_grade', '')}".strip()
                or json.dumps(effect, ensure_ascii=False),
                r["reason"], r["proposed_by"], r["decided_by"] or "",
            )  # fmt: skip
        console.print(table)
