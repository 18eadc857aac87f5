"""The dashboard: open cycles and their timelines, cases per state, what waits on HR."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from promoflow.console.web import charts, timeline
from promoflow.console.web.auth import DB, Principal, language_of, require
from promoflow.console.web.i18n import translator
from promoflow.console.web.render import render
from promoflow.engine.bootstrap import Session
from promoflow.engine.cycles import service as cycle_service
from promoflow.engine.read import packs as pack_reads
from promoflow.engine.read import queries
from promoflow.engine.read.overrides import pending_count

router = APIRouter()


def cycle_charts(session: Session, cycle_id: str, lang: str) -> dict:
    """The two charts of a cycle, as SVG, labelled in ``lang``."""
    t = translator(lang)
    grades = pack_reads.cycle_grades(session, cycle_id)
    dist = queries.grade_distribution(session, cycle_id, grades)
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
    session: Session = DB,
) -> Response:
    """Where every cycle stands."""
    now = request.app.state.runtime.now()
    data = queries.dashboard(session)
    lang = language_of(request, principal)
    for cycle in data["cycles"]:
        cycle["timeline"] = timeline.of_cycle(session, cycle, now)
        status = cycle_service.cycle_status(session, cycle["cycle_id"])
        cycle["closed"] = status["closed"]
        cycle["waiting"] = sum(status["waiting_on"].values())
    latest = data["cycles"][0]["cycle_id"] if data["cycles"] else None
    return render(
        request,
        "dashboard.html",
        principal,
        data=data,
        upcoming=timeline.upcoming(session, now),
        pending_overrides=pending_count(session),
        latest=latest,
        charts=cycle_charts(session, latest, lang) if latest else None,
    )
