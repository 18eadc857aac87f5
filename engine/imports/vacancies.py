"""``vacancies.csv``: open headcount per (org unit, position), upserted.

POLICY.md §1: a sales promotion that changes position needs a vacancy in the higher
position of the same org unit. Positions are stored by their pack id (``senior_sales`` …)
whatever name the file used (id, Chinese or English), so lookups never depend on spelling.
Units and positions absent from the file keep their stored headcount.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from promoflow.engine.imports.base import (
    Applied,
    ImportContext,
    check_extra_cells,
    require_columns,
)
from promoflow.engine.storage.bulk import insert_rows, update_rows
from promoflow.engine.storage.models import Vacancy

COLUMNS = ("org_unit", "position", "open")

#: the largest headcount a row may open (the column is a 32-bit integer on PostgreSQL)
MAX_OPEN = 100_000


@dataclass
class Plan:
    values: dict[tuple[str, str], int] = field(default_factory=dict)


def validate(ctx: ImportContext) -> Plan:
    """Check every row: a known position, a whole number ≥ 0, each pair once."""
    plan = Plan()
    if not require_columns(ctx, COLUMNS):
        return plan
    check_extra_cells(ctx)
    errors = ctx.errors
    first_line: dict[tuple[str, str], int] = {}
    for row in ctx.table:
        ok = True
        for column in COLUMNS:
            if not row.get(column):
                errors.add(row.line, column, f"missing required field {column}")
                ok = False
        org_unit, name, text = row.get("org_unit"), row.get("position"), row.get("open")
        position = None
        if name:
            found = ctx.catalog.any_position(name)
            if found is None:
                errors.add(
                    row.line,
                    "position",
                    f"unknown position {name!r} (known: {', '.join(ctx.catalog.position_names())})",
                )
                ok = False
            else:
                position = found[1].id
        count = None
        if text:
            try:
                count = int(text)
            except ValueError:
                errors.add(
                    row.line, "open", f"non-numeric value {text!r}: open must be a whole number"
                )
                ok = False
            else:
                if count < 0:
                    errors.add(row.line, "open", f"negative vacancy {count}: open must be ≥ 0")
                    ok = False
                elif count > MAX_OPEN:
                    errors.add(
                        row.line, "open", f"vacancy {count} too large: open must be ≤ {MAX_OPEN:,}"
                    )
                    ok = False
        if org_unit and position:
            key = (org_unit, position)
            if key in first_line:
                errors.add(
                    row.line,
                    "position",
                    f"duplicate vacancy for {org_unit} {position} "
                    f"(first at line {first_line[key]})",
                )
                ok = False
            else:
                first_line[key] = row.line
                if ok:
                    plan.values[key] = count
    return plan


def apply(ctx: ImportContext, plan: Plan) -> Applied:
    """Insert new (unit, position) pairs and update those whose headcount changed."""
    table = Vacancy.__table__
    stored = {
        (unit, position): (id_, count)
        for id_, unit, position, count in ctx.session.execute(
            select(table.c.id, table.c.org_unit, table.c.position, table.c.open)
        )
    }
    inserts, updates, events = [], [], []
    for (unit, position), count in plan.values.items():
        old = stored.get((unit, position))
        if old is not None and old[1] == count:
            continue
        if old is None:
            inserts.append(
                {"org_unit": unit, "position": position, "open": count, "updated_at": ctx.now}
            )
        else:
            updates.append({"id": old[0], "open": count})
        events.append(
            ctx.event(
                "vacancy_upsert",
                subject=f"{unit}/{position}",
                before={"open": old[1]} if old else None,
                after={"org_unit": unit, "position": position, "open": count},
                reason=f"imported from {ctx.table.name}",
            )
        )
    insert_rows(ctx.session, table, inserts)
    update_rows(ctx.session, table, "id", updates, {"updated_at": ctx.now})
    ctx.advance(len(inserts) + len(updates), len(inserts) + len(updates))
    return Applied(
        changed=len(inserts) + len(updates),
        events=events,
        details={"inserted": len(inserts), "updated": len(updates)},
    )
