"""The audit trail: filters, export, and a visible verification status."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from promoflow.console.web import exports
from promoflow.console.web.auth import DB, Principal, require
from promoflow.console.web.render import render
from promoflow.console.web.request_filters import audit_filter
from promoflow.engine.bootstrap import Session
from promoflow.engine.read import queries
from promoflow.engine.read.audit_status import verify_status
from promoflow.errors import NotFoundError

router = APIRouter()

EXPORT_COLUMNS = [
    "seq",
    "at",
    "actor",
    "kind",
    "subject",
    "employee_id",
    "cycle_id",
    "case_id",
    "before",
    "after",
    "reason",
    "hash",
    "via",
]


@router.get("/audit")
def audit_page(
    request: Request,
    flt: queries.AuditFilter = Depends(audit_filter),
    page: int = Query(1, ge=1, le=queries.MAX_PAGE),
    principal: Principal = Depends(require("audit_read")),
    session: Session = DB,
) -> Response:
    """One page of the trail, newest first, with the verify status on top."""
    return render(
        request,
        "audit.html",
        principal,
        events=queries.list_audit(session, flt, page),
        kinds=queries.audit_kinds(session),
        verify=verify_status(session),
        flt=flt,
        params=dict(request.query_params),
    )


@router.get("/audit/export.{fmt}")
def audit_export(
    request: Request,
    fmt: str,
    flt: queries.AuditFilter = Depends(audit_filter),
    principal: Principal = Depends(require("audit_read")),
    session: Session = DB,
) -> Response:
    """The filtered trail as CSV or XLSX, oldest first."""
    if fmt == "xlsx":
        return exports.xlsx_response("audit", EXPORT_COLUMNS, queries.iter_audit(session, flt))
    if fmt == "csv":
        rows = exports.streamed(request.app.state.runtime, queries.iter_audit, flt)
        return exports.csv_response("audit", EXPORT_COLUMNS, rows)
    raise NotFoundError(f"no export format {fmt!r}")
