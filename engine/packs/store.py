"""Rule packs in the database: every version ever loaded, by content hash.

A cycle pins the pack version it opened with (``cycles.pack_version``); loading a changed
pack stores a new version and makes it the active one for new cycles, and never touches
an open cycle, which keeps evaluating with the text it pinned. Old versions stay stored so
decisions can be replayed.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from promoflow.engine import rules_engine
from promoflow.engine.audit.trail import record
from promoflow.engine.storage.models import Cycle, PackVersion
from promoflow.errors import NotFoundError, PackError, Problem
from promoflow.rules.packs import Pack, bundled_packs, load_pack_text


@lru_cache(maxsize=64)
def _parse(pack_id: str, version: str, source: str) -> Pack:
    return load_pack_text(source, f"{pack_id}@{version[:12]}")


def ensure_compiles(pack: Pack) -> None:
    """Compile the pack's rulesets in durable_rules now, so a pack the engine refuses (too
    many rules, …) is refused at load time rather than when a cycle opens."""
    for kind in pack.cycle_kinds:
        try:
            rules_engine.compiled(pack, kind)
        except rules_engine.EngineError as exc:
            problem = Problem(f"the rule engine cannot compile the {kind} rules: {exc}", pack.file)
            raise PackError(f"{pack.file}: the rule engine refused the pack", [problem]) from exc


def store_pack(session: Session, pack: Pack, now: datetime, actor: str) -> PackVersion:
    """Store a validated pack and make it the active version of its track (idempotent).

    A version already stored and active changes nothing and writes no audit event.
    """
    ensure_compiles(pack)
    row = session.scalar(
        select(PackVersion).where(
            PackVersion.pack_id == pack.id, PackVersion.version == pack.version
        )
    )
    if row is not None and row.active:
        others = session.scalar(
            select(PackVersion.id).where(
                PackVersion.pack_id == pack.id, PackVersion.active, PackVersion.id != row.id
            )
        )
        if others is None:
            return row
    session.execute(
        update(PackVersion)
        .where(PackVersion.pack_id == pack.id, PackVersion.active)
        .values(active=False)
    )
    if row is None:
        row = PackVersion(
            pack_id=pack.id, version=pack.version, source=pack.source, active=True, loaded_at=now
        )
        session.add(row)
    else:
        row.active = True
        row.loaded_at = now
    session.flush()
    record(
        session,
        "pack_load",
        actor,
        now,
        subject=pack.id,
        after={"pack_id": pack.id, "version": pack.version, "file": pack.file},
        reason=f"rule pack {pack.id} version {pack.version[:12]} is now active",
    )
    return row


def load_bundled(session: Session, now: datetime, actor: str = "system") -> list[PackVersion]:
    """Store the bundled packs (``promoflow init``); a pack already active is left alone."""
    return [store_pack(session, pack, now, actor) for pack in bundled_packs().values()]


def active_pack(session: Session, track: str) -> Pack:
    """The pack new cycles of ``track`` use: the active stored version, else the bundled one.

    Raises KeyError for a track that has neither.
    """
    row = session.execute(
        select(PackVersion.pack_id, PackVersion.version, PackVersion.source)
        .where(PackVersion.pack_id == track, PackVersion.active)
        .order_by(PackVersion.loaded_at.desc(), PackVersion.id.desc())
        .limit(1)
    ).first()
    if row is not None:
        return _parse(row.pack_id, row.version, row.source)
    bundled = bundled_packs()
    if track in bundled:
        return bundled[track]
    raise KeyError(f"no rule pack for track {track!r}")


def pack_by_version(session: Session, pack_id: str, version: str) -> Pack:
    """The exact pack text a cycle pinned (stored, else bundled with the same hash)."""
    source = session.scalar(
        select(PackVersion.source).where(
            PackVersion.pack_id == pack_id, PackVersion.version == version
        )
    )
    if source is not None:
        return _parse(pack_id, version, source)
    bundled = bundled_packs().get(pack_id)
    if bundled is not None and bundled.version == version:
        return bundled
    raise NotFoundError(f"rule pack {pack_id} version {version[:12]} is not stored")


def pack_of(session: Session, cycle: Cycle) -> Pack:
    """The exact pack version a cycle was opened with (what its cases and milestones obey)."""
    return pack_by_version(session, cycle.pack_id, cycle.pack_version)


def pack_versions(session: Session, pack_id: str | None = None) -> list[PackVersion]:
    """Stored versions, newest first (for ``promoflow rules versions``)."""
    query = select(PackVersion).order_by(PackVersion.loaded_at.desc(), PackVersion.id.desc())
    if pack_id:
        query = query.where(PackVersion.pack_id == pack_id)
    return list(session.scalars(query))
