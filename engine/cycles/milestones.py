"""The work of each milestone: which cases move, which notices go out, what changes grade.

Every function here reads what it needs in a few bulk queries, moves cases in memory
through their machines (:class:`~promoflow.engine.cases.moves.Moves`), and writes the moves,
notices, grade history and audit events in bulk. Nothing commits: the caller's transaction
makes a milestone all or nothing.
"""

from __future__ import annotations

import json
from collections import namedtuple
from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime, timedelta
from decimal import Decimal
from operator import itemgetter
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from promoflow.engine.audit.trail import Event, EventEncoder, append_encoded, encode_event
from promoflow.engine.cases.moves import CaseRef, Moves, load_refs
from promoflow.engine.cycles.evaluation import chunk_ids, decide_and_plan
from promoflow.engine.facts.build import build_facts
from promoflow.engine.notices.outbox import (
    Outgoing,
    PreparedNotice,
    default_domain,
    default_lang,
    prepare,
    queue,
    queue_prepared,
    row_binder,
    with_case,
)
from promoflow.engine.storage.bulk import binder, insert_rows, insert_tuples
from promoflow.engine.storage.db import driver_rows, fk_checks_by_index
from promoflow.engine.storage.models import (
    Case,
    Cycle,
    Decision,
    Employee,
    StageResult,
)
from promoflow.rules.calendar import effective_date, milestone_time, probation_month
from promoflow.rules.periods import parse_period
from promoflow.workflow import guards
from promoflow.workflow.machines import fire
from promoflow.workflow.specs import kind_for_decision, spec_for, stage_short

#: default interview place when HR set none for the cycle
DEFAULT_PLACE = "人力资源部会议室 / HR meeting room"


def pack_stages(pack) -> tuple[str, ...]:
    return tuple(pack.stages)


def _fmt(when: datetime, pack) -> str:
    return when.astimezone(ZoneInfo(pack.calendar.timezone)).strftime("%Y-%m-%d %H:%M")


#: the decision columns milestones read (facts are loaded only for vacancy candidates)
_DECISION_COLUMNS = (
    Decision.id,
    Decision.employee_id,
    Decision.outcome,
    Decision.from_grade,
    Decision.to_grade,
    Decision.rule,
    Decision.reasons_zh,
    Decision.reasons_en,
)


#: what a notice needs of a decision (no JSON to decode)
NOTICE_DECISION_COLUMNS = (
    Decision.id,
    Decision.employee_id,
    Decision.from_grade,
    Decision.to_grade,
)


def decision_rows(
    session: Session,
    cycle_id: str,
    columns: tuple = _DECISION_COLUMNS,
    ids: list[int | None] | None = None,
) -> dict[int, Any]:
    """The cycle's decisions by id as read-only rows of ``columns`` (``id`` among them).

    Read only what the caller uses: decoding the JSON reasons of 100k decisions nobody
    reads was a tenth of ``announce``. Given a few ``ids`` (late results), only those are
    read; given many, the whole cycle is (one scan beats thousands of lookups).
    """
    query = select(*columns).where(Decision.cycle_id == cycle_id)
    if ids is not None and len(ids) <= 500:
        query = query.where(Decision.id.in_([i for i in ids if i is not None]))
    return {d.id: d for d in session.execute(query)}


#: what milestones read of an employee: name for notices, the rest for probation facts
_PERSON_COLUMNS = (
    Employee.employee_id,
    Employee.name,
    Employee.track,
    Employee.grade,
    Employee.grade_since,
    Employee.org_unit,
    Employee.position,
)


#: what a notice needs of an employee
NAME_COLUMNS = (Employee.employee_id, Employee.name)
#: what a notice needs of an employee joined to the case (:func:`refs_with_people`)
JOINED_NAME_COLUMNS = (Employee.name,)


def people_by_id(
    session: Session, ids: list[str], columns: tuple = _PERSON_COLUMNS
) -> dict[str, Any]:
    """Employees by id as read-only rows (``.name``, ``.grade``, …), not ORM objects.

    Building 100k ORM objects only to read a name cost a sixth of ``announce``; a caller
    that needs only some ``columns`` (``employee_id`` among them) reads only those.
    """
    out: dict[str, Any] = {}
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        rows = session.execute(select(*columns).where(Employee.employee_id.in_(chunk)))
        out.update({row.employee_id: row for row in rows})
    return out


def refs_with_people(
    session: Session,
    cycle_id: str,
    states: tuple[str, ...] | None,
    decision_columns: tuple,
    person_columns: tuple,
) -> tuple[list[CaseRef], dict[int, Any], dict[str, Any]]:
    """What :func:`load_refs`, :func:`decision_rows` and :func:`people_by_id` return for the
    cases in ``states``, read in one joined query.

    The decisions (``id`` among ``decision_columns``) are those of the cycle the cases
    point at; the people those of the cases, with ``person_columns`` (``name``, …; not the
    id). Each joined row serves as both, so the names of the two sets of columns must not
    clash. Three separate reads scanned all the cycle's decisions and looked employees up
    in chunks: at 100k that was the biggest read of a milestone.
    """
    query = (
        select(
            *(c.label(f"case_{c.key}") for c in _CASE_COLUMNS),
            *decision_columns,
            Employee.employee_id.label("person_id"),
            *person_columns,
        )
        .select_from(Case)
        .outerjoin(Decision, (Decision.id == Case.decision_id) & (Decision.cycle_id == cycle_id))
        .outerjoin(Employee, Employee.employee_id == Case.employee_id)
        .where(Case.cycle_id == cycle_id)
        .order_by(Case.employee_id)
    )
    if states is not None:
        query = query.where(Case.state.in_(states))
    refs, decisions, people = [], {}, {}
    result = session.execute(query)
    # positions looked up by name once: a Row's attribute costs 0.6 µs a read (timeit),
    # eight reads a case of 100k
    at = {key: i for i, key in enumerate(result.keys())}
    case_of = itemgetter(*(at[f"case_{c.key}"] for c in _CASE_COLUMNS))
    decision_at, person_at = at["id"], at["person_id"]
    for row in result:
        refs.append(CaseRef(*case_of(row)))
        if row[decision_at] is not None:
            decisions[row[decision_at]] = row
        if row[person_at] is not None:
            people[row[person_at]] = row
    return refs, decisions, people


#: the columns of a :class:`CaseRef`, in its order
_CASE_COLUMNS = (Case.id, Case.employee_id, Case.kind, Case.state, Case.flagged, Case.decision_id)


def json_as_text(column, label: str):
    """``column`` (JSON) read as its stored text, for :func:`json_loader` to decode on use:
    a milestone that needs the value for some rows skips decoding the others."""
    return cast(column, Text).label(label)


def json_loader(session: Session):
    """Decodes what :func:`json_as_text` read, as SQLAlchemy's JSON type would."""
    loads = getattr(session.get_bind().dialect, "_json_deserializer", None) or json.loads
    return lambda text: None if text is None else loads(text)


def notice_params(cycle: Cycle, emp: Employee | None, d: Decision, **extra: Any) -> dict[str, Any]:
    return {
        "cycle_id": cycle.cycle_id,
        "employee_id": d.employee_id,
        "name": emp.name if emp else d.employee_id,
        "from_grade": d.from_grade,
        "to_grade": d.to_grade,
        **extra,
    }


def initial_flag(kind: str, d: Decision) -> str | None:
    """What a new case of ``kind`` is flagged with for HR (None: nothing waits on HR)."""
    if kind == "pending":
        return (
            "data missing: " + ", ".join(str(m) for m in (d.missing or []))
            if d.missing
            else "data missing"
        )
    if kind == "elimination":
        return "elimination review: lowest grade and below standard; HR decides"
    if kind == "below_standard":
        return "below standard: grade kept; HR reviews"
    return None


# --- open --------------------------------------------------------------------------------


def open_cases(session: Session, cycle: Cycle, pack, now: datetime, actor: str) -> dict:
    """Decide (RULES engineer's evaluation), open one case per decision, send test notices.

    Each case is planned beside its decision (:class:`_CasePlan`, in the worker processes
    on large cycles): inserted directly in its final state, its written-test notice
    rendered and encoded there; written here once the case ids are known, with one
    ``case_transition`` event per step taken (payloads encoded once per case kind).
    """
    stages = pack_stages(pack)
    period = parse_period(cycle.period_id)
    notice = None
    if stages:
        names = dict(  # plain strings at driver level: 100k rows in half the time
            driver_rows(
                session,
                select(Employee.employee_id, Employee.name).where(Employee.track == cycle.track),
            )
        )
        notice = _TestNotice(
            names,
            _fmt(milestone_time(pack.calendar, period, "test_due"), pack),
            guards.pass_mark(stages[0], dict(pack.pass_marks)),
            default_lang(),
            default_domain(),
            row_binder(session.get_bind().dialect),
        )
    planner = _CasePlan(cycle.cycle_id, stages, effective_date(period), now, actor, notice)
    have = set(session.scalars(select(Case.employee_id).where(Case.cycle_id == cycle.cycle_id)))
    counts: dict[str, int] = {"cases": 0, "decisions": 0, "notices": 0}
    bind_case = binder(Case.__table__, _CASE_KEYS, session.get_bind().dialect)

    def write_cases(planned: list) -> None:
        """One chunk's cases, transition events and notices (while workers compute on)."""
        counts["decisions"] += len(planned)
        planned = [(d, OpenedCase._make(p)) for d, p in planned if d.employee_id not in have]
        if not planned:
            return
        # the first chunk's cases and notices are checked against decisions and cases that
        # grow from nothing in this transaction: those checks are planned by index
        with fk_checks_by_index(session) if not counts["cases"] else nullcontext():
            write_chunk(planned)

    def write_chunk(planned: list) -> None:
        # bound rows straight to the driver, then the ids: RETURNING over insertmanyvalues
        # is quadratic on SQLite at 100k rows
        cid = cycle.cycle_id
        rows = [
            bind_case((cid, d.employee_id, p.kind, p.state, p.flagged, now, d.id, p.effective_on))
            for d, p in planned
        ]
        insert_tuples(session, Case.__table__, _CASE_KEYS, rows)
        ids = chunk_ids(session, Case, cycle.cycle_id, [d.employee_id for d, _ in planned])
        events, notices = [], []
        transitions = planner.events
        for d, plan in planned:
            case_id = ids[d.employee_id]  # known only now
            events += transitions(plan.kind, d.employee_id, d.rule, case_id)
            for trigger in plan.triggers:
                counts[trigger] = counts.get(trigger, 0) + 1
            if plan.notice is not None:
                notices.append(with_case(plan.notice, case_id))
        append_encoded(session, events)
        counts["cases"] += len(planned)
        counts["notices"] += queue_prepared(session, notices)

    decide_and_plan(session, cycle, now, actor, planner, write_cases)
    return counts


#: the case columns open writes, in the order of its bound rows
_CASE_KEYS = (
    "cycle_id", "employee_id", "kind", "state", "flagged", "updated_at", "decision_id",
    "effective_on",
)  # fmt: skip


class _TestNotice(NamedTuple):
    """What the written-test notice of a nominee needs besides the decision."""

    names: dict[str, str]
    deadline: str
    pass_mark: Any
    lang: str
    domain: str  # of ID@domain addresses, read once per milestone
    bind: Callable[[dict], tuple]  # the outbox row as the driver receives it


class _CasePlan:
    """How a decision's case opens (pure, picklable result): kind, state reached, steps."""

    __slots__ = (
        "_notice_event", "_paths", "actor", "cycle_id", "effective_on", "notice", "now", "stages",
    )  # fmt: skip

    def __init__(
        self,
        cycle_id: str,
        stages: tuple[str, ...],
        effective_on,
        now,
        actor,
        notice: _TestNotice | None,
    ):
        self.cycle_id, self.stages, self.effective_on = cycle_id, stages, effective_on
        self.now, self.actor, self.notice = now, actor, notice
        #: per case kind: (state reached, triggers, steps encoded, whether notified)
        self._paths: dict[str, tuple] = {}
        self._notice_event = EventEncoder("notice", actor, now, cycle_id) if notice else None

    def __call__(self, d) -> tuple:
        """The :class:`OpenedCase` as a plain tuple of its fields, its notice too: it
        travels back from a worker, and NamedTuples pickle several times slower
        (:mod:`promoflow.engine.parallel`); ``OpenedCase._make`` makes it whole. Its
        transition events are not in it: they differ between cases only in employee, rule
        and case id (:meth:`events`)."""
        kind = kind_for_decision(d.outcome, bool(d.probation), d.review)
        path = self._path_of(kind)
        notice = self._test_notice(d) if path.notify and self.notice else None
        return tuple(
            OpenedCase(
                kind=kind,
                state=path.state,
                flagged=initial_flag(kind, d),
                effective_on=self.effective_on if d.outcome in ("promoted", "demoted") else None,
                triggers=path.triggers,
                notice=notice.plain() if notice is not None else None,
            )
        )

    def events(self, kind: str, employee_id: str, rule: str | None, case_id: int) -> list:
        """A new case's ``case_transition`` events, encoded: one per step, the payloads
        (checked and encoded once per kind) shared between cases. Plain tuples of the
        :class:`~promoflow.engine.audit.trail.Encoded` fields: 142k of them are built in
        the writing process of a 100k open, and ``Encoded(…)`` costs 0.3 µs more each."""
        kind_, actor, at, cid = "case_transition", self.actor, self.now, self.cycle_id
        return [
            (kind_, actor, at, trigger, employee_id, cid, case_id, before, after, rule)
            for trigger, before, after in self._path_of(kind).steps
        ]

    def _path_of(self, kind: str) -> _OpeningPath:
        path = self._paths.get(kind)
        if path is None:
            path = self._paths[kind] = self._path(kind)
        return path

    def _path(self, kind: str) -> _OpeningPath:
        """The state a new case of ``kind`` reaches and its steps, each step's audit event
        payloads encoded (and the event checked) once."""
        spec = spec_for(kind, self.stages)
        path = [("open", None, spec.initial)]
        state = spec.initial
        notify = kind == "promotion" and bool(self.stages)
        if notify:
            trig = f"notify_{stage_short(self.stages[0])}"
            state = fire(spec, state, trig)
            path.append((trig, spec.initial, state))
        steps = []
        for trig, before, after in path:
            e = encode_event(
                Event(
                    kind="case_transition",
                    actor=self.actor,
                    at=self.now,
                    subject=trig,
                    cycle_id=self.cycle_id,
                    before={"state": before} if before else None,
                    after={"state": after, "trigger": trig},
                ),
                plain=True,
            )
            steps.append(_Step(e.subject, e.before, e.after))
        return _OpeningPath(state, tuple(t for t, _b, _a in path), tuple(steps), notify)

    def _test_notice(self, d):
        """The written-test notice, rendered (its case id is filled in when written)."""
        n = self.notice
        name = n.names.get(d.employee_id)
        params = notice_params(
            _CycleRef(self.cycle_id),
            _NameRef(name) if name is not None else None,
            d,
            deadline=n.deadline,
            pass_mark=n.pass_mark,
        )
        outgoing = Outgoing(self.cycle_id, d.employee_id, None, "test", params)
        prepared = prepare(
            outgoing, n.lang, self.now, self.actor, self._notice_event, domain=n.domain
        )
        return PreparedNotice(prepared.key, n.bind(prepared.row), prepared.event)


_CycleRef = namedtuple("_CycleRef", "cycle_id")
_NameRef = namedtuple("_NameRef", "name")


class _Step(NamedTuple):
    """One step of opening a case: its trigger and audit payloads, encoded once per kind."""

    trigger: str
    before: str | None
    after: str | None


class _OpeningPath(NamedTuple):
    """How a new case of one kind opens."""

    state: str
    triggers: tuple[str, ...]
    steps: tuple[_Step, ...]
    notify: bool


class OpenedCase(NamedTuple):
    """How a decision's case opens, as planned beside the decision (in a worker)."""

    kind: str
    state: str
    flagged: str | None
    effective_on: Any
    triggers: tuple[str, ...]
    #: its written-test notice (:meth:`PreparedNotice.plain` form), case id still unknown
    notice: tuple | None


# --- deadlines and stage notices ----------------------------------------------------------


def deadline(
    session: Session, cycle: Cycle, pack, now: datetime, actor: str, *, stage: str
) -> dict:
    """Cases still waiting for a ``stage`` result at its deadline wait on, flagged for HR."""
    stages = pack_stages(pack)
    if stage not in stages:
        return {}
    s = stage_short(stage)
    spec = spec_for("promotion", stages)
    moves = Moves(cycle.cycle_id)
    when = _fmt(now, pack)
    for ref in load_refs(session, cycle.cycle_id, (f"{s}_notified",)):
        if ref.kind != "promotion":
            continue
        flag = f"{stage} result missing at deadline {when}: HR to record it or decide by override"
        moves.fire(spec, ref, f"deadline_{s}", reason=flag, flagged=flag)
    moves.write(session, now, actor)
    return {**moves.counts(), "flagged": len(moves.moves)}


def notify(session: Session, cycle: Cycle, pack, now: datetime, actor: str, *, stage: str) -> dict:
    """Notify everyone who passed the previous stage of ``stage`` (interview notices)."""
    stages = pack_stages(pack)
    if stage not in stages or stages.index(stage) == 0:
        return {}
    prev = stage_short(stages[stages.index(stage) - 1])
    refs, decisions, people = refs_with_people(
        session, cycle.cycle_id, (f"{prev}_passed",), NOTICE_DECISION_COLUMNS, JOINED_NAME_COLUMNS
    )
    refs = [r for r in refs if r.kind == "promotion"]
    moves, notices = _notify(cycle, pack, refs, stage, decisions, people)
    moves.write(session, now, actor)
    return {**moves.counts(), "notices": queue(session, notices, now, actor)}


def notify_refs(session, cycle, pack, refs: list[CaseRef], stage: str, now: datetime):
    """Moves and notices inviting ``refs`` to ``stage`` (also used for late results)."""
    decisions = decision_rows(
        session, cycle.cycle_id, NOTICE_DECISION_COLUMNS, [r.decision_id for r in refs]
    )
    people = people_by_id(session, [r.employee_id for r in refs], NAME_COLUMNS)
    return _notify(cycle, pack, refs, stage, decisions, people)


def _notify(cycle, pack, refs: list[CaseRef], stage: str, decisions, people):
    stages = pack_stages(pack)
    s = stage_short(stage)
    spec = spec_for("promotion", stages)
    period = parse_period(cycle.period_id)
    at = (
        cycle.interview_at
        or milestone_time(pack.calendar, period, "interview_notice").replace(hour=10, minute=0)
        + _one_day()
    )
    place = cycle.interview_place or DEFAULT_PLACE
    at_text = _fmt(at, pack)
    trigger, kind = f"notify_{s}", s if s == "interview" else "test"
    moves, notices = Moves(cycle.cycle_id), []
    for ref in refs:
        moves.fire(spec, ref, trigger)
        d = decisions[ref.decision_id]
        if kind == "test":  # a nominee invited after open (a pending decision decided again)
            extra = {
                "deadline": _fmt(milestone_time(pack.calendar, period, "test_due"), pack),
                "pass_mark": guards.pass_mark(stage, dict(pack.pass_marks)),
            }
        else:
            extra = {"interview_at": at_text, "interview_place": place}
        notices.append(
            Outgoing(
                cycle.cycle_id,
                ref.employee_id,
                ref.id,
                kind,
                notice_params(cycle, people.get(ref.employee_id), d, **extra),
            )
        )
    return moves, notices


def _one_day():
    return timedelta(days=1)


# --- probation review ----------------------------------------------------------------------


def probation_review(session: Session, cycle: Cycle, pack, now: datetime, actor: str) -> dict:
    """Read each probation month's score: ≥ pass mark clears, below goes to department review."""
    refs = [
        r for r in load_refs(session, cycle.cycle_id, ("on_probation",)) if r.kind == "probation"
    ]
    if not refs:
        return {}
    period = parse_period(cycle.period_id)
    month = probation_month(period)
    marks = dict(pack.pass_marks)
    recorded = {
        e: v
        for e, v in session.execute(
            select(StageResult.employee_id, StageResult.value).where(
                StageResult.cycle_id == cycle.cycle_id, StageResult.stage == "probation_review"
            )
        )
    }
    people = people_by_id(session, [r.employee_id for r in refs])
    month_scores = _probation_scores(
        session, pack, month, [people[r.employee_id] for r in refs if r.employee_id in people]
    )
    decisions = decision_rows(session, cycle.cycle_id, NOTICE_DECISION_COLUMNS)
    moves, notices, results = Moves(cycle.cycle_id), [], []
    for ref in refs:
        if ref.employee_id in recorded:
            verdict = guards.judge("probation_review", recorded[ref.employee_id], marks)
        elif month_scores.get(ref.employee_id) is not None:
            score = month_scores[ref.employee_id]
            verdict = guards.judge("probation_review", str(score), marks)
            results.append(
                {
                    "cycle_id": cycle.cycle_id,
                    "employee_id": ref.employee_id,
                    "stage": "probation_review",
                    "value": str(score),
                    "score": score,
                    "passed": verdict.passed,
                    "recorded_at": now,
                }
            )
        else:
            moves.flag(ref, f"{month} score missing at probation review: HR to record it")
            continue
        after = moves.fire(
            spec_for("probation"),
            ref,
            "record_probation",
            reason=verdict.explain(),
            verdict=verdict,
            flagged=None,
        )
        if after == "dismissal_review":
            d = decisions[ref.decision_id]
            notices.append(
                Outgoing(
                    cycle.cycle_id,
                    ref.employee_id,
                    ref.id,
                    "dismissal_review",
                    notice_params(
                        cycle,
                        people.get(ref.employee_id),
                        d,
                        probation_month=month,
                        score=verdict.score if verdict.score is not None else verdict.value,
                        pass_mark=guards.pass_mark("probation_review", marks),
                    ),
                )
            )
    if results:
        insert_rows(session, StageResult.__table__, results)
    moves.write(session, now, actor)
    return {**moves.counts(), "notices": queue(session, notices, now, actor)}


def _probation_scores(
    session, pack, month: str, employees: list[Employee]
) -> dict[str, Decimal | None]:
    """Each employee's probation-month score from the FACTS engineer's ``build_facts``."""
    if not employees:
        return {}
    facts = build_facts(session, pack, month, employees)
    out = {}
    for e in employees:
        f = facts.get(e.employee_id, {})
        value = f.get("probation_score")
        if value is None:
            value = f.get("monthly_score")
        out[e.employee_id] = value
    return out
