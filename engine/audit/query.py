"""Reading the audit trail: filter events, and write them out as CSV or JSON Lines.

Auditors ask "everything about this employee", "this case", "this cycle", "what did this
person do last week": :class:`EventFilter` answers all of them, streamed in sequence order
so an export of a million events never sits in memory at once.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from promoflow.csvcell import csv_cell
from promoflow.engine.storage.models.audit import AuditEvent
from promoflow.errors import InputError

EXPORT_COLUMNS = (
    "seq",
    "at",
    "actor",
    "kind",
    "subject",
    "employee_id",
    "cycle_id",
    "case_id",
    "before",
    "after",
    "reason",
    "prev_hash",
    "hash",
    "via",
)
FORMATS = ("csv", "jsonl")


@dataclass(frozen=True)
class EventFilter:
    """Which events to read; None means any. ``since``/``until`` are inclusive."""

    employee_id: str | None = None
    case_id: int | None = None
    cycle_id: str | None = None
    actor: str | None = None
    kinds: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, query: Select) -> Select:
        """``query`` narrowed to the events this filter selects."""
        if self.employee_id is not None:
            query = query.where(AuditEvent.employee_id == self.employee_id)
        if self.case_id is not None:
            query = query.where(AuditEvent.case_id == self.case_id)
        if self.cycle_id is not None:
            query = query.where(AuditEvent.cycle_id == self.cycle_id)
        if self.actor is not None:
            query = query.where(AuditEvent.actor == self.actor)
        if self.kinds:
            query = query.where(AuditEvent.kind.in_(self.kinds))
        if self.since is not None:
            query = query.where(AuditEvent.at >= self.since)
        if self.until is not None:
            query = query.where(AuditEvent.at <= self.until)
        return query


def find_events(
    session: Session, flt: EventFilter | None = None, limit: int | None = None, newest=False
) -> list[AuditEvent]:
    """Matching events in sequence order (the newest ``limit`` if ``newest``)."""
    query = (flt or EventFilter()).apply(select(AuditEvent))
    query = query.order_by(AuditEvent.seq.desc() if newest else AuditEvent.seq)
    if limit is not None:
        query = query.limit(limit)
    events = list(session.scalars(query))
    return events[::-1] if newest else events


def iter_events(
    session: Session, flt: EventFilter | None = None, chunk: int = 5000
) -> Iterator[AuditEvent]:
    """Every matching event, oldest first, fetched ``chunk`` at a time (keyset paging)."""
    base = (flt or EventFilter()).apply(select(AuditEvent)).order_by(AuditEvent.seq)
    last = 0
    while True:
        events = list(session.scalars(base.where(AuditEvent.seq > last).limit(chunk)))
        yield from events
        if len(events) < chunk:
            return
        last = events[-1].seq
        session.expunge_all()


def event_record(event: AuditEvent) -> dict[str, Any]:
    """One event as plain data, every stored field (times in ISO 8601, UTC)."""
    return {
        "seq": event.seq,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "kind": event.kind,
        "subject": event.subject,
        "employee_id": event.employee_id,
        "cycle_id": event.cycle_id,
        "case_id": event.case_id,
        "before": event.before,
        "after": event.after,
        "reason": event.reason,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
        "via": event.via,
    }


def export_events(session: Session, out: IO[str], fmt: str, flt: EventFilter | None = None) -> int:
    """Write matching events to ``out`` as ``csv`` or ``jsonl``; returns how many.

    CSV cells go through :func:`~promoflow.csvcell.csv_cell` (a reason ``=HYPERLINK(…)``
    is written ``'=HYPERLINK(…)``), so a spreadsheet runs nothing; JSON Lines keep every
    field exactly as stored (what re-hashing an event needs).
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}: use {' or '.join(FORMATS)}")
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
    for event in iter_events(session, flt):
        row = event_record(event)
        if fmt == "csv":
            for name in ("before", "after"):
                if row[name] is not None:
                    row[name] = json.dumps(row[name], ensure_ascii=False, sort_keys=True)
            writer.writerow({name: csv_cell(value) for name, value in row.items()})
        else:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count
