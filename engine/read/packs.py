"""Read-side queries about rule packs: stored versions, their text, the cycles they ran.

Nothing here changes data; the pack pages of the console read through this module.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from promoflow.engine.packs.store import pack_of
from promoflow.engine.storage.models import Cycle, PackVersion
from promoflow.errors import NotFoundError, PromoflowError


def pack_versions(session: Session, pack_id: str | None = None) -> list[dict[str, Any]]:
    """Stored rule pack versions, newest first (without their text)."""
    query = select(
        PackVersion.id,
        PackVersion.pack_id,
        PackVersion.version,
        PackVersion.active,
        PackVersion.loaded_at,
    ).order_by(PackVersion.pack_id, PackVersion.loaded_at.desc(), PackVersion.id.desc())
    if pack_id:
        query = query.where(PackVersion.pack_id == pack_id)
    return [r._asdict() for r in session.execute(query)]


def pack_text(session: Session, pack_id: str, version: str) -> str:
    """The stored text of one pack version (a prefix of the hash is enough)."""
    row = session.scalar(
        select(PackVersion)
        .where(PackVersion.pack_id == pack_id, PackVersion.version.like(f"{version}%"))
        .limit(1)
    )
    if row is None:
        raise NotFoundError(f"no version {version!r} of pack {pack_id!r}")
    return row.source


def track_cycles(session: Session, track: str) -> list[str]:
    """The ids of every cycle of ``track``, newest period first (what-if's choices)."""
    query = select(Cycle.cycle_id).where(Cycle.track == track).order_by(Cycle.period_id.desc())
    return list(session.scalars(query))


def cycle_grades(session: Session, cycle_id: str) -> tuple[str, ...]:
    """The grades of the pack version a cycle pinned, low to high; none when unknown.

    For charts: a cycle whose pack cannot be read shows no grade axis rather than failing.
    """
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        return ()
    try:
        return tuple(pack_of(session, cycle).grades)
    except PromoflowError:
        return ()
