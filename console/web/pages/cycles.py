"""Cycle pages: the list, one cycle's case table (filter, sort, page, export), one case."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from promoflow.console.web import exports, timeline
from promoflow.console.web.auth import DB, Principal, act, language_of, require
from promoflow.console.web.i18n import error_text
from promoflow.console.web.pages.dashboard import cycle_charts
from promoflow.console.web.pages.overrides import kind_labels
from promoflow.console.web.render import render
from promoflow.console.web.request_filters import case_filter
from promoflow.engine.bootstrap import Session, attempt
from promoflow.engine.cycles import steps
from promoflow.engine.read import queries
from promoflow.engine.read.overrides import case_overrides
from promoflow.errors import NotFoundError, PromoflowError

router = APIRouter()

EXPORT_COLUMNS = [
    "employee_id",
    "name",
    "org_unit",
    "from_grade",
    "to_grade",
    "outcome",
    "state",
    "rule",
    "review",
    "probation",
    "flagged",
    "rule_outcome",
    "rule_to_grade",
    "review_decision",
    "effective_from",
]


@router.get("/cycles")
def cycle_list(
    request: Request,
    principal: Principal = Depends(require("read")),
    session: Session = DB,
) -> Response:
    """Every cycle with its outcome counts."""
    return render(request, "cycles.html", principal, cycles=queries.list_cycles(session))


@router.get("/cycles/{cycle_id}")
def cycle_page(
    request: Request,
    cycle_id: str,
    flt: queries.CaseFilter = Depends(case_filter),
    sort: str = "employee_id",
    desc: bool = False,
    page: int = Query(1, ge=1, le=queries.MAX_PAGE),
    per_page: int = Query(50, ge=1, le=queries.MAX_PER_PAGE),
    principal: Principal = Depends(require("read")),
    session: Session = DB,
) -> Response:
    """One cycle: its numbers, charts and the case table (htmx asks for the table alone)."""
    cycle_obj = queries.get_cycle(session, cycle_id)
    cycle = queries.cycle_row(cycle_obj)
    cases = queries.list_cases(session, cycle_id, flt, sort, desc, page, per_page)
    context = {
        "cycle": cycle,
        "cases": cases,
        "flt": flt,
        "sort": sort,
        "desc": desc,
        "sorts": list(queries.CASE_SORTS),
    }
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "cases":
        return render(request, "_case_table.html", principal, **context)
    now = request.app.state.runtime.now()
    states = queries.state_counts(session, cycle_id)
    return render(
        request,
        "cycle.html",
        principal,
        choices=queries.filter_choices(session, cycle_obj, states),
        states=states,
        outcomes=queries.OUTCOMES,
        timeline=timeline.of_cycle(session, cycle, now),
        charts=cycle_charts(session, cycle_id, language_of(request, principal)),
        **context,
    )


@router.get("/cycles/{cycle_id}/export.{fmt}")
def cycle_export(
    request: Request,
    cycle_id: str,
    fmt: str,
    flt: queries.CaseFilter = Depends(case_filter),
    principal: Principal = Depends(require("export")),
    session: Session = DB,
) -> Response:
    """The (filtered) case table as CSV or XLSX."""
    queries.get_cycle(session, cycle_id)
    if fmt == "xlsx":
        rows = queries.iter_cases(session, cycle_id, flt)
        return exports.xlsx_response(cycle_id, EXPORT_COLUMNS, rows)
    if fmt == "csv":
        runtime = request.app.state.runtime
        rows = exports.streamed(runtime, queries.iter_cases, cycle_id, flt)
        return exports.csv_response(cycle_id, EXPORT_COLUMNS, rows)
    raise NotFoundError(f"no export format {fmt!r}")


@router.get("/cycles/{cycle_id}/cases/{employee_id}")
def case_page(
    request: Request,
    cycle_id: str,
    employee_id: str,
    principal: Principal = Depends(require("read")),
    session: Session = DB,
) -> Response:
    """One case: facts, rule and reasons, stage results, notices, overrides, timeline."""
    detail = queries.case_detail(session, cycle_id, employee_id)
    return render(
        request,
        "case.html",
        principal,
        cycle_id=cycle_id,
        d=detail,
        overrides=case_overrides(session, cycle_id, employee_id),
        kinds=kind_labels(),
    )


@router.post("/cycles/advance")
def cycle_advance(
    request: Request,
    cycle_id: str = Form(..., max_length=60),
    force_reason: str = Form(""),  # bounded by the service: an over-long one shows the form
    principal: Principal = Depends(act("cycle_run")),
    session: Session = DB,
) -> Response:
    """Open a cycle or run its next milestone by hand (as ``promoflow cycle advance``):
    before its calendar time only with a reason, which goes in the audit trail."""
    cycle_id = cycle_id.strip()
    try:
        with attempt(session):
            steps.run_by_hand(
                session,
                cycle_id,
                request.app.state.runtime.now(),
                principal.username,
                force=force_reason.strip() or None,
            )
    except PromoflowError as exc:
        return render(
            request,
            "cycles.html",
            principal,
            status_code=409,
            cycles=queries.list_cycles(session),
            error=error_text(exc, language_of(request, principal)),
        )
    return RedirectResponse(f"/cycles/{cycle_id}", status_code=303)
