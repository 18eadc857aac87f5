"""``metrics.csv``: long-form metric values, one per (employee, period, metric).

A value for a key that is not stored yet is inserted; a different value for a stored key
replaces it and leaves a :class:`MetricRevision` (old value, new value, when, which import)
plus a ``metric_revision`` audit event; the same value changes nothing. Periods are created
as the file names them. Everything is written in bulk statements so that 100k rows take
seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select

from promoflow.engine.imports.base import (
    Applied,
    ImportContext,
    check_extra_cells,
    chunks,
    parse_decimal,
    plain,
    require_columns,
)
from promoflow.engine.imports.bulk import insert_rows, update_rows
from promoflow.engine.models import Employee, Metric, MetricRevision, Period
from promoflow.rules.periods import parse_period

COLUMNS = ("employee_id", "period", "metric", "value")

#: metrics whose value is a sales amount (any size ≥ 0); all others are 0–100 scores
AMOUNTS = frozenset({"sales_actual", "sales_target"})
#: every metric name INTERCHANGE.md defines (scores and components are 0–100); the packs'
#: composite components (e.g. the ``cs_assistant`` inputs) are added to these
SCORES = frozenset(
    {
        "score",
        # cs monthly components
        "return_visit",
        "satisfaction",
        "handling",
        "training",
        "attendance",
        # support monthly components
        "training_feedback",
        "skills",
        # cs_rating half-year components
        "knowledge",
        "communication",
        "teamwork",
        "efficiency",
    }
)
METRICS = AMOUNTS | SCORES
HUNDRED = Decimal(100)

Key = tuple[str, str, str]


@dataclass
class Plan:
    values: dict[Key, Decimal] = field(default_factory=dict)
    periods: dict[str, object] = field(default_factory=dict)


def validate(ctx: ImportContext) -> Plan:
    """Check every row, and that every employee named exists; write nothing."""
    plan = Plan()
    if not require_columns(ctx, COLUMNS):
        return plan
    check_extra_cells(ctx)
    errors = ctx.errors
    known_metrics = METRICS | ctx.catalog.metric_names()
    first_line: dict[Key, int] = {}
    bad_periods: dict[str, str] = {}
    lines_of: dict[str, list[int]] = {}
    for row in ctx.table:
        cells = row.cells
        employee_id = cells.get("employee_id", "")
        period_text = cells.get("period", "")
        metric = cells.get("metric", "")
        text = cells.get("value", "")
        ok = True
        if not employee_id:
            errors.add(row.line, "employee_id", "missing required field employee_id")
            ok = False
        else:
            lines_of.setdefault(employee_id, []).append(row.line)
        period_id = None
        if not period_text:
            errors.add(row.line, "period", "missing required field period")
            ok = False
        elif period_text in plan.periods:
            period_id = plan.periods[period_text].id
        elif period_text in bad_periods:
            errors.add(row.line, "period", bad_periods[period_text])
            ok = False
        else:
            try:
                period = parse_period(period_text)
            except ValueError as exc:
                bad_periods[period_text] = str(exc)
                errors.add(row.line, "period", str(exc))
                ok = False
            else:
                plan.periods[period_text] = period
                period_id = period.id
        if not metric:
            errors.add(row.line, "metric", "missing required field metric")
            ok = False
        elif metric not in known_metrics:
            errors.add(
                row.line,
                "metric",
                f"unknown metric {metric!r}: known metrics are {', '.join(sorted(known_metrics))}",
            )
            ok = False
        value = None
        if not text:
            errors.add(row.line, "value", "missing required field value")
            ok = False
        else:
            try:
                value = parse_decimal(text)
            except ValueError as exc:
                errors.add(row.line, "value", f"non-numeric value: {exc}")
                ok = False
            else:
                if value < 0:
                    errors.add(row.line, "value", f"negative value {text}: metrics are ≥ 0")
                    ok = False
                elif metric not in AMOUNTS and value > HUNDRED:
                    errors.add(row.line, "value", f"{metric} {text} is above 100")
                    ok = False
        if employee_id and period_id and metric:
            key = (employee_id, period_id, metric)
            if key in first_line:
                errors.add(
                    row.line,
                    "metric",
                    f"duplicate row for {employee_id} {period_id} {metric} "
                    f"(first at line {first_line[key]})",
                )
                ok = False
            else:
                first_line[key] = row.line
                if ok:
                    plan.values[key] = value
    _check_employees_exist(ctx, lines_of)
    plan.periods = {p.id: p for p in plan.periods.values()}
    return plan


def _check_employees_exist(ctx: ImportContext, lines_of: dict[str, list[int]]) -> None:
    known: set[str] = set()
    column = Employee.__table__.c.employee_id
    for part in chunks(list(lines_of), 2000):
        known.update(ctx.session.scalars(select(column).where(column.in_(part))))
    for employee_id, lines in lines_of.items():
        if employee_id not in known:
            for line in lines:
                ctx.errors.add(
                    line,
                    "employee_id",
                    f"unknown employee {employee_id!r}: import employees first",
                )


def apply(ctx: ImportContext, plan: Plan) -> Applied:
    """Create missing periods, insert new values, replace changed ones with a revision."""
    session, now = ctx.session, ctx.now
    _ensure_periods(ctx, plan)
    metrics = Metric.__table__
    stored: dict[Key, tuple[int, Decimal]] = {}
    if plan.values:
        query = select(
            metrics.c.id,
            metrics.c.employee_id,
            metrics.c.period_id,
            metrics.c.metric,
            metrics.c.value,
        ).where(
            metrics.c.period_id.in_(list(plan.periods)),
            metrics.c.metric.in_(sorted({k[2] for k in plan.values})),
        )
        for id_, employee_id, period_id, metric, value in session.execute(query):
            stored[(employee_id, period_id, metric)] = (id_, value)

    inserts, updates, revisions, events = [], [], [], []
    for key, value in plan.values.items():
        old = stored.get(key)
        if old is None:
            inserts.append(
                {
                    "employee_id": key[0],
                    "period_id": key[1],
                    "metric": key[2],
                    "value": value,
                    "import_id": ctx.import_id,
                    "updated_at": now,
                }
            )
        elif old[1] != value:
            metric_id, old_value = old[0], plain(old[1])
            updates.append({"id": metric_id, "value": value, "import_id": ctx.import_id})
            revisions.append(
                {
                    "metric_id": metric_id,
                    "old_value": old_value,
                    "new_value": value,
                    "import_id": ctx.import_id,
                    "changed_at": now,
                }
            )
            events.append(
                ctx.event(
                    "metric_revision",
                    subject=f"{key[1]}/{key[2]}",
                    employee_id=key[0],
                    before={"period": key[1], "metric": key[2], "value": old_value},
                    after={"period": key[1], "metric": key[2], "value": value},
                    reason=f"re-imported from {ctx.table.name}",
                )
            )

    total = len(inserts) + len(updates) + len(revisions)
    for part in chunks(inserts):
        insert_rows(session, metrics, part)
        ctx.advance(len(part), total)
    for part in chunks(updates):
        update_rows(session, metrics, "id", part, {"updated_at": now})
        ctx.advance(len(part), total)
    for part in chunks(revisions):
        insert_rows(session, MetricRevision.__table__, part)
        ctx.advance(len(part), total)
    return Applied(
        changed=len(inserts) + len(updates),
        events=events,
        details={"inserted": len(inserts), "revised": len(updates)},
    )


def _ensure_periods(ctx: ImportContext, plan: Plan) -> None:
    """Create the period rows the file names that are not stored yet."""
    table = Period.__table__
    if not plan.periods:
        return
    stored = set(
        ctx.session.scalars(
            select(table.c.period_id).where(table.c.period_id.in_(list(plan.periods)))
        )
    )
    missing = [
        {"period_id": p.id, "kind": p.kind, "starts": p.starts, "ends": p.ends}
        for p in plan.periods.values()
        if p.id not in stored
    ]
    if missing:
        insert_rows(ctx.session, table, missing)
