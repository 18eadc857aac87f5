"""``metrics.csv``: long-form metric values, one per (employee, period, metric).

A value for a key that is not stored yet is inserted; a different value for a stored key
replaces it and leaves a :class:`MetricRevision` (old value, new value, when, which import)
plus a ``metric_revision`` audit event; the same value changes nothing. Periods are created
as the file names them. Everything is written in bulk statements so that 100k rows take
seconds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import compress
from operator import itemgetter

from sqlalchemy import select

from promoflow.engine.cycles.revision import open_cycles, recheck_metrics
from promoflow.engine.imports.base import (
    CHUNK,
    Applied,
    ImportContext,
    check_extra_cells,
    chunks,
    parse_decimal,
    plain,
    require_columns,
)
from promoflow.engine.storage.bulk import insert_columns, insert_rows, update_rows
from promoflow.engine.storage.db import driver_cursor, result_processor
from promoflow.engine.storage.models import Employee, Metric, MetricRevision, Period
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
    """The valid values in file order, as parallel columns (600k rows stay compact)."""

    employee_ids: list[str] = field(default_factory=list)
    period_ids: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    values: list[Decimal] = field(default_factory=list)
    lines: Sequence[int] = field(default_factory=list)
    #: (period_id, metric) → employee_id → position in the columns (see :meth:`index`)
    groups: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    #: whether ``groups`` covers every row (a file checked whole leaves it to be made)
    indexed: bool = True
    periods: dict[str, object] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.values)

    def index(self) -> dict[tuple[str, str], dict[str, int]]:
        """``groups``, made now if the file was checked whole."""
        if not self.indexed:
            groups: dict[tuple[str, str], dict[str, int]] = {}
            rows = zip(self.employee_ids, self.period_ids, self.metrics, strict=True)
            for at, (employee_id, period_id, metric) in enumerate(rows):
                group = groups.get((period_id, metric))
                if group is None:
                    group = groups[(period_id, metric)] = {}
                group[employee_id] = at
            self.groups, self.indexed = groups, True
        return self.groups

    def add(self, key: Key, value: Decimal, line: int) -> None:
        employee_id, period_id, metric = key
        group = self.groups.get((period_id, metric))
        if group is None:
            group = self.groups[(period_id, metric)] = {}
        group[employee_id] = len(self.values)
        self.employee_ids.append(employee_id)
        self.period_ids.append(period_id)
        self.metrics.append(metric)
        self.values.append(value)
        self.lines.append(line)  # type: ignore[attr-defined]


class _Validator:
    """The row checks, with every row's problems worded by :meth:`full`."""

    def __init__(self, ctx: ImportContext, plan: Plan) -> None:
        self.errors = ctx.errors
        self.plan = plan
        self.known_metrics = METRICS | ctx.catalog.metric_names()
        #: metric → its scale, for inputs that are not 0–100 scores (checked row by row)
        self.scales = ctx.catalog.metric_scales()
        #: the metrics a plainly valid row may name (a scaled one is checked in full)
        self.plain_metrics = self.known_metrics - self.scales.keys()
        #: period text → its Period, or the reason it is not one
        self.periods: dict[str, object] = {}
        #: keys first seen on a bad row (a later row with the same key is a duplicate)
        self.bad_first: dict[Key, int] = {}

    def period_id(self, text: str) -> str | None:
        """The id of a valid period text, None when it is not one (no error noted)."""
        found = self.periods.get(text)
        if found is None and text and text not in self.periods:
            try:
                found = parse_period(text)
            except ValueError as exc:
                found = str(exc)
            self.periods[text] = found
        return None if found is None or isinstance(found, str) else found.id  # type: ignore[attr-defined]

    def first_line(self, key: Key) -> int | None:
        """The line that first held ``key``, None when none did."""
        group = self.plan.groups.get((key[1], key[2]))
        if group is not None and key[0] in group:
            return self.plan.lines[group[key[0]]]
        return self.bad_first.get(key)

    def full(self, line: int, employee_id: str, period_text: str, metric: str, text: str) -> None:
        """Check one row, noting each of its problems; add it to the plan if it has none."""
        errors = self.errors
        ok = True
        if not employee_id:
            errors.add(line, "employee_id", "missing required field employee_id")
            ok = False
        period_id = None
        if not period_text:
            errors.add(line, "period", "missing required field period")
            ok = False
        else:
            period_id = self.period_id(period_text)
            if period_id is None:
                errors.add(line, "period", self.periods[period_text])  # type: ignore[arg-type]
                ok = False
        known_metrics = self.known_metrics
        if not metric:
            errors.add(line, "metric", "missing required field metric")
            ok = False
        elif metric not in known_metrics:
            errors.add(
                line,
                "metric",
                f"unknown metric {metric!r}: known metrics are {', '.join(sorted(known_metrics))}",
            )
            ok = False
        value = None
        if not text:
            errors.add(line, "value", "missing required field value")
            ok = False
        else:
            try:
                value = parse_decimal(text)
            except ValueError as exc:
                errors.add(line, "value", f"non-numeric value: {exc}")
                ok = False
            else:
                if value < 0:
                    errors.add(line, "value", f"negative value {text}: metrics are ≥ 0")
                    ok = False
                elif metric not in AMOUNTS and value > HUNDRED:
                    errors.add(line, "value", f"{metric} {text} is above 100")
                    ok = False
                elif metric in self.scales and not self.scales[metric].admits(value):
                    scale = self.scales[metric].describe()
                    errors.add(line, "value", f"{metric} {text} is not on its scale ({scale})")
                    ok = False
        if employee_id and period_id and metric:
            key = (employee_id, period_id, metric)
            first = self.first_line(key)
            if first is not None:
                errors.add(
                    line,
                    "metric",
                    f"duplicate row for {employee_id} {period_id} {metric} (first at line {first})",
                )
            elif ok:
                self.plan.add(key, value, line)  # type: ignore[arg-type]
            else:
                self.bad_first[key] = line


def validate(ctx: ImportContext) -> Plan:
    """Check every row, and that every employee named exists; write nothing.

    A plainly valid row (nearly all: a known period and metric, a plain number in range, a
    new key) is taken at once; any other goes through :meth:`_Validator.full`, which words
    each of its problems exactly as a row-by-row check would.
    """
    plan = Plan()
    if not require_columns(ctx, COLUMNS):
        return plan
    check_extra_cells(ctx)
    table = ctx.table
    check = _Validator(ctx, plan)
    plain_metrics, period_id, bad_first = check.plain_metrics, check.period_id, check.bad_first
    groups, plain_number = plan.groups, _PLAIN_NUMBER.fullmatch
    at = [table.index(c) for c in COLUMNS]
    employee_ids: tuple[str, ...] = ()
    if table.records:
        employee_ids, periods, metrics, texts = (
            list(map(itemgetter(i), table.records))  # type: ignore[arg-type]
            for i in at
        )
        if ctx.release:
            table.records = []  # the columns hold all that is needed now
        if _whole(check, plan, table.lines, employee_ids, periods, metrics, texts):
            _check_employees_exist(ctx, table.lines, employee_ids)
            plan.periods = {p.id: p for p in check.periods.values()}  # type: ignore[attr-defined]
            return plan
        rows = zip(table.lines, employee_ids, periods, metrics, texts, strict=True)
        valid_periods: dict[str, str] = {}  # period text → id, for the texts that are one
        add_id, add_period = plan.employee_ids.append, plan.period_ids.append
        add_metric, add_value = plan.metrics.append, plan.values.append
        add_line = plan.lines.append  # type: ignore[attr-defined]
        for line, employee_id, period_text, metric, text in rows:
            pid = valid_periods.get(period_text)
            if pid is None:
                pid = period_id(period_text)
                if pid is not None:
                    valid_periods[period_text] = pid
            if (
                pid is not None
                and employee_id
                and metric in plain_metrics
                and plain_number(text)
                and ((value := Decimal(text)) <= HUNDRED or metric in AMOUNTS)
            ):
                group = groups.get((pid, metric))
                if group is None:
                    group = groups[(pid, metric)] = {}
                if employee_id not in group and (
                    not bad_first or (employee_id, pid, metric) not in bad_first
                ):
                    group[employee_id] = len(plan.values)
                    add_id(employee_id)
                    add_period(pid)
                    add_metric(metric)
                    add_value(value)
                    add_line(line)
                    continue
            check.full(line, employee_id, period_text, metric, text)
    _check_employees_exist(ctx, table.lines, employee_ids)
    plan.periods = {p.id: p for p in check.periods.values() if not isinstance(p, str)}  # type: ignore[attr-defined]
    return plan


def _whole(check: _Validator, plan: Plan, lines, employee_ids, periods, metrics, texts) -> bool:
    """Take the whole file at once when it is plainly valid (True), from checks over each
    column's distinct values; False, with nothing noted or planned, sends it row by row.

    Plainly valid: every period and metric known, every employee named, every value a
    plain number in range, no key twice — what the row-by-row check would accept.
    """
    period_of: dict[str, str] = {}
    for text in set(periods):
        period_id = check.period_id(text)
        if period_id is None:
            return False
        period_of[text] = period_id
    if not check.plain_metrics.issuperset(metrics) or "" in set(employee_ids):
        return False  # (a metric with a scale is checked row by row)
    if not all(map(_PLAIN_NUMBER.fullmatch, texts)):
        return False
    period_ids = list(map(period_of.__getitem__, periods))
    # keys by the hash of their joined text: no tuple or text per row kept (a clash, or a
    # text holding the separator, could only make keys look repeated, which sends the
    # file row by row, where each key is compared whole)
    keys = map(hash, map("\x1f".join, zip(employee_ids, period_ids, metrics, strict=True)))
    if len(set(keys)) != len(texts):
        return False
    values = list(map(Decimal, texts))
    if AMOUNTS.isdisjoint(metrics):
        if max(values, default=HUNDRED) > HUNDRED:
            return False
    elif any(v > HUNDRED for v, m in zip(values, metrics, strict=True) if m not in AMOUNTS):
        return False
    plan.employee_ids, plan.period_ids, plan.metrics, plan.values = (
        employee_ids, period_ids, metrics, values
    )  # fmt: skip
    plan.lines, plan.indexed = lines, False
    return True


#: a plain number within every limit: at most 9 + 6 digits, no sign, no exponent
_PLAIN_NUMBER = re.compile(r"\d{1,9}(?:\.\d{1,6})?")


def _check_employees_exist(ctx: ImportContext, lines, employee_ids) -> None:
    """Note every line naming an employee who is not stored (after every other problem)."""
    named = [e for e in dict.fromkeys(employee_ids) if e]
    known = stored_employee_ids(ctx.session, named)
    unknown = [e for e in named if e not in known]
    if not unknown:
        return
    lines_of: dict[str, list[int]] = {e: [] for e in unknown}
    for line, employee_id in zip(lines, employee_ids, strict=True):
        if employee_id in lines_of:
            lines_of[employee_id].append(line)
    for employee_id, found in lines_of.items():
        for line in found:
            ctx.errors.add(
                line,
                "employee_id",
                f"unknown employee {employee_id!r}: import employees first",
            )


def stored_employee_ids(session, ids: list[str]) -> set[str]:
    """Which of ``ids`` are stored employees (the whole column when asked about many)."""
    column = Employee.__table__.c.employee_id
    if len(ids) <= 5000:
        known: set[str] = set()
        for part in chunks(ids, 2000):
            known.update(session.scalars(select(column).where(column.in_(part))))
        return known
    with driver_cursor(session) as cursor:
        cursor.execute("SELECT employee_id FROM employees")
        return {row[0] for row in cursor.fetchall()}


def apply(ctx: ImportContext, plan: Plan) -> Applied:
    """Create missing periods, insert new values, replace changed ones with a revision."""
    session, now = ctx.session, ctx.now
    _ensure_periods(ctx, plan)
    metrics = Metric.__table__
    stored = bytearray(len(plan))  # 1 where the key is stored already
    changes: list[tuple[int, int, Decimal]] = []  # (position, metric id, stored value)
    if plan.values:
        _compare_stored(ctx, plan, stored, changes)
    changes.sort()

    updates, revisions, events = [], [], []
    for at, metric_id, stored_value in changes:
        employee_id, period_id = plan.employee_ids[at], plan.period_ids[at]
        metric, value = plan.metrics[at], plan.values[at]
        old_value = plain(stored_value)
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
                subject=f"{period_id}/{metric}",
                employee_id=employee_id,
                before={"period": period_id, "metric": metric, "value": old_value},
                after={"period": period_id, "metric": metric, "value": value},
                reason=f"re-imported from {ctx.table.name}",
            )
        )

    columns = {
        "employee_id": plan.employee_ids,
        "period_id": plan.period_ids,
        "metric": plan.metrics,
        "value": plan.values,
    }
    if any(stored):
        columns = {k: list(compress(v, (not s for s in stored))) for k, v in columns.items()}
    inserted = len(columns["value"])
    total = inserted + len(updates) + len(revisions)
    for start in range(0, inserted, CHUNK):
        part = {k: v[start : start + CHUNK] for k, v in columns.items()}
        insert_columns(session, metrics, part, {"import_id": ctx.import_id, "updated_at": now})
        ctx.advance(len(part["value"]), total)
    for part in chunks(updates):
        update_rows(session, metrics, "id", part, {"updated_at": now})
        ctx.advance(len(part), total)
    for part in chunks(revisions):
        insert_rows(session, MetricRevision.__table__, part)
        ctx.advance(len(part), total)
    # the decisions of open cycles these values feed are looked at again (POLICY.md §6)
    rechecked = 0
    cycles = open_cycles(session)
    if cycles:
        revised_at = [at for at, _, _ in changes]
        rechecked = recheck_metrics(
            session,
            cycles,
            [*columns["employee_id"], *(plan.employee_ids[at] for at in revised_at)],
            [*columns["period_id"], *(plan.period_ids[at] for at in revised_at)],
            now,
            ctx.actor,
        )
    details = {"inserted": inserted, "revised": len(updates)}
    if rechecked:  # (only then: the report keeps its shape for every import before)
        details["decisions_rechecked"] = rechecked
    return Applied(changed=inserted + len(updates), events=events, details=details)


def _compare_stored(
    ctx: ImportContext, plan: Plan, stored: bytearray, changes: list[tuple[int, int, Decimal]]
) -> None:
    """Mark the plan's keys already stored, and note those whose value differs.

    Stored values are read at driver level and turned into Decimals by SQLAlchemy's own
    result processor, so they compare exactly as an ORM read would.
    """
    session = ctx.session
    table = Metric.__table__
    dialect = session.get_bind().dialect
    period_ids, names = sorted(set(plan.period_ids)), sorted(set(plan.metrics))
    mark = "?" if dialect.name == "sqlite" else "%s"
    sql = (
        "SELECT id, employee_id, period_id, metric, value FROM metrics "
        f"WHERE period_id IN ({', '.join([mark] * len(period_ids))}) "
        f"AND metric IN ({', '.join([mark] * len(names))})"
    )
    values = plan.values
    with driver_cursor(session) as cursor:
        cursor.execute(sql, (*period_ids, *names))
        process = result_processor(table.c.value.type, dialect, cursor.description[4][1])
        to_value = process or (lambda v: v)
        first = cursor.fetchmany(20000)
        groups = plan.index() if first else {}
        for batch in iter_batches(cursor, first):
            for metric_id, employee_id, period_id, metric, raw in batch:
                group = groups.get((period_id, metric))
                if group is None:
                    continue
                at = group.get(employee_id)
                if at is None:
                    continue
                stored[at] = 1
                old = to_value(raw)
                if old != values[at]:
                    changes.append((at, metric_id, old))


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


def iter_batches(cursor, first: list):
    """``first`` and the further batches of rows ``cursor`` still holds."""
    while first:
        yield first
        first = cursor.fetchmany(20000)
