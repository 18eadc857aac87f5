"""What the rule packs say an import may contain: tracks, grades, positions, entry grades.

Valid tracks and grades are not hard-coded: they come from the rule packs — the active
stored version of each (``promoflow.engine.packs.store.active_pack``), else the bundled one — so
a new ladder or a renamed grade needs a pack change, not a code change. :class:`Catalog`
is the narrow view of the packs that validation needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from promoflow.engine.packs.store import active_pack
from promoflow.engine.storage.models import PackVersion
from promoflow.rules.packs import bundled_packs


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


@dataclass(frozen=True)
class Catalog:
    """Tracks → their packs, with lookups by the names HR writes in files."""

    packs: Mapping[str, Any]

    def __post_init__(self) -> None:
        # looked up once per row of a 100k-row file: computed once per import
        object.__setattr__(self, "_tracks", tuple(sorted(self.packs)))
        object.__setattr__(
            self, "_grade_sets", {t: frozenset(p.grades) for t, p in self.packs.items()}
        )

    @classmethod
    def bundled(cls) -> Catalog:
        """The catalog of the bundled rule packs."""
        return cls(packs=bundled_packs())

    @classmethod
    def for_session(cls, session) -> Catalog:
        """The packs new cycles would use: each track's active stored pack, else the bundled.

        So a pack HR loaded with a new grade accepts that grade in the next import.
        """
        bundled = bundled_packs()
        active: dict[str, set[str]] = {}
        for track, version in session.execute(
            select(PackVersion.pack_id, PackVersion.version).where(PackVersion.active)
        ):
            active.setdefault(track, set()).add(version)
        packs = {}
        for track in sorted(set(bundled) | set(active)):
            if track in bundled and active.get(track, {bundled[track].version}) == {
                bundled[track].version
            }:
                # the active version is the bundled text (same hash): no need to parse it
                packs[track] = bundled[track]
            else:
                packs[track] = active_pack(session, track)
        return cls(packs=packs)

    @property
    def tracks(self) -> tuple[str, ...]:
        """Every known track id, sorted."""
        return self._tracks

    def has_grade(self, track: str, grade: str) -> bool:
        """Whether ``grade`` is one of the grades of ``track``."""
        return grade in self._grade_sets[track]

    def grades(self, track: str) -> tuple[str, ...]:
        """The grades of ``track``, low to high."""
        return tuple(self.packs[track].grades)

    def position(self, track: str, name: str) -> Any | None:
        """The position of ``track`` named ``name`` (its id, Chinese or English name)."""
        wanted = _norm(name)
        for position in self.packs[track].positions:
            names = (position.id, getattr(position, "zh", ""), getattr(position, "en", ""))
            if any(n and _norm(str(n)) == wanted for n in names):
                return position
        return None

    def position_of_grade(self, track: str, grade: str) -> Any | None:
        """The position a grade belongs to, or None when the track has no positions for it."""
        try:
            return self.packs[track].position_of(grade)
        except (KeyError, ValueError, LookupError):
            return None

    def entry_grade(self, track: str, position: str) -> str:
        """The lowest grade of ``position`` in ``track`` (POLICY.md §1, entry grading).

        Raises KeyError when the track has no such position.
        """
        return self.packs[track].lowest_grade_of_position(position)

    def any_position(self, name: str) -> tuple[str, Any] | None:
        """The first (track, position) whose id or name is ``name``, over every track."""
        for track in self.tracks:
            position = self.position(track, name)
            if position is not None:
                return track, position
        return None

    def metric_names(self) -> frozenset[str]:
        """Metric names the packs' composite scores read (e.g. ``cs_assistant`` inputs)."""
        names: set[str] = set()
        for pack in self.packs.values():
            composites = getattr(pack, "composites", None) or {}
            for composite in composites.values():
                components = (
                    composite.get("components")
                    if isinstance(composite, Mapping)
                    else getattr(composite, "components", None)
                )
                names.update(components or {})
        return frozenset(names)

    def metric_scales(self) -> dict[str, Any]:
        """Metric → its scale (a ``rules.schema.Scale``), for the inputs a pack grades on a
        scale other than 0–100 (``cs_assistant``'s education 0/1/3/5, …)."""
        scales: dict[str, Any] = {}
        for track in self._tracks:  # type: ignore[attr-defined]
            scales.update(getattr(self.packs[track], "scales", None) or {})
        return scales

    def position_names(self) -> list[str]:
        """Every position id of every track (for error messages)."""
        return sorted({p.id for pack in self.packs.values() for p in pack.positions})
