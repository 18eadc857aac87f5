"""Moving cases through their machines and writing each move, in bulk, with its audit event.

Milestones move many cases at once: they collect :class:`Move` objects in memory (each one
computed by the case's ``transitions`` machine), then :meth:`Moves.write` applies them with
one executemany UPDATE and one bulk audit insert, so 100k cases never mean 100k ORM
flushes. :func:`trigger` moves a single case (overrides, results) through the same path.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from promoflow.engine.audit.trail import Event, record_many
from promoflow.engine.packs.store import pack_of
from promoflow.engine.storage.bulk import insert_tuples
from promoflow.engine.storage.db import driver_cursor
from promoflow.engine.storage.models import Case, Cycle
from promoflow.errors import NotFoundError
from promoflow.workflow.machines import fire
from promoflow.workflow.specs import MachineSpec, spec_for

#: ``flagged`` left unchanged by a move
KEEP = object()


@dataclass
class CaseRef:
    """The columns of a case a milestone needs (no ORM object, no identity map)."""

    id: int
    employee_id: str
    kind: str
    state: str
    flagged: str | None
    decision_id: int | None = None


@dataclass
class Move:
    """One state change of one case, and why."""

    case_id: int | None
    employee_id: str
    trigger: str
    before: str | None
    after: str
    reason: str | None = None
    flagged: Any = KEEP


@dataclass
class Moves:
    """Moves collected during one milestone or import, written together."""

    cycle_id: str
    moves: list[Move] = field(default_factory=list)

    def fire(
        self,
        spec: MachineSpec,
        ref: CaseRef,
        trigger: str,
        reason: str | None = None,
        flagged: Any = KEEP,
        **kwargs: Any,
    ) -> str:
        """Fire ``trigger`` on ``ref`` through its machine; update ``ref`` and note the move."""
        after = fire(spec, ref.state, trigger, **kwargs)
        self.moves.append(Move(ref.id, ref.employee_id, trigger, ref.state, after, reason, flagged))
        ref.state = after
        if flagged is not KEEP:
            ref.flagged = flagged
        return after

    def flag(self, ref: CaseRef, text: str) -> None:
        """Flag a case for HR without moving it; an earlier flag is kept in front."""
        if ref.flagged and text not in ref.flagged:
            text = f"{ref.flagged}; {text}"
        ref.flagged = text
        self.moves.append(Move(ref.id, ref.employee_id, "flag", ref.state, ref.state, text, text))

    def counts(self) -> dict[str, int]:
        """Moves per trigger, for milestone reports."""
        return dict(Counter(m.trigger for m in self.moves))

    def write(self, session: Session, now: datetime, actor: str) -> int:
        """Apply every move to ``cases`` and append one ``case_transition`` event per move."""
        final: dict[int, dict[str, Any]] = {}
        for m in self.moves:
            if m.case_id is None:
                continue
            row = final.setdefault(m.case_id, {"id": m.case_id, "updated_at": now})
            row["state"] = m.after
            if m.flagged is not KEEP:
                row["flagged"] = m.flagged
        by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in final.values():
            by_shape.setdefault(tuple(sorted(row)), []).append(row)
        for rows in by_shape.values():
            update_by_key(session, Case.__table__, "id", rows)
        events = []
        for m in self.moves:
            after = {"state": m.after, "trigger": m.trigger}
            if m.flagged is not KEEP:
                after["flagged"] = m.flagged
            events.append(
                Event(
                    kind="case_transition",
                    actor=actor,
                    at=now,
                    subject=m.trigger,
                    employee_id=m.employee_id,
                    cycle_id=self.cycle_id,
                    case_id=m.case_id,
                    before={"state": m.before} if m.before is not None else None,
                    after=after,
                    reason=m.reason,
                )
            )
        record_many(session, events, plain=True)  # states, triggers, flags: all text
        return len(events)


def executemany(session: Session, statement, rows: list[dict[str, Any]]) -> None:
    """One bulk statement over ``rows``, never on a streaming cursor.

    A plain ``insert(table)`` goes straight to the driver (:func:`insert_rows`); anything
    else runs through SQLAlchemy. A ``yield_per`` read earlier in the transaction (facts
    loading) may leave the session's connection streaming, and psycopg refuses executemany
    on a server-side cursor.
    """
    if not rows:
        return
    table = getattr(statement, "table", None)
    if (
        isinstance(table, Table)
        and type(statement) is Insert
        and statement._generate_cache_key() == insert(table)._generate_cache_key()
        and insert_rows(session, table, rows)
    ):
        return
    session.connection().execution_options(yield_per=None, stream_results=False)
    session.execute(statement, rows)


# --- driver-level bulk writes ---------------------------------------------------------------
#
# SQLAlchemy's executemany runs every value of every row through its bind processing inside
# the statement's execution (a sixth of a milestone at 100k rows). These helpers apply the
# very same processors (``type._cached_bind_processor``: naive UTC text for datetimes on
# SQLite, JSON text, 1/0 for booleans, …), each distinct hashable value once, and hand plain
# tuples to the driver on the session's connection, inside its transaction.


def _binders(table: Table, keys: list[str], dialect) -> list:
    """Per key, a function binding one value as SQLAlchemy would (None: passed as is)."""
    out = []
    for key in keys:
        process = table.c[key].type._cached_bind_processor(dialect)
        if process is None:
            out.append(None)
            continue
        memo: dict[Any, Any] = {}

        def bind(value, process=process, memo=memo):
            try:
                return memo[value]
            except KeyError:
                memo[value] = bound = process(value)
                return bound
            except TypeError:  # unhashable (a dict for a JSON column): bind it each time
                return process(value)

        out.append(bind)
    return out


def _bound(table: Table, keys: list[str], rows: list[dict[str, Any]], dialect) -> list[tuple]:
    """``rows`` as driver tuples in ``keys`` order (KeyError when a row lacks a key)."""
    get = itemgetter(*keys)
    process = [(i, b) for i, b in enumerate(_binders(table, keys, dialect)) if b is not None]
    values = [(get(row),) for row in rows] if len(keys) == 1 else [get(row) for row in rows]
    if not process:
        return values
    out = []
    for value in values:
        value = list(value)
        for i, bind in process:
            value[i] = bind(value[i])
        out.append(tuple(value))
    return out


#: below this many rows PostgreSQL gets executemany rather than COPY
_COPY_FROM = 50


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> bool:
    """``INSERT INTO table`` the ``rows`` (dicts with the keys of the first) at driver level.

    Columns a row leaves out get their scalar Python default as SQLAlchemy would fill it;
    returns False (nothing written) when that cannot be done here (a callable default, a
    row missing a key), so the caller falls back to SQLAlchemy.
    """
    keys = list(rows[0])
    if any(k not in table.c for k in keys):
        return False
    defaults = {}
    for column in table.c:
        if column.key in keys or column.default is None:
            continue
        if not column.default.is_scalar:
            return False
        defaults[column.key] = column.default.arg
    dialect = session.get_bind().dialect
    try:
        values = _bound(table, keys, rows, dialect)
    except KeyError:
        return False
    if defaults:
        extra = _bound(table, list(defaults), [defaults], dialect)[0]
        values = [row + extra for row in values]
        keys = [*keys, *defaults]
    insert_tuples(session, table, keys, values)
    return True


def update_by_key(session: Session, table, key: str, rows: list[dict[str, Any]]) -> None:
    """``UPDATE table SET … WHERE key = …`` for many rows of the same columns.

    At driver level (see :func:`insert_rows`): executemany on SQLite, one ``UPDATE … FROM
    unnest(…)`` on PostgreSQL. Falls back to SQLAlchemy Core for a table with Python-side
    ``onupdate`` columns, which Core would fill.
    """
    if not rows:
        return
    columns = [c for c in rows[0] if c != key]
    dialect = session.get_bind().dialect
    if any(c.onupdate is not None for c in table.c) or dialect.name not in ("sqlite", "postgresql"):
        _update_core(session, table, key, columns, rows)
        return
    values = _bound(table, [*columns, key], rows, dialect)
    preparer = dialect.identifier_preparer
    name = preparer.format_table(table)
    quoted = [preparer.quote(table.c[c].name) for c in columns]
    where = preparer.quote(table.c[key].name)
    with driver_cursor(session) as cursor:
        if dialect.name == "sqlite" or len(values) < _COPY_FROM:
            mark = "?" if dialect.paramstyle == "qmark" else "%s"
            sets = ", ".join(f"{q} = {mark}" for q in quoted)
            cursor.executemany(f"UPDATE {name} SET {sets} WHERE {where} = {mark}", values)
            return
        # PostgreSQL: one statement joining the table to the rows passed as arrays
        names = [f"v{i}" for i in range(len(columns) + 1)]
        types = [table.c[c].type.compile(dialect=dialect) for c in [*columns, key]]
        arrays = ", ".join(f"%s::{t}[]" for t in types)
        sets = ", ".join(f"{q} = u.{n}" for q, n in zip(quoted, names, strict=False))
        cursor.execute(
            f"UPDATE {name} SET {sets} FROM unnest({arrays}) AS u({', '.join(names)}) "
            f"WHERE {name}.{where} = u.{names[-1]}",
            [list(column) for column in zip(*values, strict=True)],
        )


def _update_core(session: Session, table, key: str, columns: list[str], rows) -> None:
    statement = (
        update(table)
        .where(table.c[key] == bindparam("k_key", type_=table.c[key].type))
        .values({c: bindparam(f"v_{c}", type_=table.c[c].type) for c in columns})
    )
    session.connection().execution_options(yield_per=None, stream_results=False)
    session.execute(
        statement, [{"k_key": r[key], **{f"v_{c}": r[c] for c in columns}} for r in rows]
    )


def load_refs(
    session: Session, cycle_id: str, states: tuple[str, ...] | None = None
) -> list[CaseRef]:
    """The cases of a cycle (optionally only those in ``states``), ordered by employee."""
    query = select(
        Case.id, Case.employee_id, Case.kind, Case.state, Case.flagged, Case.decision_id
    ).where(Case.cycle_id == cycle_id)
    if states is not None:
        query = query.where(Case.state.in_(states))
    return [CaseRef(*row) for row in session.execute(query.order_by(Case.employee_id))]


def stages_of(session: Session, cycle_id: str) -> tuple[str, ...]:
    """The stages of the pack version the cycle was opened with."""
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise NotFoundError(f"unknown cycle {cycle_id!r}")
    return tuple(pack_of(session, cycle).stages)


def spec_of_case(kind: str, stages: tuple[str, ...]) -> MachineSpec:
    """The machine for a stored case."""
    return spec_for(kind, stages)


def trigger(
    session: Session,
    case: Case,
    trigger_name: str,
    now: datetime,
    actor: str,
    reason: str | None = None,
    **kwargs: Any,
) -> str:
    """Fire one trigger on one case (overrides, late results); returns the new state.

    Raises TransitionError when the case's state does not allow the trigger. The case row
    and its ``case_transition`` audit event are written in the caller's transaction.
    """
    spec = spec_of_case(case.kind, stages_of(session, case.cycle_id))
    ref = CaseRef(case.id, case.employee_id, case.kind, case.state, case.flagged, case.decision_id)
    moves = Moves(case.cycle_id)
    flagged = kwargs.pop("flagged", KEEP)
    moves.fire(spec, ref, trigger_name, reason=reason, flagged=flagged, **kwargs)
    session.flush()
    moves.write(session, now, actor)
    session.expire(case)
    return ref.state
