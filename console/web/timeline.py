"""Milestone timelines for the dashboard, from the one milestone clock of each track.

The times are the scheduler's and the notices' (:mod:`promoflow.rules.calendar` over the
active packs' calendars); the console only reads them. If the calendars cannot be read
(no pack loaded yet), the dashboard shows no timeline rather than failing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from promoflow.engine.bootstrap import Session
from promoflow.engine.scheduling.service import load_calendars
from promoflow.rules.calendar import milestones_between, milestones_of_cycle

log = logging.getLogger(__name__)


def _calendars(session: Session):
    try:
        return load_calendars(session)
    except Exception:  # the packs may not be there yet
        log.debug("no calendars for the dashboard", exc_info=True)
        return {}


def upcoming(session: Session, now: datetime, days: int = 100, limit: int = 8) -> list[dict]:
    """The next milestones of every track within ``days``, soonest first."""
    calendars = _calendars(session)
    if not calendars:
        return []
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
    try:
        planned = milestones_of_cycle(calendars, cycle["track"], cycle["period_id"])
    except Exception:
        log.debug("no milestones for %s", cycle["cycle_id"], exc_info=True)
        return []
    # the calendar's own firing order, ``effective`` included: the cycle's last step done
    # marks everything up to it done
    order = [m.milestone for m in planned]
    done_upto = order.index(cycle["milestone"]) if cycle["milestone"] in order else -1
    rows, next_marked = [], False
    for position, m in enumerate(planned):
        if position <= done_upto:
            status = "done"
        elif not next_marked:
            status, next_marked = "next", True
        else:
            status = "later"
        rows.append({"milestone": m.milestone, "at": m.at, "status": status, "due": m.at <= now})
    return rows
