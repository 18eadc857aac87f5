"""The audit trail: filters, export, and a visible verification status."""

from __future__ import annotations

from datetime import datetime, time

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from promoflow.console.web import exports, services
from promoflow.console.web.auth import Principal, db_session, require
from promoflow.console.web.render import render
from promoflow.engine.read import queries
from promoflow.errors import InputError

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
]


def _bound(value: str | None, tz, end: bool) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"bad date {value!r}: use YYYY-MM-DD") from exc
    if len(value) <= 10:
        parsed = datetime.combine(parsed.date(), time.max if end else time.min)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def audit_filter(
    request: Request,
    kind: str | None = None,
    actor: str | None = None,
    employee_id: str | None = None,
    cycle_id: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> queries.AuditFilter:
    """Filters from the query string; dates are days in the organisation's zone."""
    tz = request.app.state.runtime.tz
    try:
        lower, upper = _bound(since, tz, False), _bound(until, tz, True)
    except InputError:
        lower = upper = None
    return queries.AuditFilter(
        kind=kind or None,
        actor=actor or None,
        employee_id=employee_id or None,
        cycle_id=cycle_id or None,
        since=lower,
        until=upper,
    )


def verify_badge(session: Session) -> dict | None:
    """The verification result, or None when the verifier is not installed."""
    try:
        return services.verify_status(session)
    except services.ServiceUnavailable:
        return None


@router.get("/audit")
def audit_page(
    request: Request,
    flt: queries.AuditFilter = Depends(audit_filter),
    page: int = Query(1, ge=1),
    principal: Principal = Depends(require("audit_read")),
    session: Session = Depends(db_session),
) -> Response:
    """One page of the trail, newest first, with the verify status on top."""
    return render(
        request,
        "audit.html",
        principal,
        events=queries.list_audit(session, flt, page),
        kinds=queries.audit_kinds(session),
        verify=verify_badge(session),
        flt=flt,
        params=dict(request.query_params),
    )


@router.get("/audit/export.{fmt}")
def audit_export(
    fmt: str,
    flt: queries.AuditFilter = Depends(audit_filter),
    principal: Principal = Depends(require("audit_read")),
    session: Session = Depends(db_session),
) -> Response:
    """The filtered trail as CSV or XLSX, oldest first."""
    rows = queries.iter_audit(session, flt)
    if fmt == "xlsx":
        return exports.xlsx_response("audit", EXPORT_COLUMNS, rows)
    if fmt == "csv":
        return exports.csv_response("audit", EXPORT_COLUMNS, rows)
    from promoflow.errors import NotFoundError

    raise NotFoundError(f"no export format {fmt!r}")
