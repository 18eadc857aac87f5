"""Read-side counts of who is employed on which grade, for the demo's summary.

Nothing here changes data.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from promoflow.engine.imports.catalog import Catalog
from promoflow.engine.storage.models import Employee, GradeHistory


def stored_grades(session: Session) -> list[tuple[str, str, int, int]]:
    """(track, grade, employees, entry-graded) as stored, each track's grades low to high."""
    counts = session.execute(
        select(Employee.track, Employee.grade, func.count()).group_by(
            Employee.track, Employee.grade
        )
    ).all()
    entry = dict(
        session.execute(
            select(GradeHistory.grade, func.count())
            .where(GradeHistory.source == "entry_grading")
            .group_by(GradeHistory.grade)
        ).all()
    )
    catalog = Catalog.for_session(session)
    order = {(t, g): i for t in catalog.tracks for i, g in enumerate(catalog.grades(t))}
    rows = sorted(counts, key=lambda r: (r[0], order.get((r[0], r[1]), 999)))
    return [(t, g, n, entry.get(g, 0)) for t, g, n in rows]
