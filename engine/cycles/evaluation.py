"""Evaluating a cycle: facts in, one decision per employee out, through durable_rules.

:func:`evaluate_cycle` is the service (database, audit); :func:`evaluate_facts` is the
pure part, so stored facts can be re-evaluated (what-if, replay) without a database.
Both engines are available: ``engine="durable"`` (the default, what cycles use) and
``engine="plain"`` (the same parsed conditions in plain Python, for comparison and tests).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from promoflow.engine import rules_engine
from promoflow.engine.audit.trail import Encoded, EventEncoder, append_encoded
from promoflow.engine.facts.build import Person, prepare_facts
from promoflow.engine.packs.store import pack_by_version
from promoflow.engine.parallel import map_chunks, will_fork
from promoflow.engine.storage.bulk import binder, insert_tuples
from promoflow.engine.storage.db import driver_rows, reader_url
from promoflow.engine.storage.models import Cycle, Decision, Employee
from promoflow.errors import InputError
from promoflow.rules.decide import DecisionResult, Verdict, decide, plain_verdict
from promoflow.rules.packs import Pack
from promoflow.rules.periods import parse_period


def cycle_kind(period_id: str) -> str:
    """``quarter`` or ``half``: the kind of cycle that runs over ``period_id``."""
    kind = parse_period(period_id).kind
    if kind not in ("quarter", "half"):
        raise InputError(f"period {period_id}: a cycle runs over a quarter or a half")
    return kind


def evaluate_facts(
    pack: Pack,
    facts_by_employee: Mapping[str, Mapping[str, object]],
    period_id: str,
    *,
    engine: str = "durable",
) -> dict[str, DecisionResult]:
    """Decide for every employee from their facts (each dict must carry ``grade``)."""
    kind = cycle_kind(period_id)
    typed: dict[str, Mapping[str, object]] = {}
    for employee_id, facts in facts_by_employee.items():
        grade = facts.get("grade")
        if grade is None:
            raise InputError(f"employee {employee_id}: the facts carry no 'grade'")
        if grade not in pack.grades:
            raise InputError(
                f"employee {employee_id}: grade {grade!r} is not a grade of track {pack.id}"
            )
        typed[employee_id] = _typed(pack, employee_id, facts)
    facts_by_employee = typed
    if engine == "durable":
        cases = [(e, str(f["grade"]), f) for e, f in facts_by_employee.items()]
        verdicts = rules_engine.verdicts(pack, kind, cases)
    elif engine == "plain":
        verdicts = {
            e: plain_verdict(pack.rules_for(kind, str(f["grade"])), f)
            for e, f in facts_by_employee.items()
        }
    else:
        raise ValueError(f"unknown engine {engine!r}")
    return {
        e: decide(pack, kind, e, str(f["grade"]), f, period_id, verdicts.get(e, Verdict("none")))
        for e, f in facts_by_employee.items()
    }


def _typed(pack: Pack, employee_id: str, facts: Mapping[str, object]) -> Mapping[str, object]:
    """Facts as the rules compare them: stored strings ("79.5", "3", "true") become exact
    Decimals, ints and bools, so a decision's stored facts can be evaluated again."""
    get = facts.get
    for name in pack.facts:  # a plain loop: this runs once per employee of every cycle
        if isinstance(get(name), str):
            break
    else:
        return facts
    out = dict(facts)
    for name, spec in pack.facts.items():
        raw = out.get(name)
        if not isinstance(raw, str):
            continue
        try:
            if spec.type == "bool":
                if raw.lower() not in ("true", "false"):
                    raise ValueError(raw)
                out[name] = raw.lower() == "true"
            elif spec.type == "int":
                out[name] = int(raw)
            else:
                out[name] = Decimal(raw)
        except (ValueError, InvalidOperation) as exc:
            raise InputError(
                f"employee {employee_id}: fact {name} = {raw!r} is not a {spec.type}"
            ) from exc
    return out


def _event(encode: EventEncoder, result: DecisionResult) -> Encoded:
    """The decision's audit event, encoded."""
    return encode(
        result.rule,
        result.employee_id,
        {"grade": result.from_grade},
        {
            "outcome": result.outcome,
            "to_grade": result.to_grade,
            "rule": result.rule,
            "pack_version": result.pack_version,
            "probation": result.probation,
            "review": result.review,
            "missing": result.missing_inputs or result.missing,
            # the facts read, in the hash chain: an edited fact is caught by replay
            "facts": result.facts,
        },
        " / ".join(result.reasons_zh + result.reasons_en),
    )


#: what facts read of an employee (``promoflow.engine.facts.build.EmployeeLike``)
_PERSON = (
    Employee.employee_id,
    Employee.track,
    Employee.grade,
    Employee.grade_since,
    Employee.org_unit,
)
#: decision columns loaded only when read (see the end of :func:`evaluate_cycle`)
_EXPLANATIONS = (Decision.facts, Decision.thresholds, Decision.reasons_zh, Decision.reasons_en)
#: the decision columns written, in the order of :func:`_values`
_KEYS = (
    "cycle_id", "employee_id", "outcome", "from_grade", "to_grade", "rule", "pack_id",
    "pack_version", "probation", "review", "facts", "thresholds", "reasons_zh", "reasons_en",
    "missing", "decided_at",
)  # fmt: skip
#: what carrying out a decision reads of it (cases, notices): the light form of a Decision
_DECIDED = (
    Decision.id,
    Decision.employee_id,
    Decision.outcome,
    Decision.from_grade,
    Decision.to_grade,
    Decision.rule,
    Decision.probation,
    Decision.review,
    Decision.missing,
)


class Decided(NamedTuple):
    """A stored decision as the milestones read it (no facts, thresholds or reasons)."""

    id: int
    employee_id: str
    outcome: str
    from_grade: str
    to_grade: str
    rule: str | None
    probation: bool
    review: str | None
    missing: list


class DecidedChunk(NamedTuple):
    """What a worker sends back for a chunk of employees (:class:`_ChunkJob`).

    Plain tuples inside, not NamedTuples: those pickle several times slower (see
    :mod:`promoflow.engine.parallel`), and this process, which unpickles every chunk, is
    the one the run waits on.
    """

    #: the decision rows, bound for the driver (in :data:`_KEYS` order)
    rows: list[tuple]
    #: their audit events (the fields of :class:`~promoflow.engine.audit.trail.Encoded`)
    events: list[tuple]
    #: per decision, the fields of its :class:`Decided` (id still 0) and what ``plan`` made
    pairs: list[tuple[tuple, Any]]


def _values(cycle_id: str, r: DecisionResult, now: datetime) -> tuple:
    return (
        cycle_id, r.employee_id, r.outcome, r.from_grade, r.to_grade, r.rule, r.pack_id,
        r.pack_version, r.probation, r.review, r.facts, r.thresholds, r.reasons_zh,
        r.reasons_en, r.missing_inputs or r.missing, now,
    )  # fmt: skip


def evaluate_cycle(session: Session, cycle: Cycle, now: datetime, actor: str) -> list[Decision]:
    """Decide for every active employee the cycle evaluates; store and audit the decisions.

    Idempotent: a cycle that already has decisions gets them back unchanged. Uses the pack
    version the cycle pinned, never the active one. Facts, thresholds and reasons of the
    returned decisions load when read.
    """
    decide_cycle(session, cycle, now, actor)
    return list(
        session.scalars(
            select(Decision)
            .options(*(defer(c) for c in _EXPLANATIONS))
            .where(Decision.cycle_id == cycle.cycle_id)
            .order_by(Decision.employee_id)
        )
    )


def stored_decisions(session: Session, cycle_id: str) -> list[Decided]:
    """The cycle's decisions in the light form, by employee id."""
    return [
        Decided(*row)
        for row in session.execute(
            select(*_DECIDED).where(Decision.cycle_id == cycle_id).order_by(Decision.employee_id)
        )
    ]


def decide_cycle(session: Session, cycle: Cycle, now: datetime, actor: str) -> list[Decided]:
    """:func:`evaluate_cycle`, returning the light form (what opening cases reads)."""
    out: list[Decided] = []
    decide_and_plan(session, cycle, now, actor, None, lambda pairs: out.extend(d for d, _ in pairs))
    return out


def decide_and_plan(
    session: Session,
    cycle: Cycle,
    now: datetime,
    actor: str,
    plan: Callable[[Decided], Any] | None,
    on_chunk: Callable[[list[tuple[Decided, Any]]], None],
) -> None:
    """Decide the cycle (idempotent); hand ``on_chunk`` each chunk of (decision, plan) pairs.

    The work per employee — facts arithmetic, durable_rules, explanations, the row and the
    audit payload encoded, and ``plan`` (pure: what opening a case needs) — runs in worker
    processes on large cycles (:mod:`promoflow.engine.parallel`). This process reads the
    inputs once, then, chunk by chunk in employee order as they arrive, writes the
    decisions and their audit events and calls ``on_chunk`` with the stored ids filled in,
    so what follows a decision (its case) is written while later chunks are computed.
    Decisions already stored are read back and planned here, in one chunk.
    """
    if session.scalar(select(Decision.id).where(Decision.cycle_id == cycle.cycle_id).limit(1)):
        stored = stored_decisions(session, cycle.cycle_id)
        on_chunk([(d, plan(d) if plan else None) for d in stored])
        return
    pack = pack_by_version(session, cycle.pack_id, cycle.pack_version)
    kind = cycle_kind(cycle.period_id)
    employees = _people(session, cycle.track, pack.grades_for(kind))
    if not employees:
        return
    # Workers read their own employees' metrics when there will be workers and another
    # process can read the database while this one writes (the read is the largest part
    # of the work that otherwise runs before any worker starts).
    source = reader_url(session.get_bind()) if will_fork(len(employees)) else None
    prepared = prepare_facts(
        session, pack, cycle.period_id, employees, metrics_from=source, only=pack.facts_read(kind)
    )
    # A streaming read (yield_per) changes the session's connection in place; on PostgreSQL
    # every later statement would become a server-side cursor, which cannot INSERT.
    session.connection().execution_options(yield_per=None, stream_results=False)
    del employees
    table = Decision.__table__
    job = _ChunkJob(
        pack, prepared, cycle.cycle_id, cycle.period_id, now, actor,
        binder(table, _KEYS, session.get_bind().dialect), plan,
    )  # fmt: skip
    for chunk in map_chunks(job, len(prepared.people)):
        insert_tuples(session, table, _KEYS, chunk.rows)
        append_encoded(session, chunk.events)
        decided = []
        for (_unknown, employee_id, *rest), extra in chunk.pairs:
            decided.append((employee_id, rest, extra))
        ids = chunk_ids(session, Decision, cycle.cycle_id, [e for e, _, _ in decided])
        on_chunk([(Decided(ids[e], e, *rest), extra) for e, rest, extra in decided])


def _people(session: Session, track: str, grades) -> list[Person]:
    """The track's active employees in the given grades, by id, as facts read them.

    Straight from the driver, the date converted by its column type's own processor: the
    writing process does this before any worker starts, and building 100k ORM objects,
    then result rows, were each a measurable part of opening.
    """
    rows = driver_rows(
        session,
        select(*_PERSON)
        .where(Employee.track == track, Employee.active, Employee.grade.in_(grades))
        .order_by(Employee.employee_id),
        typed=True,
    )
    return [Person._make(row) for row in rows]


def chunk_ids(session: Session, model, cycle_id: str, employee_ids: list[str]) -> dict[str, int]:
    """``{employee_id: id}`` of a cycle's rows for the given employees (a chunk, ≤ a few
    thousand), read from the database: nothing is assumed about how it numbers rows.

    A chunk is a run of consecutive employees in the database's own ``employee_id`` order,
    so one range scan of the (cycle_id, employee_id) unique index finds it; rows in that
    range that are not asked for are left out. (An ``IN`` of 4,000 bound ids cost five
    times as much, mostly in rendering the parameters.)
    """
    if not employee_ids:
        return {}
    wanted = set(employee_ids)
    low, high = employee_ids[0], employee_ids[-1]
    rows = _id_rows(session, model, cycle_id, model.employee_id.between(low, high))
    out = {employee_id: id_ for employee_id, id_ in rows if employee_id in wanted}
    if len(out) < len(wanted):  # not a run in the database's order after all: ask by id
        out = _ids_by_list(session, model, cycle_id, employee_ids)
    return out


def _ids_by_list(session: Session, model, cycle_id: str, employee_ids: list[str]) -> dict:
    out: dict[str, int] = {}
    for start in range(0, len(employee_ids), 5000):  # well under SQLite's 32,766 variables
        part = employee_ids[start : start + 5000]
        out.update(_id_rows(session, model, cycle_id, model.employee_id.in_(part)))
    return out


def _id_rows(session: Session, model, cycle_id: str, which) -> list[tuple[str, int]]:
    """(employee_id, id) of a cycle's rows matching ``which``, at driver level."""
    return driver_rows(
        session, select(model.employee_id, model.id).where(model.cycle_id == cycle_id, which)
    )


class _ChunkJob:
    """Decide employees ``start:stop`` of a prepared cycle: pure, so it can run in a worker."""

    def __init__(self, pack, prepared, cycle_id, period_id, now, actor, bind, plan):
        self.pack, self.prepared, self.bind, self.plan = pack, prepared, bind, plan
        self.cycle_id, self.period_id, self.now, self.actor = cycle_id, period_id, now, actor

    def __call__(self, start: int, stop: int) -> DecidedChunk:
        prepared = self.prepared
        values = prepared.values_for(start, stop)
        facts = {}
        for i in range(start, stop):
            person = prepared.people[i]
            one = prepared.facts(i, values)
            one["grade"] = person.grade
            facts[person.employee_id] = one
        results = evaluate_facts(self.pack, facts, self.period_id)
        del facts
        rows, events, pairs = [], [], []
        plan = self.plan
        encode = EventEncoder("decision", self.actor, self.now, self.cycle_id)
        for r in results.values():
            rows.append(self.bind(_values(self.cycle_id, r, self.now)))
            events.append(_event(encode, r))
            missing = r.missing_inputs or r.missing
            d = Decided(
                0,
                r.employee_id,
                r.outcome,
                r.from_grade,
                r.to_grade,
                r.rule,
                r.probation,
                r.review,
                missing,
            )
            pairs.append((tuple(d), plan(d) if plan else None))  # plain: see DecidedChunk
        return DecidedChunk(rows, list(map(tuple, events)), pairs)
