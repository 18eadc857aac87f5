"""The few bulk reads that facts are built from: metrics, probation decisions, vacancies.

Why bulk: a cycle evaluates every employee of a track (100k in the benchmark), so each
reader is one or two SQL statements over all of them, grouped in Python — never one query
per employee.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from decimal import Decimal

from sqlalchemy import select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from promoflow.engine.storage.db import driver_rows
from promoflow.engine.storage.models import Cycle, Decision, Metric, Vacancy

#: below this many employees, select their metrics by id; above, by period (one statement)
BY_ID_LIMIT = 2000
_CHUNK = 500
#: rows fetched at a time (a server-side cursor on PostgreSQL keeps memory flat)
_BATCH = 20_000


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def load_metrics(
    session: Session,
    employee_ids: Collection[str],
    period_ids: Collection[str],
    metrics: Collection[str],
    *,
    id_range: tuple[str, str] | None = None,
) -> dict[str, dict[tuple[str, str], Decimal]]:
    """Every stored value of the given employees, periods and metrics, by employee.

    Returns ``{employee_id: {(period_id, metric): value}}``. With ``id_range`` (the first
    and last of employees consecutive in the database's ``employee_id`` order, as a
    worker's chunk is) one range of the (employee_id, period_id, metric) index is read.
    Otherwise a few employees are selected by id (in chunks), and many by period and
    metric alone in one statement and filtered here: a plain scan is fast whatever the
    planner knows, whereas a join on the track, planned before PostgreSQL has statistics
    for a fresh import, can fall back to 100k index probes (18 s instead of 0.7 s).
    """
    wanted = set(employee_ids)
    if not wanted or not period_ids:
        return {}
    # The value's type conversion (SQLite hands back a float, turned into an exact Decimal
    # at the column's scale) is applied here, by the column type's own processor, not in
    # the result: at 584k rows that halved the read (measured 5.1 → 3.2 s at 100k).
    value = Metric.value
    convert = value.type.result_processor(session.get_bind().dialect, None) or _same
    columns = (Metric.employee_id, Metric.period_id, Metric.metric, type_coerce(value, NullType()))
    base = select(*columns).where(
        Metric.period_id.in_(sorted(period_ids)), Metric.metric.in_(sorted(metrics))
    )
    if id_range is not None:
        statements = [base.where(Metric.employee_id.between(*id_range))]
    elif len(wanted) <= BY_ID_LIMIT:
        statements = [
            base.where(Metric.employee_id.in_(chunk)) for chunk in _chunks(sorted(wanted), _CHUNK)
        ]
    else:
        statements = [base]
    # Core execution on the session's connection: no ORM row processing for a million rows.
    # Keys are shared between employees (a few dozen distinct pairs, not a million tuples).
    connection = session.connection()
    if convert is not _same:
        convert = _remembered(convert)
    keys = {p: {m: (p, m) for m in metrics} for p in period_ids}
    out: dict[str, dict[tuple[str, str], Decimal]] = {}
    last, held = None, None
    for statement in statements:
        # options on the statement, not the connection: they must not outlive this read
        if id_range is None:  # the whole table, in batches (server-side on PostgreSQL)
            batches = connection.execute(statement.execution_options(yield_per=_BATCH))
            batches = batches.partitions()
        else:  # one chunk of employees: at once, as the driver returns them
            batches = (driver_rows(session, statement),)
        for batch in batches:
            for employee_id, period_id, metric, raw in batch:
                # an employee's rows come one after another from the index (a chunk's
                # read): look the employee up once, not once per row
                if employee_id != last:
                    last = employee_id
                    held = out.get(employee_id)
                    if held is None and employee_id in wanted:
                        held = out[employee_id] = {}
                if held is not None:
                    held[keys[period_id][metric]] = convert(raw)
    return out


def _same(value):
    return value


def _remembered(convert):
    """``convert`` answering repeated raw values from memory: at 100k employees a score or
    a sales target takes a few hundred distinct values among 400k. The column type's
    processor formats at the column's fixed scale, so equal raw values (1, 1.0,
    Decimal("1.000000")) convert alike; a zero converts fresh each time (``-0.0`` keeps
    its sign)."""
    memo: dict = {}

    def converted(raw):
        if not raw:
            return convert(raw)
        value = memo.get(raw)
        if value is None:
            value = memo[raw] = convert(raw)
        return value

    return converted


def load_probation(session: Session, tracks: Collection[str], period_id: str) -> set[str]:
    """Employees whose decision in the track's cycle for ``period_id`` set a probation."""
    statement = (
        select(Decision.employee_id)
        .join(Cycle, Cycle.cycle_id == Decision.cycle_id)
        .where(
            Cycle.track.in_(sorted(tracks)),
            Cycle.period_id == period_id,
            Decision.probation.is_(True),
        )
    )
    return set(session.scalars(statement))


def load_vacancies(session: Session) -> dict[tuple[str, str], int]:
    """Open headcount by ``(org_unit, position)`` as stored (the whole, small, table)."""
    rows = session.execute(select(Vacancy.org_unit, Vacancy.position, Vacancy.open))
    return {(org_unit, position): open_ for org_unit, position, open_ in rows}
