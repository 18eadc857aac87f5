"""The dashboard: open cycles and their timelines, cases per state, what waits on HR."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from promoflow.console.web import charts, timeline
from promoflow.console.web.auth import Principal, db_session, require
from promoflow.console.web.i18n import translator
from promoflow.console.web.render import render
from promoflow.engine.read import queries

router = APIRouter()


def pending_override_count(session: Session) -> int | None:
    """Overrides waiting for a second person (None before the overrides table exists)."""
    try:
        from promoflow.engine.storage.models.overrides import Override
    except ImportError:
        return None
    return session.scalar(
        select(func.count()).select_from(Override).where(Override.status == "proposed")
    )


def cycle_charts(session: Session, cycle_id: str, lang: str) -> dict:
    """The two charts of a cycle, as SVG, labelled in ``lang``."""
    t = translator(lang)
    grades = ()
    cycle = session.get(queries.Cycle, cycle_id)
    if cycle is not None:
        try:
            from promoflow.engine.packs.store import pack_by_version

            grades = pack_by_version(session, cycle.pack_id, cycle.pack_version).grades
        except Exception:
            grades = ()
    dist = queries.grade_distribution(session, cycle_id, tuple(grades))
    steps = [
        (t(f"funnel.{s['step']}"), s["count"]) for s in queries.stage_funnel(session, cycle_id)
    ]
    return {
        "grades": charts.grade_bars(dist, t("cycle.before"), t("cycle.after")),
        "funnel": charts.funnel(steps),
    }


@router.get("/")
def dashboard(
    request: Request,
    principal: Principal = Depends(require("read")),
    session: Session = Depends(db_session),
) -> Response:
    """Where every cycle stands."""
    from promoflow.console.web.auth import language_of

    now = request.app.state.runtime.now()
    data = queries.dashboard(session)
    lang = language_of(request, principal)
    for cycle in data["cycles"]:
        cycle["timeline"] = timeline.of_cycle(session, cycle, now)
    latest = data["cycles"][0]["cycle_id"] if data["cycles"] else None
    return render(
        request,
        "dashboard.html",
        principal,
        data=data,
        upcoming=timeline.upcoming(session, now),
        pending_overrides=pending_override_count(session),
        latest=latest,
        charts=cycle_charts(session, latest, lang) if latest else None,
    )
