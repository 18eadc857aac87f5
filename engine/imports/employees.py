"""``employees.csv``: upsert staff by ``employee_id``, keeping a history of every grade.

A new employee gets a grade-history row (source ``import``, or ``entry_grading`` when the
grade was empty and the position set: POLICY.md §1 places a new hire at the lowest grade
of the position he qualified for). A re-import that changes a grade writes another row
with the previous grade; a re-import that changes nothing writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from promoflow.engine.imports.base import (
    Applied,
    ImportContext,
    check_extra_cells,
    chunks,
    parse_date,
    require_columns,
)
from promoflow.engine.imports.bulk import insert_rows, update_rows
from promoflow.engine.models import Employee, GradeHistory

COLUMNS = ("employee_id", "name", "track", "grade", "grade_since")
OPTIONAL = ("hire_date", "org_unit", "position")
#: fields an import may change, compared to decide whether a row changed anything
FIELDS = ("name", "track", "grade", "grade_since", "hire_date", "org_unit", "position")


@dataclass
class EmployeeRow:
    """One valid row, with its grade resolved (entry grading applied for new hires)."""

    line: int
    values: dict[str, object]
    #: set when the grade was empty: the position whose lowest grade to use
    entry_position: str | None = None


@dataclass
class Plan:
    rows: list[EmployeeRow] = field(default_factory=list)
    existing: dict[str, dict[str, object]] = field(default_factory=dict)


def validate(ctx: ImportContext) -> Plan:
    """Check every row; resolve positions and entry grades; load the employees it touches."""
    plan = Plan()
    if not require_columns(ctx, COLUMNS):
        return plan
    check_extra_cells(ctx)
    first_line: dict[str, int] = {}
    for row in ctx.table:
        before = len(ctx.errors)
        values = _validate_row(ctx, row)
        employee_id = row.get("employee_id")
        if employee_id:
            if employee_id in first_line:
                ctx.errors.add(
                    row.line,
                    "employee_id",
                    f"duplicate employee_id {employee_id!r} "
                    f"(first at line {first_line[employee_id]})",
                )
            else:
                first_line[employee_id] = row.line
        if values is not None and len(ctx.errors) == before:
            plan.rows.append(values)
    if not ctx.errors:
        plan.existing = _load_existing(ctx, [r.values["employee_id"] for r in plan.rows])
        _resolve_entry_grades(ctx, plan)
    return plan


def _validate_row(ctx: ImportContext, row) -> EmployeeRow | None:
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
    return EmployeeRow(line=row.line, values=values, entry_position=entry_position)


def _bad_columns(errors, line: int) -> set[str]:
    return {p.column for p in errors.problems if p.line == line and p.column}


def _load_existing(ctx: ImportContext, ids: list) -> dict[str, dict[str, object]]:
    table = Employee.__table__
    existing: dict[str, dict[str, object]] = {}
    for part in chunks(ids, 2000):
        for row in ctx.session.execute(
            select(table.c.employee_id, *[table.c[f] for f in FIELDS]).where(
                table.c.employee_id.in_(part)
            )
        ).mappings():
            existing[row["employee_id"]] = dict(row)
    return existing


def _resolve_entry_grades(ctx: ImportContext, plan: Plan) -> None:
    """An empty grade keeps an existing employee's grade on the same track; else entry-grade."""
    for row in plan.rows:
        if row.entry_position is None:
            continue
        values = row.values
        old = plan.existing.get(values["employee_id"])
        if old is not None and old["track"] == values["track"]:
            values["grade"] = old["grade"]
            values["grade_since"] = old["grade_since"]
            held = ctx.catalog.position_of_grade(values["track"], old["grade"])
            if held is not None:
                values["position"] = held.id
            row.entry_position = None
            continue
        try:
            values["grade"] = ctx.catalog.entry_grade(values["track"], row.entry_position)
        except KeyError:
            ctx.errors.add(
                row.line,
                "position",
                f"position {row.entry_position!r} has no entry grade in track {values['track']}",
            )


def apply(ctx: ImportContext, plan: Plan) -> Applied:
    """Insert new employees, update changed ones, and record their grade history."""
    table, history = Employee.__table__, GradeHistory.__table__
    inserts, updates, histories, events = [], [], [], []
    for row in plan.rows:
        values = row.values
        employee_id = values["employee_id"]
        old = plan.existing.get(employee_id)
        if old is None:
            record = {f: values.get(f) for f in FIELDS} | {
                "employee_id": employee_id,
                "active": True,
                "updated_at": ctx.now,
            }
            inserts.append(record)
            histories.append(_history(ctx, row, None))
            events.append(
                ctx.event(
                    "employee_upsert",
                    subject=employee_id,
                    employee_id=employee_id,
                    after={f: values.get(f) for f in FIELDS},
                    reason=f"created by import of {ctx.table.name}",
                )
            )
            if row.entry_position is not None:
                events.append(_grade_event(ctx, row, None))
            continue
        new = {f: values[f] if f in values else old[f] for f in FIELDS}
        changed = [f for f in FIELDS if new[f] != old[f]]
        if not changed:
            continue
        updates.append({"employee_id": employee_id, **new})
        events.append(
            ctx.event(
                "employee_upsert",
                subject=employee_id,
                employee_id=employee_id,
                before={f: old[f] for f in changed},
                after={f: new[f] for f in changed},
                reason=f"changed by import of {ctx.table.name}",
            )
        )
        if new["grade"] != old["grade"] or new["track"] != old["track"]:
            row.values = {"employee_id": employee_id, **new}
            histories.append(_history(ctx, row, old))
            events.append(_grade_event(ctx, row, old))

    total = len(inserts) + len(updates) + len(histories)
    for part in chunks(inserts):
        insert_rows(ctx.session, table, part)
        ctx.advance(len(part), total)
    for part in chunks(updates):
        update_rows(ctx.session, table, "employee_id", part, {"updated_at": ctx.now})
        ctx.advance(len(part), total)
    for part in chunks(histories):
        insert_rows(ctx.session, history, part)
        ctx.advance(len(part), total)
    grade_changes = sum(1 for h in histories if h["previous_grade"] is not None)
    return Applied(
        changed=len(inserts) + len(updates),
        events=events,
        details={
            "created": len(inserts),
            "updated": len(updates),
            "entry_graded": sum(1 for h in histories if h["source"] == "entry_grading"),
            "grade_changes": grade_changes,
        },
    )


def _history(ctx: ImportContext, row: EmployeeRow, old: dict | None) -> dict[str, object]:
    values = row.values
    if row.entry_position is not None:
        source, reason = "entry_grading", _entry_reason(row)
    elif old is None:
        source = "import"
        reason = f"初始职级 / initial grade {values['grade']} from {ctx.table.name}"
    else:
        source = "import"
        reason = (
            f"职级变更 / grade {old['track']}:{old['grade']} → {values['track']}:{values['grade']} "
            f"in {ctx.table.name}"
        )
    return {
        "employee_id": values["employee_id"],
        "track": values["track"],
        "grade": values["grade"],
        "previous_grade": old["grade"] if old else None,
        "effective_from": values["grade_since"],
        "source": source,
        "reason": reason,
        "cycle_id": None,
        "recorded_at": ctx.now,
    }


def _entry_reason(row: EmployeeRow) -> str:
    v = row.values
    return (
        f"入职定级：{row.entry_position} 的最低职级 {v['grade']} / entry grading: lowest grade "
        f"of position {row.entry_position} on track {v['track']} is {v['grade']} (POLICY.md §1)"
    )


def _grade_event(ctx: ImportContext, row: EmployeeRow, old: dict | None):
    values = row.values
    return ctx.event(
        "grade_change",
        subject=values["employee_id"],
        employee_id=values["employee_id"],
        before={"track": old["track"], "grade": old["grade"]} if old else None,
        after={
            "track": values["track"],
            "grade": values["grade"],
            "effective_from": values["grade_since"],
        },
        reason=_entry_reason(row) if row.entry_position is not None else "changed by import",
    )
