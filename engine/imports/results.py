"""``results.csv``: written-test, interview and probation-review results that move cases.

Columns ``employee_id, cycle, stage, value`` (INTERCHANGE.md). Each row is judged against
the pack's pass mark (:func:`promoflow.workflow.guards.judge`) and fires the case's
``record_<stage>`` trigger at once. A row is bad — and the whole file imports nothing —
when its cycle is unknown, the cycle did not invite the employee (no case, or a case with
no such stage), the case's state takes no such result now, the value is unreadable, or the
same result appears twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from promoflow.engine.audit.trail import Event
from promoflow.engine.cases.moves import CaseRef, Moves
from promoflow.engine.cycles import announce as late
from promoflow.engine.cycles.milestones import notify_refs
from promoflow.engine.cycles.service import done_steps, parse_cycle_id
from promoflow.engine.imports.base import Applied, ImportContext, check_extra_cells, require_columns
from promoflow.engine.notices.outbox import Outgoing, queue
from promoflow.engine.packs.store import pack_of
from promoflow.engine.storage.bulk import insert_columns
from promoflow.engine.storage.db import driver_rows
from promoflow.engine.storage.models import Case, Cycle, Decision, Employee, StageResult
from promoflow.errors import NotFoundError
from promoflow.rules.calendar import probation_month
from promoflow.rules.periods import parse_period
from promoflow.workflow import guards
from promoflow.workflow.specs import spec_for, stage_short

COLUMNS = ("employee_id", "cycle", "stage", "value")
PROBATION_STAGE = "probation_review"


@dataclass
class _CycleInfo:
    cycle: Cycle
    pack: Any
    stages: tuple[str, ...]
    #: employee_id → the stored columns of the case (a CaseRef made on first use, by ref())
    cases: dict[str, tuple]
    done: set[str]
    #: what the rows of a file repeat, worked out once per cycle
    known: tuple[str, ...] = ()
    pass_marks: dict[str, Any] = field(default_factory=dict)
    weights: dict[str, Any] = field(default_factory=dict)
    specs: dict[str, Any] = field(default_factory=dict)
    allowed: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    #: (stage, value) → its Verdict, or the reason it is unreadable
    verdicts: dict[tuple[str, str], guards.Verdict | str] = field(default_factory=dict)

    refs: dict[str, CaseRef] = field(default_factory=dict)

    def ref(self, employee_id: str) -> CaseRef | None:
        """The case of ``employee_id`` in this cycle (one object per case: moves update it)."""
        found = self.refs.get(employee_id)
        if found is None:
            row = self.cases.get(employee_id)
            if row is None:
                return None
            found = self.refs[employee_id] = CaseRef(*row)
        return found

    def spec(self, kind: str):
        """The machine of a case kind in this cycle."""
        found = self.specs.get(kind)
        if found is None:
            found = self.specs[kind] = spec_for(kind, self.stages)
        return found

    def verdict(self, stage: str, value: str) -> guards.Verdict | str:
        """The judged result (a Verdict is immutable, so rows with one value share it)."""
        key = (stage, value)
        found = self.verdicts.get(key)
        if found is None:
            try:
                found = guards.judge(stage, value, self.pass_marks, self.weights)
            except ValueError as exc:
                found = str(exc)
            self.verdicts[key] = found
        return found


@dataclass
class Item:
    """One accepted row: the case it moves, the trigger, and the judged result."""

    line: int
    info: _CycleInfo
    ref: CaseRef
    stage: str
    trigger: str
    verdict: guards.Verdict


@dataclass
class Plan:
    items: list[Item] = field(default_factory=list)


def _trigger_for(kind: str, stage: str, stages: tuple[str, ...]) -> str | None:
    if stage == PROBATION_STAGE:
        return "record_probation" if kind == "probation" else None
    if kind == "promotion" and stage in stages:
        return f"record_{stage_short(stage)}"
    return None


def _load_cycle(ctx: ImportContext, cid: str) -> _CycleInfo | None:
    cycle = ctx.session.get(Cycle, cid)
    if cycle is None:
        return None
    pack = pack_of(ctx.session, cycle)
    # the columns of load_refs, at driver level: a file names a part of 100k cases
    rows = driver_rows(
        ctx.session,
        select(
            Case.id, Case.employee_id, Case.kind, Case.state, Case.flagged, Case.decision_id
        ).where(Case.cycle_id == cid),
    )
    cases = {row[1]: row for row in rows}
    stages = tuple(pack.stages)
    return _CycleInfo(
        cycle,
        pack,
        stages,
        cases,
        done_steps(ctx.session, cid),
        known=(*stages, PROBATION_STAGE),
        pass_marks=dict(pack.pass_marks),
        weights=guards.competency_weights(getattr(pack, "competency_models", None)),
    )


def validate(ctx: ImportContext) -> Plan:
    """Check every row against the cycle, its cases and their states; write nothing."""
    plan = Plan()
    if not require_columns(ctx, COLUMNS):
        return plan
    check_extra_cells(ctx)
    errors, table = ctx.errors, ctx.table
    cycles: dict[str, _CycleInfo | None] = {}
    cycle_ids: dict[str, str | NotFoundError] = {}  # cycle cell → its id, or why it is bad
    seen: dict[tuple[str, str, str], int] = {}
    at = [table.index(c) for c in COLUMNS]
    for line, record in zip(table.lines, table.records, strict=True):
        employee_id, raw_cycle, stage, value = (record[i] for i in at)  # type: ignore[index]
        if not (employee_id and raw_cycle and stage and value):
            for column, cell in zip(COLUMNS, (employee_id, raw_cycle, stage, value), strict=True):
                if not cell:
                    errors.add(line, column, f"missing required field {column}")
            continue
        cid = cycle_ids.get(raw_cycle)
        if cid is None:
            try:
                cid = "-".join(parse_cycle_id(raw_cycle))
            except NotFoundError as exc:
                cid = exc
            cycle_ids[raw_cycle] = cid
        if isinstance(cid, NotFoundError):
            errors.add(line, "cycle", str(cid))
            continue
        if cid not in cycles:
            cycles[cid] = _load_cycle(ctx, cid)
        info = cycles[cid]
        if info is None:
            errors.add(line, "cycle", f"cycle {cid} has not been opened")
            continue
        known = info.known
        if stage not in known:
            errors.add(
                line, "stage", f"unknown stage {stage!r} for {cid} (known: {', '.join(known)})"
            )
            continue
        key = (cid, employee_id, stage)
        if key in seen:
            errors.add(
                line,
                "employee_id",
                f"duplicate {stage} result for {employee_id} (first at line {seen[key]})",
            )
            continue
        seen[key] = line
        ref = info.ref(employee_id)
        if ref is None:
            errors.add(line, "employee_id", f"{employee_id} was not evaluated in {cid}: no case")
            continue
        trigger = _trigger_for(ref.kind, stage, info.stages)
        if trigger is None:
            errors.add(
                line,
                "stage",
                f"{employee_id} was not invited to {stage} in {cid} (the case is a {ref.kind})",
            )
            continue
        allowed = info.allowed.get((ref.kind, ref.state))
        if allowed is None:
            allowed = info.allowed[(ref.kind, ref.state)] = info.spec(ref.kind).allowed(ref.state)
        if trigger not in allowed:
            spec = info.spec(ref.kind)
            takes = sorted({t.source for t in spec.transitions if t.trigger == trigger})
            errors.add(
                line,
                "stage",
                f"{employee_id}'s case is {ref.state!r}; a {stage} result is taken only in "
                f"{', '.join(takes)}",
            )
            continue
        verdict = info.verdict(stage, value)
        if isinstance(verdict, str):
            errors.add(line, "value", verdict)
            continue
        plan.items.append(Item(line, info, ref, stage, trigger, verdict))
    return plan


def apply(ctx: ImportContext, plan: Plan) -> Applied:
    """Record the results and move the cases (with any notice the move calls for)."""
    session, now = ctx.session, ctx.now
    events: list[Event] = []
    by_cycle: dict[str, list[Item]] = {}
    extra = {"import_id": ctx.import_id, "file": ctx.table.name}  # shared: read, never changed
    explained: dict[guards.Verdict, str] = {}
    for item in plan.items:
        verdict, cycle_id = item.verdict, item.info.cycle.cycle_id
        by_cycle.setdefault(cycle_id, []).append(item)
        reason = explained.get(verdict)
        if reason is None:
            reason = explained[verdict] = verdict.explain()
        events.append(
            Event(
                kind="stage_result",
                actor=ctx.actor,
                at=now,
                subject=item.stage,
                employee_id=item.ref.employee_id,
                cycle_id=cycle_id,
                case_id=item.ref.id,
                after={
                    "stage": item.stage,
                    "value": verdict.value,
                    "score": verdict.score,
                    "passed": verdict.passed,
                },
                reason=reason,
                extra=extra,
            )
        )
    items = plan.items
    if items:
        insert_columns(
            session,
            StageResult.__table__,
            {
                "cycle_id": [i.info.cycle.cycle_id for i in items],
                "employee_id": [i.ref.employee_id for i in items],
                "stage": [i.stage for i in items],
                "value": [i.verdict.value for i in items],
                "score": [i.verdict.score for i in items],
                "passed": [i.verdict.passed for i in items],
            },
            {"recorded_at": now},
        )
    moved = 0
    for cycle_items in by_cycle.values():
        moved += _move(ctx, cycle_items)
    return Applied(changed=len(items), events=events, details={"cases moved": moved})


def _move(ctx: ImportContext, items: list[Item]) -> int:
    session, now, actor = ctx.session, ctx.now, ctx.actor
    info = items[0].info
    cycle = info.cycle
    moves = Moves(cycle.cycle_id)
    late_passed: list[CaseRef] = []
    late_ready: list[int] = []
    failed_probation: list[tuple[CaseRef, guards.Verdict]] = []
    last = f"{stage_short(info.stages[-1])}_passed" if info.stages else None
    announced = "announce" in info.done
    for item in items:
        spec = info.spec(item.ref.kind)
        after = moves.fire(
            spec,
            item.ref,
            item.trigger,
            reason=item.verdict.explain(),
            flagged=None,
            verdict=item.verdict,
        )
        if (
            after == "test_passed"
            and "interview_notice" in info.done
            and "interview" in info.stages
        ):
            late_passed.append(item.ref)
        if after == "dismissal_review":
            failed_probation.append((item.ref, item.verdict))
        if after == last and announced:
            # announced already: the case is announced (and made effective) on its own
            late_ready.append(item.ref.id)
    notices: list[Outgoing] = []
    if late_passed:
        more, notices = notify_refs(session, cycle, info.pack, late_passed, "interview", now)
        moves.moves.extend(more.moves)
    if failed_probation:
        notices += _dismissal_notices(session, cycle, info.pack, failed_probation)
    moves.write(session, now, actor)
    queue(session, notices, now, actor)
    if late_ready:
        late.move_on_late(session, cycle, info.pack, late_ready, now, actor)
    return len(items)


def _dismissal_notices(session, cycle: Cycle, pack, failed) -> list[Outgoing]:
    ids = [ref.employee_id for ref, _ in failed]
    people = {
        e.employee_id: e
        for e in session.scalars(select(Employee).where(Employee.employee_id.in_(ids)))
    }
    decisions = {
        d.id: d
        for d in session.scalars(select(Decision).where(Decision.cycle_id == cycle.cycle_id))
    }
    month = probation_month(parse_period(cycle.period_id))
    out = []
    for ref, verdict in failed:
        d = decisions[ref.decision_id]
        emp = people.get(ref.employee_id)
        out.append(
            Outgoing(
                cycle.cycle_id,
                ref.employee_id,
                ref.id,
                "dismissal_review",
                {
                    "cycle_id": cycle.cycle_id,
                    "employee_id": ref.employee_id,
                    "name": emp.name if emp else ref.employee_id,
                    "from_grade": d.from_grade,
                    "to_grade": d.to_grade,
                    "probation_month": month,
                    "score": verdict.score if verdict.score is not None else verdict.value,
                    "pass_mark": guards.pass_mark(PROBATION_STAGE, dict(pack.pass_marks)),
                },
            )
        )
    return out
