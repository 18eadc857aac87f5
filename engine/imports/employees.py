"""``employees.csv``: upsert staff by ``employee_id``, keeping a history of every grade.

A new employee gets a grade-history row (source ``import``, or ``entry_grading`` when the
grade was empty and the position set: POLICY.md §1 places a new hire at the lowest grade
of the position he qualified for). A re-import that changes a grade writes another row
with the previous grade; a re-import that changes nothing writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any

from sqlalchemy import select

from promoflow.engine.audit.trail import Event
from promoflow.engine.imports.base import (
    Applied,
    ImportContext,
    check_extra_cells,
    chunks,
    parse_date,
    require_columns,
)
from promoflow.engine.imports.reader import Row
from promoflow.engine.overrides import service as overrides
from promoflow.engine.storage.bulk import insert_columns, update_rows
from promoflow.engine.storage.db import driver_rows
from promoflow.engine.storage.models import Case, CycleMilestone, Employee, GradeHistory
from promoflow.rules.calendar import EFFECTIVE

COLUMNS = ("employee_id", "name", "track", "grade", "grade_since")
OPTIONAL = ("hire_date", "org_unit", "position")
#: fields an import may change, compared to decide whether a row changed anything
FIELDS = ("name", "track", "grade", "grade_since", "hire_date", "org_unit", "position")


class _Keep:
    """The marker of a field the file leaves as stored (its column is not in the header)."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()


class EmployeeRow:
    """One valid row, with its grade resolved (entry grading applied for new hires).

    ``values`` holds :data:`FIELDS` in order, :data:`KEEP` where the file has no column.
    """

    __slots__ = ("employee_id", "entry_position", "line", "values")

    def __init__(
        self, line: int, employee_id: str, values: list, entry_position: str | None = None
    ) -> None:
        self.line = line
        self.employee_id = employee_id
        self.values = values
        #: set when the grade was empty: the position whose lowest grade to use
        self.entry_position = entry_position


_FIELD_AT = {f: i for i, f in enumerate(FIELDS)}
NAME, TRACK, GRADE, SINCE, HIRED, ORG_UNIT, POSITION = range(len(FIELDS))


@dataclass
class Plan:
    rows: list[EmployeeRow] = field(default_factory=list)
    #: employee_id → stored values of :data:`FIELDS`, in order
    existing: dict[str, tuple] = field(default_factory=dict)


def validate(ctx: ImportContext) -> Plan:
    """Check every row; resolve positions and entry grades; load the employees it touches.

    Rows that are plainly valid (nearly all) are checked by :class:`_Checker` from cached
    lookups; any row it is unsure of goes through :func:`_validate_row`, which finds and
    words every problem.
    """
    plan = Plan()
    if not require_columns(ctx, COLUMNS):
        return plan
    check_extra_cells(ctx)
    table, errors = ctx.table, ctx.errors
    checker = _Checker(ctx)
    first_line: dict[str, int] = {}
    append = plan.rows.append
    id_at = table.index("employee_id")
    for line, record in zip(table.lines, table.records, strict=True):
        row = checker.row(line, record)
        if row is None:
            before = len(errors)
            values = _validate_row(ctx, Row(line, dict(zip(table.header, record, strict=True))))
            row = _from_dict(line, values) if len(errors) == before else None
        employee_id = record[id_at]
        if employee_id:
            if employee_id in first_line:
                errors.add(
                    line,
                    "employee_id",
                    f"duplicate employee_id {employee_id!r} "
                    f"(first at line {first_line[employee_id]})",
                )
                continue
            first_line[employee_id] = line
        if row is not None:
            append(row)
    if not errors:
        plan.existing = _load_existing(ctx, [r.employee_id for r in plan.rows])
        _resolve_entry_grades(ctx, plan)
        if not ctx.may_change_grades:
            _refuse_track_changes(ctx, plan)
    return plan


def _refuse_track_changes(ctx: ImportContext, plan: Plan) -> None:
    """Moving someone to another track changes their grade too, and no override can
    propose it: for an actor who may not change grades, each such row is an error."""
    for row in plan.rows:
        old = plan.existing.get(row.employee_id)
        track = row.values[TRACK]
        if old is not None and track is not KEEP and track != old[TRACK]:
            ctx.errors.add(
                row.line,
                "track",
                f"moving {row.employee_id} from {old[TRACK]} to {track} changes a grade: "
                "it needs an hr_manager",
            )


def _from_dict(line: int, row: _DictRow) -> EmployeeRow:
    values = [row.values.get(f, KEEP) for f in FIELDS]
    return EmployeeRow(line, row.values["employee_id"], values, row.entry_position)


class _Checker:
    """The common case of :func:`_validate_row`, from lookups cached per distinct cell.

    :meth:`row` returns None whenever the row might hold any problem, so that the full
    check words it; it never accepts a row the full check would refuse.
    """

    def __init__(self, ctx: ImportContext) -> None:
        table = ctx.table
        self.catalog = ctx.catalog
        self.tracks = frozenset(self.catalog.tracks)
        at = {c: table.index(c) for c in (*COLUMNS, *OPTIONAL)}
        self.at = at
        self.has_hire = at["hire_date"] is not None
        self.has_org = at["org_unit"] is not None
        self.has_position = at["position"] is not None
        self.dates: dict[str, date | None] = {"": None}
        self.positions: dict[tuple[str, str], object] = {}
        self.grades: dict[tuple[str, str], tuple[bool, object]] = {}

    def _date(self, text: str) -> date | None:
        """The date of a cell ('' is None); ValueError when it is not one."""
        try:
            return self.dates[text]
        except KeyError:
            self.dates[text] = value = parse_date(text)
            return value

    def row(self, line: int, record: tuple[str, ...]) -> EmployeeRow | None:
        at = self.at
        employee_id, name = record[at["employee_id"]], record[at["name"]]
        track = record[at["track"]]
        if not (employee_id and name and track in self.tracks):
            return None
        grade, since_text = record[at["grade"]], record[at["grade_since"]]
        hire_text = record[at["hire_date"]] if self.has_hire else ""
        try:
            since, hired = self._date(since_text), self._date(hire_text)
        except ValueError:
            return None
        position_name = record[at["position"]] if self.has_position else ""
        position = None
        if position_name:
            key = (track, position_name)
            if key not in self.positions:
                self.positions[key] = self.catalog.position(track, position_name)
            position = self.positions[key]
            if position is None:
                return None
        entry_position = None
        if grade:
            key = (track, grade)
            found = self.grades.get(key)
            if found is None:
                known = self.catalog.has_grade(track, grade)
                found = self.grades[key] = (
                    known,
                    self.catalog.position_of_grade(track, grade) if known else None,
                )
            known, held = found
            if not known or not since_text:
                return None
            if position is not None and held is not None and held.id != position.id:  # type: ignore[attr-defined]
                return None
            position = held or position
        elif not position_name:
            return None
        else:
            entry_position = position.id  # type: ignore[attr-defined]
            since = since or hired
            if since is None:
                return None
        if self.has_position or grade:
            placed = position.id if position is not None else (position_name or None)  # type: ignore[attr-defined]
        else:
            placed = KEEP
        values = [
            name,
            track,
            grade or None,
            since,
            hired if self.has_hire else KEEP,
            (record[at["org_unit"]] or None) if self.has_org else KEEP,
            placed,
        ]
        return EmployeeRow(line, employee_id, values, entry_position)


@dataclass
class _DictRow:
    """What the full check of one row found (values by field name)."""

    line: int
    values: dict[str, object]
    entry_position: str | None = None


def _validate_row(ctx: ImportContext, row: Row) -> _DictRow:
    errors, catalog, present = ctx.errors, ctx.catalog, ctx.table.header
    cells = row.cells
    for column in ("employee_id", "name", "track"):
        if not cells.get(column):
            errors.add(row.line, column, f"missing required field {column}")
    values: dict[str, object] = {"employee_id": row.get("employee_id"), "name": row.get("name")}
    track = row.get("track")
    if track and track not in catalog.tracks:
        errors.add(
            row.line,
            "track",
            f"unknown track {track!r}: known tracks are {', '.join(catalog.tracks)}",
        )
        track = ""
    values["track"] = track

    dates: dict[str, date | None] = {}
    for column in ("grade_since", "hire_date"):
        text = row.get(column)
        dates[column] = None
        if text:
            try:
                dates[column] = parse_date(text)
            except ValueError as exc:
                errors.add(row.line, column, str(exc))
    if "hire_date" in present:
        values["hire_date"] = dates["hire_date"]
    if "org_unit" in present:
        values["org_unit"] = row.get("org_unit") or None

    grade, position_name = row.get("grade"), row.get("position")
    position = None
    if track and position_name:
        position = catalog.position(track, position_name)
        if position is None:
            names = ", ".join(p.id for p in catalog.packs[track].positions) or "none"
            errors.add(
                row.line,
                "position",
                f"unknown position {position_name!r} for track {track} (positions: {names})",
            )
    entry_position = None
    if grade:
        if track and not catalog.has_grade(track, grade):
            grades = catalog.grades(track)
            errors.add(
                row.line,
                "grade",
                f"unknown grade {grade!r} for track {track} ({grades[0]} … {grades[-1]})",
            )
        elif track:
            held = catalog.position_of_grade(track, grade)
            if position is not None and held is not None and held.id != position.id:
                errors.add(
                    row.line,
                    "position",
                    f"grade {grade} belongs to position {held.id}, not {position.id}",
                )
            position = held or position
        if not row.get("grade_since"):
            errors.add(row.line, "grade_since", "missing required field grade_since")
        values["grade_since"] = dates["grade_since"]
    elif not position_name:
        errors.add(
            row.line,
            "grade",
            "missing required field grade: give a grade, or a position for entry grading",
        )
    else:
        entry_position = position.id if position is not None else None
        since = dates["grade_since"] or dates["hire_date"]
        if since is None and not ({"grade_since", "hire_date"} & _bad_columns(errors, row.line)):
            errors.add(
                row.line,
                "grade_since",
                "missing required field grade_since (or hire_date) for entry grading",
            )
        values["grade_since"] = since
    values["grade"] = grade or None
    if "position" in present or grade:
        values["position"] = position.id if position is not None else (position_name or None)
    return _DictRow(line=row.line, values=values, entry_position=entry_position)


def _bad_columns(errors, line: int) -> set[str]:
    return {p.column for p in errors.problems if p.line == line and p.column}


def _load_existing(ctx: ImportContext, ids: list[str]) -> dict[str, tuple]:
    """The stored :data:`FIELDS` of the employees named in the file, by employee_id.

    A file naming many employees reads the whole table in one pass (cheaper than thousands
    of ``IN`` lists); a short one looks its employees up.
    """
    session = ctx.session
    table = Employee.__table__
    columns = [table.c.employee_id, *[table.c[f] for f in FIELDS]]
    if len(ids) <= 5000:
        existing: dict[str, tuple] = {}
        for part in chunks(ids, 2000):
            query = select(*columns).where(table.c.employee_id.in_(part))
            existing.update((row[0], tuple(row[1:])) for row in session.execute(query))
        return existing
    wanted = set(ids)
    # the values as SQLAlchemy would read them (SQLite keeps dates as text)
    rows = driver_rows(session, select(*columns), typed=True)
    return {row[0]: row[1:] for row in rows if row[0] in wanted}


def _resolve_entry_grades(ctx: ImportContext, plan: Plan) -> None:
    """An empty grade keeps an existing employee's grade on the same track; else entry-grade."""
    for row in plan.rows:
        if row.entry_position is None:
            continue
        values = row.values
        old = plan.existing.get(row.employee_id)
        if old is not None and old[TRACK] == values[TRACK]:
            values[GRADE] = old[GRADE]
            values[SINCE] = old[SINCE]
            held = ctx.catalog.position_of_grade(values[TRACK], old[GRADE])
            if held is not None:
                values[POSITION] = held.id
            row.entry_position = None
            continue
        try:
            values[GRADE] = ctx.catalog.entry_grade(values[TRACK], row.entry_position)
        except KeyError:
            ctx.errors.add(
                row.line,
                "position",
                f"position {row.entry_position!r} has no entry grade in track {values[TRACK]}",
            )


def _json(value: object) -> object:
    """A value as its audit event stores it (dates as ISO text, as the audit trail would)."""
    return value.isoformat() if isinstance(value, date) else value


def apply(ctx: ImportContext, plan: Plan) -> Applied:
    """Insert new employees, update changed ones, and record their grade history."""
    table, history = Employee.__table__, GradeHistory.__table__
    file = ctx.table.name
    extra = {"import_id": ctx.import_id, "file": file}  # shared: read, never changed
    created_reason = f"created by import of {file}"
    changed_reason = f"changed by import of {file}"
    inserts: list[EmployeeRow] = []
    updates: list[dict[str, object]] = []
    histories: list[tuple[EmployeeRow, tuple | None]] = []
    events: list[Event] = []
    #: employee → what changed that an open case decided on (grade, track, org unit)
    moved: dict[str, str] = {}
    new_event = partial(Event, actor=ctx.actor, at=ctx.now, extra=extra)
    isoformat: dict[object, object] = {}
    # a grade change that needs approval (POLICY.md §6) is kept here and proposed as an
    # override below
    regraded = _grade_changes_to_propose(ctx, plan)
    proposals: list[tuple[str, str | None, str]] = []  # (employee, cycle or None, grade)
    for row in plan.rows:
        values = row.values
        employee_id = row.employee_id
        old = plan.existing.get(employee_id)
        if old is None:
            inserts.append(row)
            histories.append((row, None))
            after = {}
            for f, value in zip(FIELDS, values, strict=True):
                if value is KEEP:
                    value = None
                elif value.__class__ is date:
                    if value not in isoformat:
                        isoformat[value] = value.isoformat()
                    value = isoformat[value]
                after[f] = value
            events.append(
                new_event(
                    kind="employee_upsert",
                    subject=employee_id,
                    employee_id=employee_id,
                    after=after,
                    reason=created_reason,
                )
            )
            if row.entry_position is not None:
                events.append(_grade_event(ctx, row, None))
            continue
        new = tuple(o if v is KEEP else v for v, o in zip(values, old, strict=True))
        if employee_id in regraded and new[GRADE] != old[GRADE]:
            proposals.append((employee_id, regraded[employee_id], new[GRADE]))
            moved[employee_id] = f"grade {old[GRADE]} → {new[GRADE]} (awaiting approval)"
            new = tuple(old[GRADE] if at == GRADE else v for at, v in enumerate(new))
        if new == old:
            continue
        changed = [f for f, n, o in zip(FIELDS, new, old, strict=True) if n != o]
        updates.append({"employee_id": employee_id, **dict(zip(FIELDS, new, strict=True))})
        events.append(
            new_event(
                kind="employee_upsert",
                subject=employee_id,
                employee_id=employee_id,
                before={f: _json(old[_FIELD_AT[f]]) for f in changed},
                after={f: _json(new[_FIELD_AT[f]]) for f in changed},
                reason=changed_reason,
            )
        )
        if new[GRADE] != old[GRADE] or new[TRACK] != old[TRACK]:
            row.values = list(new)
            histories.append((row, old))
            events.append(_grade_event(ctx, row, old))
        held = [
            f"{f} {old[at]} → {new[at]}"
            for f, at in (("track", TRACK), ("grade", GRADE), ("org_unit", ORG_UNIT))
            if new[at] != old[at]
        ]
        if held:
            moved[employee_id] = ", ".join(held)

    total = len(inserts) + len(updates) + len(histories)
    for part in chunks(inserts):
        columns = {"employee_id": [r.employee_id for r in part]}
        for at, f in enumerate(FIELDS):
            columns[f] = [None if r.values[at] is KEEP else r.values[at] for r in part]
        insert_columns(ctx.session, table, columns, {"active": True, "updated_at": ctx.now})
        ctx.advance(len(part), total)
    for part in chunks(updates):
        update_rows(ctx.session, table, "employee_id", part, {"updated_at": ctx.now})
        ctx.advance(len(part), total)
    entry_graded = grade_changes = 0
    for part in chunks(histories):
        rows = [_history(ctx, row, old) for row, old in part]
        entry_graded += sum(1 for r in rows if r[5] == "entry_grading")
        grade_changes += sum(1 for r in rows if r[3] is not None)
        insert_columns(
            ctx.session,
            history,
            dict(zip(_HISTORY, zip(*rows, strict=True), strict=True)),
            {"cycle_id": None, "recorded_at": ctx.now},
        )
        ctx.advance(len(part), total)
    held = _hold_open_cases(ctx, moved, events, file) if moved else 0
    for employee_id, cycle_id, grade in proposals:
        _propose_grade(ctx, employee_id, cycle_id, grade, file)
    return Applied(
        changed=len(inserts) + len(updates),
        events=events,
        details={
            "created": len(inserts),
            "updated": len(updates),
            "entry_graded": entry_graded,
            "grade_changes": grade_changes,
            "cases_held": held,
            "grades_proposed": len(proposals),
        },
    )


def _grade_changes_to_propose(ctx: ImportContext, plan: Plan) -> dict[str, str | None]:
    """The grade changes (same track) the file may not make alone: employee → the cycle of
    their open case, or None when they have none.

    Proposed rather than applied: every change by an actor who may not change grades; a
    change for someone whose case is open (four eyes on the cycle's decision); and a change
    of a grade an approved override set, which a stale file must not undo silently.
    """
    changing = [
        r.employee_id
        for r in plan.rows
        if (old := plan.existing.get(r.employee_id)) is not None
        and r.values[GRADE] is not KEEP
        and r.values[GRADE] != old[GRADE]
        and r.values[TRACK] in (KEEP, old[TRACK])
    ]
    if not changing:
        return {}
    effective_done = select(CycleMilestone.cycle_id).where(CycleMilestone.milestone == EFFECTIVE)
    found: dict[str, str | None] = {}
    for start in range(0, len(changing), 5000):
        part = changing[start : start + 5000]
        found.update(
            ctx.session.execute(
                select(Case.employee_id, Case.cycle_id).where(
                    Case.employee_id.in_(part), Case.cycle_id.not_in(effective_done)
                )
            ).all()
        )
    if not ctx.may_change_grades:
        return {e: found.get(e) for e in changing}
    for employee_id in _grade_set_by_override(ctx, [e for e in changing if e not in found]):
        found[employee_id] = None
    return found


def _grade_set_by_override(ctx: ImportContext, ids: list[str]) -> list[str]:
    """Those of ``ids`` whose latest grade-history row was written by an override."""
    history = GradeHistory.__table__
    latest: dict[str, str] = {}
    for part in chunks(ids, 2000):
        query = (
            select(history.c.employee_id, history.c.source)
            .where(history.c.employee_id.in_(part))
            .order_by(history.c.employee_id, history.c.effective_from, history.c.id)
        )
        latest.update((e, source) for e, source in ctx.session.execute(query))
    return [e for e, source in latest.items() if source == "override"]


def _propose_grade(
    ctx: ImportContext, employee_id: str, cycle_id: str | None, grade: str, file: str
) -> None:
    """The file's grade, as a ``set_grade`` override proposed by whoever imports it: it
    waits for an hr_manager other than them (four eyes)."""
    if cycle_id is not None:
        why = f"while a case in {cycle_id} is open"
    elif ctx.may_change_grades:
        why = "over the grade an approved override set"
    else:
        why = "by someone who may not change grades alone"
    overrides.propose(
        ctx.session,
        now=ctx.now,
        actor=ctx.actor,
        employee_id=employee_id,
        kind="set_grade",
        cycle_id=cycle_id,
        params={"to_grade": grade},
        reason=f"grade changed by the import of {file} {why}",
    )


def _hold_open_cases(ctx: ImportContext, moved: dict[str, str], events: list, file: str) -> int:
    """Flag ``employee_changed`` every case not yet effective of an employee whose grade,
    track or org unit the file changed (POLICY.md §6): its outcome reads ``pending`` and
    the effective step applies nothing to it until HR decides (``keep-decision`` or an
    override)."""
    effective_done = select(CycleMilestone.cycle_id).where(CycleMilestone.milestone == EFFECTIVE)
    ids = list(moved)
    flags = []
    for start in range(0, len(ids), 5000):
        part = ids[start : start + 5000]
        flags += ctx.session.execute(
            select(Case.id, Case.employee_id, Case.cycle_id).where(
                Case.employee_id.in_(part), Case.cycle_id.not_in(effective_done)
            )
        ).all()
    rows = []
    for case_id, employee_id, cycle_id in flags:
        flag = f"employee_changed: {moved[employee_id]}"
        rows.append({"id": case_id, "flagged": flag})
        events.append(
            Event(
                kind="case_flagged",
                actor=ctx.actor,
                at=ctx.now,
                subject=f"case:{case_id}",
                employee_id=employee_id,
                cycle_id=cycle_id,
                case_id=case_id,
                after={"flagged": flag},
                reason=f"the import of {file} changed what the decision was made on",
            )
        )
    if rows:
        update_rows(ctx.session, Case.__table__, "id", rows, {"updated_at": ctx.now})
    return len(rows)


_HISTORY = (
    "employee_id", "track", "grade", "previous_grade", "effective_from", "source", "reason",
)  # fmt: skip


def _history(ctx: ImportContext, row: EmployeeRow, old: tuple | None) -> tuple:
    """A grade-history row in :data:`_HISTORY` order."""
    values = row.values
    if row.entry_position is not None:
        source, reason = "entry_grading", _entry_reason(row)
    elif old is None:
        source = "import"
        reason = f"初始职级 / initial grade {values[GRADE]} from {ctx.table.name}"
    else:
        source = "import"
        reason = (
            f"职级变更 / grade {old[TRACK]}:{old[GRADE]} → {values[TRACK]}:{values[GRADE]} "
            f"in {ctx.table.name}"
        )
    return (
        row.employee_id,
        values[TRACK],
        values[GRADE],
        old[GRADE] if old else None,
        values[SINCE],
        source,
        reason,
    )


def _entry_reason(row: EmployeeRow) -> str:
    v = row.values
    return (
        f"入职定级：{row.entry_position} 的最低职级 {v[GRADE]} / entry grading: lowest grade "
        f"of position {row.entry_position} on track {v[TRACK]} is {v[GRADE]} (POLICY.md §1)"
    )


def _grade_event(ctx: ImportContext, row: EmployeeRow, old: tuple | None) -> Event:
    values = row.values
    return ctx.event(
        "grade_change",
        subject=row.employee_id,
        employee_id=row.employee_id,
        before={"track": old[TRACK], "grade": old[GRADE]} if old else None,
        after={
            "track": values[TRACK],
            "grade": values[GRADE],
            "effective_from": _json(values[SINCE]),
        },
        reason=_entry_reason(row) if row.entry_position is not None else "changed by import",
    )
