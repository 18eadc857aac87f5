"""Filters parsed from a request's query string, shared by the pages and the API.

Pure request parsing: each turns query parameters into the read side's filter object
(:class:`~promoflow.engine.read.queries.CaseFilter`, ``AuditFilter``) and reads nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from fastapi import Query, Request

from promoflow.engine.read import queries
from promoflow.errors import InputError


def case_filter(
    q: str | None = None,
    outcome: str | None = None,
    state: str | None = None,
    grade: str | None = None,
    org_unit: str | None = None,
    flagged: str | None = None,
    review: str | None = None,
) -> queries.CaseFilter:
    """Filters from the query string (empty values mean any)."""
    return queries.CaseFilter(
        q=q or None,
        outcome=outcome or None,
        state=state or None,
        grade=grade or None,
        org_unit=org_unit or None,
        flagged=True if flagged in ("1", "true", "on") else None,
        review=review or None,
    )


def _bound(value: str | None, tz, end: bool) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"bad date {value!r}: use YYYY-MM-DD") from exc
    if len(value) <= 10:
        parsed = datetime.combine(parsed.date(), time.max if end else time.min)
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    try:  # 9999-12-31T23:59:59-14:00 parses, but is no instant a database can compare
        parsed.astimezone(UTC)
    except OverflowError as exc:
        raise InputError(f"date {value!r} is out of range") from exc
    return parsed


def _audit_filter(
    request: Request,
    strict: bool,
    kind: str | None,
    actor: str | None,
    employee_id: str | None,
    cycle_id: str | None,
    since: str | None,
    until: str | None,
) -> queries.AuditFilter:
    tz = request.app.state.runtime.tz
    try:
        lower, upper = _bound(since, tz, False), _bound(until, tz, True)
    except InputError:
        if strict:
            raise
        lower = upper = None
    return queries.AuditFilter(
        kind=kind or None,
        actor=actor or None,
        employee_id=employee_id or None,
        cycle_id=cycle_id or None,
        since=lower,
        until=upper,
    )


def api_audit_filter(
    request: Request,
    kind: str | None = None,
    actor: str | None = None,
    employee_id: str | None = None,
    cycle_id: str | None = None,
    since: str | None = Query(None, description="YYYY-MM-DD or an ISO 8601 time"),
    until: str | None = Query(None, description="YYYY-MM-DD or an ISO 8601 time"),
) -> queries.AuditFilter:
    """The API's audit filters: a date that does not parse, or is out of range, is 422."""
    return _audit_filter(request, True, kind, actor, employee_id, cycle_id, since, until)


def audit_filter(
    request: Request,
    kind: str | None = None,
    actor: str | None = None,
    employee_id: str | None = None,
    cycle_id: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> queries.AuditFilter:
    """Filters from the query string; dates are days in the organisation's zone (the page
    ignores a date it cannot read)."""
    return _audit_filter(request, False, kind, actor, employee_id, cycle_id, since, until)
