"""What every importer shares: the context it runs in, what it reports, cell parsers.

An importer is a module with three names (see ``promoflow.engine.imports.registry``):

- ``COLUMNS``: the header columns the file must have;
- ``validate(ctx) -> plan``: read the whole file and the database, note every bad row in
  ``ctx.errors`` (a :class:`RowErrors`), write nothing, and return whatever ``apply`` needs;
- ``apply(ctx, plan) -> Applied``: write the plan in bulk statements and return how many
  records changed plus the audit events to record (``ctx.import_id`` is set by then).

The service runs ``validate``, refuses the file if any row was bad, then records the
:class:`ImportRun`, runs ``apply`` and writes the audit events, all in the caller's
transaction: a file lands completely or not at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from promoflow.engine.audit.trail import Event
from promoflow.engine.imports.catalog import Catalog
from promoflow.engine.imports.problems import RowErrors
from promoflow.engine.imports.reader import Table
from promoflow.limits import IMPORT_COLUMNS, employee_id_problem, too_long

#: Amount columns are Numeric(20, 6): more would be rounded by the database and a
#: re-import of the same file would then look like a change. SQLite keeps Numeric as a
#: double, which holds 15 significant digits exactly: more are refused for the same reason.
MAX_DECIMALS = 6
MAX_INTEGER_DIGITS = 14
MAX_DIGITS = 15
QUANTUM = Decimal(1).scaleb(-MAX_DECIMALS)
#: rows per bulk statement; also the step of the progress bar
CHUNK = 10000

Progress = Callable[[int, int], None]
T = TypeVar("T")


@dataclass
class ImportContext:
    """Everything an importer may use: the file, the session, the time and who acts."""

    session: Session
    table: Table
    kind: str
    now: datetime
    actor: str
    errors: RowErrors
    progress: Progress | None = None
    import_id: int | None = None
    #: the packs' catalog; read from the session when first asked for (results need none)
    given_catalog: Catalog | None = None
    #: the table is this import's alone: an importer may drop its rows once it has read them
    release: bool = False
    #: whether the actor may change a grade alone (accounts.may_change_grades); when not,
    #: an employees file's grade changes become ``set_grade`` proposals
    may_change_grades: bool = True
    _done: int = 0

    @property
    def catalog(self) -> Catalog:
        """Tracks, grades and positions of the rule packs new cycles would use."""
        if self.given_catalog is None:
            self.given_catalog = Catalog.for_session(self.session)
        return self.given_catalog

    def advance(self, rows: int, total: int) -> None:
        """Report that ``rows`` more of ``total`` units of work are done."""
        self._done += rows
        if self.progress is not None:
            self.progress(min(self._done, total), total)

    def event(self, kind: str, **fields: Any) -> Event:
        """An audit event of this import (actor, time and import id filled in)."""
        extra = fields.pop("extra", {})
        return Event(
            kind=kind,
            actor=self.actor,
            at=self.now,
            extra={"import_id": self.import_id, "file": self.table.name, **extra},
            **fields,
        )


@dataclass
class Applied:
    """What ``apply`` did: records changed, audit events to record, counts for the report."""

    changed: int
    events: list[Event] = field(default_factory=list)
    details: dict[str, int] = field(default_factory=dict)


def require_columns(ctx: ImportContext, columns: Sequence[str]) -> bool:
    """Note every required column missing from the header; True when all are there."""
    missing = [c for c in columns if c not in ctx.table.header]
    for column in missing:
        ctx.errors.add(1, column, f"missing column {column!r} in the header")
    return not missing


def check_extra_cells(ctx: ImportContext) -> None:
    """A row with more cells than the header is shifted: refuse it rather than guess."""
    for line, extra in sorted(ctx.table.extras.items()):
        ctx.errors.add(
            line,
            None,
            f"more cells than the header's {len(ctx.table.header)} columns "
            f"(a shifted row?): {', '.join(repr(v) for v in extra)}",
        )


def check_cells(ctx: ImportContext) -> None:
    """What every kind of file must respect, checked before its importer reads it: each
    ``employee_id`` well formed (:func:`promoflow.limits.employee_id_problem`) and each
    free-text cell within its column's width (:data:`promoflow.limits.IMPORT_COLUMNS`).

    A bad cell is *settled*: the importer's own notes on it ("unknown employee") are left
    out. Each distinct value is judged once, so a 600k-row file costs one pass per column.
    """
    table, errors = ctx.table, ctx.errors
    checks = {"employee_id": employee_id_problem}
    for column, limit in IMPORT_COLUMNS.items():
        checks[column] = lambda value, column=column, limit=limit: too_long(value, column, limit)
    for column, problem_of in checks.items():
        at = table.index(column)
        if at is None or not table.records:
            continue
        values = {record[at] for record in table.records}
        values.discard("")
        if column != "employee_id" and max(map(len, values), default=0) <= IMPORT_COLUMNS[column]:
            continue
        bad = {v: problem for v in values if (problem := problem_of(v))}
        if not bad:
            continue
        for line, record in zip(table.lines, table.records, strict=True):
            if record[at] in bad:
                errors.settle(line, column, bad[record[at]])


#: the common case, plainly within every limit: at most 9 + 6 digits, no sign, no exponent
_PLAIN_NUMBER = re.compile(r"\d{1,9}(?:\.\d{1,6})?")


def parse_decimal(text: str) -> Decimal:
    """An exact number from a cell; ValueError with a plain reason when it is not one."""
    if _PLAIN_NUMBER.fullmatch(text):
        return Decimal(text)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    if value.adjusted() >= MAX_INTEGER_DIGITS:
        raise ValueError(f"{text!r} is too large")
    _, digits, exponent = value.as_tuple()
    if exponent >= -MAX_DECIMALS and len(digits) <= MAX_DIGITS:
        return value + 0  # the common case, decided without normalising
    if exponent < -MAX_DECIMALS and value != value.quantize(QUANTUM):
        raise ValueError(f"{text!r} has more than {MAX_DECIMALS} decimal places")
    if len(value.normalize().as_tuple().digits) > MAX_DIGITS:
        raise ValueError(f"{text!r} has more than {MAX_DIGITS} significant digits")
    return value + 0  # drops a negative zero's sign


def plain(value: Decimal) -> Decimal:
    """A stored Numeric without the trailing zeros of its scale: 85.500000 → 85.5."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return Decimal(text)


_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")


def parse_date(text: str) -> date:
    """A date written ``2025-10-01`` (also ``2025/10/01``, as Excel in Chinese writes it)."""
    m = _DATE.match(text)
    if not m:
        raise ValueError(f"bad date {text!r}: use YYYY-MM-DD, e.g. 2025-10-01")
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise ValueError(f"bad date {text!r}: no such day") from None


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
