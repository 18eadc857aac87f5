"""Milestone timelines for the dashboard, from the scheduler's calendar of each track.

The calendar is the scheduler's (``scheduler.calendar`` over the active packs); the
console only reads it. If the calendars cannot be read (no pack loaded yet), the
dashboard shows no timeline rather than failing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from promoflow.engine.read.queries import MILESTONE_ORDER

log = logging.getLogger(__name__)


def _calendars(session: Session):
    try:
        from promoflow.engine.scheduling.service import load_calendars

        return load_calendars(session)
    except Exception:  # the packs or the scheduler may not be there yet
        log.debug("no calendars for the dashboard", exc_info=True)
        return {}


def upcoming(session: Session, now: datetime, days: int = 100, limit: int = 8) -> list[dict]:
    """The next milestones of every track within ``days``, soonest first."""
    calendars = _calendars(session)
    if not calendars:
        return []
    from promoflow.rules.calendar import milestones_between

    found = milestones_between(calendars, now, now + timedelta(days=days))
    return [
        {"at": m.at, "cycle_id": m.cycle_id, "milestone": m.milestone, "note": m.note}
        for m in found[:limit]
    ]


def of_cycle(session: Session, cycle: dict[str, Any], now: datetime) -> list[dict]:
    """A cycle's milestones with their planned times, each marked done, next or later."""
    calendars = _calendars(session)
    if not calendars:
        return []
    from promoflow.rules.calendar import milestones_of_cycle

    try:
        planned = milestones_of_cycle(calendars, cycle["track"], cycle["period_id"])
    except Exception:
        log.debug("no milestones for %s", cycle["cycle_id"], exc_info=True)
        return []
    done_upto = (
        MILESTONE_ORDER.index(cycle["milestone"]) if cycle["milestone"] in MILESTONE_ORDER else -1
    )
    rows, next_marked = [], False
    for m in planned:
        position = MILESTONE_ORDER.index(m.milestone) if m.milestone in MILESTONE_ORDER else 99
        if position <= done_upto:
            status = "done"
        elif not next_marked:
            status, next_marked = "next", True
        else:
            status = "later"
        rows.append({"milestone": m.milestone, "at": m.at, "status": status, "due": m.at <= now})
    return rows
