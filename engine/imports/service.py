"""The import service: one file in, validated whole, written in bulk, recorded and audited.

Entry points (the CLI, the demo, the web console, benchmarks) call :func:`run_import`
inside a transaction they commit. A file with any bad row raises :class:`InputError`
before anything is written; an accepted file always leaves one :class:`ImportRun` row and
one ``import`` audit event, even when it changed nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from promoflow.engine import collector
from promoflow.engine.audit.trail import record_many
from promoflow.engine.imports.base import ImportContext, Progress, check_cells
from promoflow.engine.imports.catalog import Catalog
from promoflow.engine.imports.problems import RowErrors
from promoflow.engine.imports.reader import Table, read_table
from promoflow.engine.imports.registry import importer
from promoflow.engine.storage.models import ImportRun
from promoflow.engine.users.accounts import may_change_grades
from promoflow.errors import InputError
from promoflow.limits import FILE_NAME, too_long


@dataclass(frozen=True)
class ImportReport:
    """What an accepted import did, for the console to print and callers to check."""

    kind: str
    file: str
    sha256: str
    rows: int
    changed: int
    import_id: int
    details: dict[str, int] = field(default_factory=dict)


def run_import(
    session: Session,
    kind: str,
    path: str | Path,
    now: datetime,
    actor: str,
    *,
    progress: Progress | None = None,
    catalog: Catalog | None = None,
) -> ImportReport:
    """Import the file at ``path`` as ``kind`` (the caller commits).

    Who imports matters for an employees file: the grade changes of an actor who may not
    change grades alone become proposals that wait for an ``hr_manager`` (POLICY.md §6;
    :func:`~promoflow.engine.users.accounts.may_change_grades`).
    """
    importer(kind)  # an unknown kind fails before the file is read
    with collector.paused():
        table = read_table(path)
        return _apply(session, kind, table, now, actor, progress, catalog, release=True)


def import_table(
    session: Session,
    kind: str,
    table: Table,
    now: datetime,
    actor: str,
    *,
    progress: Progress | None = None,
    catalog: Catalog | None = None,
) -> ImportReport:
    """Import an already-read table (lets generators import rows without a file)."""
    with collector.paused():
        return _apply(session, kind, table, now, actor, progress, catalog, release=False)


def _apply(
    session: Session,
    kind: str,
    table: Table,
    now: datetime,
    actor: str,
    progress: Progress | None,
    catalog: Catalog | None,
    *,
    release: bool,
) -> ImportReport:
    """Validate, refuse or record, apply and audit; ``release`` frees the table's rows once
    validated (a table read here for this import alone: 600k rows are worth freeing)."""
    module = importer(kind)
    ctx = ImportContext(
        session=session,
        table=table,
        kind=kind,
        now=now,
        actor=actor,
        given_catalog=catalog,
        release=release,
        errors=RowErrors(table.name),
        progress=progress,
        may_change_grades=kind != "employees" or may_change_grades(session, actor),
    )
    rows = len(table)
    problem = too_long(table.name, "file name", FILE_NAME)
    if problem:
        raise InputError(f"{problem}; nothing was imported")
    check_cells(ctx)
    plan = module.validate(ctx)
    ctx.errors.raise_if_any()
    if release:
        table.records, table.lines, table.extras = [], (), {}

    run = ImportRun(
        kind=kind,
        file_name=table.name,
        sha256=table.sha256,
        rows=rows,
        changed=0,
        actor=actor,
        at=now,
    )
    session.add(run)
    session.flush()
    ctx.import_id = run_id = run.id
    applied = module.apply(ctx, plan)
    run.changed = applied.changed
    summary = ctx.event(
        "import",
        subject=f"{kind}:{table.name}",
        after={
            "kind": kind,
            "sha256": table.sha256,
            "rows": rows,
            "changed": applied.changed,
            **applied.details,
        },
    )
    record_many(session, [summary, *applied.events])
    session.flush()
    return ImportReport(
        kind=kind,
        file=table.name,
        sha256=table.sha256,
        rows=rows,
        changed=applied.changed,
        import_id=run_id,
        details=dict(applied.details),
    )
