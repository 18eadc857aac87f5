"""The REST API under ``/api``: the same services as the CLI and the pages, as JSON.

Token auth only (``Authorization: Bearer …``, issued by ``promoflow user token``); no
token → 401, a role that does not allow the route → 403. Scores stay exact: decimals are
sent as strings. OpenAPI at ``/api/openapi.json``, Swagger UI at ``/api/docs`` with its
assets served locally.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Query, Request, UploadFile
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from promoflow.console.web.auth import DB, Principal, api_require
from promoflow.console.web.request_filters import audit_filter, case_filter
from promoflow.engine.bootstrap import Runtime, Session
from promoflow.engine.cycles import service as cycle_service
from promoflow.engine.cycles import steps
from promoflow.engine.imports.upload import import_upload
from promoflow.engine.overrides import service as override_service
from promoflow.engine.read import queries
from promoflow.engine.read.audit_status import verify_status
from promoflow.engine.read.overrides import case_overrides, find_overrides, override_row
from promoflow.errors import (
    AccessDenied,
    InputError,
    NotFoundError,
    PromoflowError,
    TransitionError,
)
from promoflow.limits import EMPLOYEE_ID, NOTE, PARAM, REASON


def plain(value: Any) -> Any:
    """JSON-ready data: decimals as exact strings, datetimes in ISO 8601."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    return value


def ok(data: Any, status: int = 200) -> JSONResponse:
    """A JSON response of plain data."""
    return JSONResponse(plain(data), status_code=status)


#: the override kinds, in the order the API's documentation lists them
KINDS = (
    "force_promotion",
    "block_promotion",
    "cancel_demotion",
    "change_demotion",
    "record_result",
    "end_probation",
    "set_grade",
    "retain",
    "dismiss",
    "eliminate",
    "close_review",
    "waive_stage",
    "keep_decision",
    "accept_revision",
)


class OverrideIn(BaseModel):
    """A proposed override: which case, what to change, and why."""

    cycle_id: str = Field(max_length=64)
    employee_id: str = Field(max_length=EMPLOYEE_ID)
    kind: str = Field(max_length=32, description=f"one of {', '.join(KINDS)}")
    params: dict[Annotated[str, Field(max_length=32)], Annotated[str, Field(max_length=PARAM)]] = (
        Field(default_factory=dict, max_length=len(override_service.PARAMS))
    )
    reason: str = Field(min_length=1, max_length=REASON)


class AdvanceIn(BaseModel):
    """Running a milestone by hand; before its calendar time it needs ``force`` and a reason."""

    force: bool = False
    reason: str | None = Field(default=None, max_length=REASON)


class DecisionIn(BaseModel):
    """An approval or rejection, with an optional note."""

    note: str | None = Field(default=None, max_length=NOTE)


def _page(page: queries.Page) -> dict[str, Any]:
    return {
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
        "pages": page.pages,
        "rows": page.rows,
    }


def create_api(runtime: Runtime) -> FastAPI:
    """The API application (mounted at ``/api`` by the console)."""
    api = FastAPI(
        title="promoflow API",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        description="Cycles, cases, decisions, overrides, audit events and imports. "
        "Authenticate with `Authorization: Bearer <token>` (`promoflow user token NAME`).",
    )
    api.state.runtime = runtime
    api.state.login_limiter = None

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            schema = get_openapi(
                title=api.title,
                version=api.version,
                description=api.description,
                routes=api.routes,
                servers=[{"url": "/api"}],
            )
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer"}
            }
            schema["security"] = [{"bearer": []}]
            api.openapi_schema = schema
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]

    @api.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title="promoflow API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    @api.exception_handler(NotFoundError)
    async def _404(_r: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @api.exception_handler(InputError)
    async def _422(_r: Request, exc: InputError) -> JSONResponse:
        problems = [
            {"line": p.line, "column": p.column, "message": p.message, "file": p.file}
            for p in exc.problems
        ]
        return JSONResponse({"detail": str(exc), "problems": problems}, status_code=422)

    @api.exception_handler(AccessDenied)
    async def _403(_r: Request, exc: AccessDenied) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @api.exception_handler(TransitionError)
    async def _409(_r: Request, exc: TransitionError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @api.exception_handler(PromoflowError)
    async def _400(_r: Request, exc: PromoflowError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @api.get("/me", summary="Who the token belongs to")
    def me(p: Principal = Depends(api_require("read"))) -> JSONResponse:
        return ok(
            {"username": p.username, "display_name": p.display_name, "roles": sorted(p.roles)}
        )

    @api.get("/cycles", summary="Every cycle with outcome counts")
    def cycles(p: Principal = Depends(api_require("read")), session: Session = DB) -> JSONResponse:
        return ok(queries.list_cycles(session))

    @api.get("/cycles/{cycle_id}", summary="One cycle: milestone, counts per state")
    def cycle(
        cycle_id: str,
        p: Principal = Depends(api_require("read")),
        session: Session = DB,
    ) -> JSONResponse:
        row = queries.cycle_row(queries.get_cycle(session, cycle_id))
        row["states"] = queries.state_counts(session, cycle_id)
        row["status"] = cycle_service.cycle_status(session, cycle_id)
        return ok(row)

    @api.post("/cycles/{cycle_id}/advance", summary="Open the cycle or run its next milestone")
    def cycle_advance(
        cycle_id: str,
        request: Request,
        body: AdvanceIn | None = None,
        p: Principal = Depends(api_require("cycle_run")),
        session: Session = DB,
    ) -> JSONResponse:
        body = body or AdvanceIn()
        if body.force and not (body.reason or "").strip():
            raise InputError("force needs a reason: it goes in the audit trail")
        force = body.reason.strip() if body.force and body.reason else None
        now = request.app.state.runtime.now()
        report = steps.run_by_hand(session, cycle_id, now, p.username, force=force)
        return ok(report.as_dict())

    @api.get("/cycles/{cycle_id}/cases", summary="A cycle's cases: filter, sort, page")
    def cases(
        cycle_id: str,
        flt: queries.CaseFilter = Depends(case_filter),
        sort: str = "employee_id",
        desc: bool = False,
        page: int = Query(1, ge=1),
        per_page: int = Query(50, ge=1, le=queries.MAX_PER_PAGE),
        p: Principal = Depends(api_require("read")),
        session: Session = DB,
    ) -> JSONResponse:
        queries.get_cycle(session, cycle_id)
        return ok(_page(queries.list_cases(session, cycle_id, flt, sort, desc, page, per_page)))

    @api.get("/cycles/{cycle_id}/cases/{employee_id}", summary="One case in full")
    def case(
        cycle_id: str,
        employee_id: str,
        p: Principal = Depends(api_require("read")),
        session: Session = DB,
    ) -> JSONResponse:
        detail = queries.case_detail(session, cycle_id, employee_id)
        detail["overrides"] = case_overrides(session, cycle_id, employee_id)
        return ok(detail)

    @api.get("/cycles/{cycle_id}/decisions", summary="Decisions, as `promoflow decisions`")
    def decisions(
        cycle_id: str,
        p: Principal = Depends(api_require("read")),
        session: Session = DB,
    ) -> JSONResponse:
        queries.get_cycle(session, cycle_id)
        return ok(cycle_service.decisions_export(session, cycle_id))

    @api.get("/overrides", summary="Overrides (default: those awaiting approval)")
    def overrides(
        status: str = "proposed",
        cycle_id: str | None = None,
        p: Principal = Depends(api_require("read")),
        session: Session = DB,
    ) -> JSONResponse:
        return ok(find_overrides(session, status, cycle_id))

    @api.post("/overrides", status_code=201, summary="Propose an override (reason required)")
    def override_propose(
        body: OverrideIn,
        request: Request,
        p: Principal = Depends(api_require("override_propose")),
        session: Session = DB,
    ) -> JSONResponse:
        if not body.reason.strip():
            raise InputError("a reason is required")
        row = override_service.propose(
            session,
            now=request.app.state.runtime.now(),
            actor=p.username,
            cycle_id=body.cycle_id,
            employee_id=body.employee_id,
            kind=body.kind,
            params=body.params,
            reason=body.reason.strip(),
        )
        return ok(override_row(row), 201)

    def _decide(override_id: int, approve: bool, body: DecisionIn, request, p, session):
        decide = override_service.approve if approve else override_service.reject
        now = request.app.state.runtime.now()
        row = decide(session, override_id, now=now, actor=p.username, note=body.note)
        return ok(override_row(row))

    @api.post("/overrides/{override_id}/approve", summary="Approve (not your own proposal)")
    def override_approve(
        override_id: int,
        request: Request,
        body: DecisionIn | None = None,
        p: Principal = Depends(api_require("override_decide")),
        session: Session = DB,
    ) -> JSONResponse:
        return _decide(override_id, True, body or DecisionIn(), request, p, session)

    @api.post("/overrides/{override_id}/reject", summary="Reject an override")
    def override_reject(
        override_id: int,
        request: Request,
        body: DecisionIn | None = None,
        p: Principal = Depends(api_require("override_decide")),
        session: Session = DB,
    ) -> JSONResponse:
        return _decide(override_id, False, body or DecisionIn(), request, p, session)

    @api.get("/audit/events", summary="Audit events, newest first")
    def audit_events(
        flt: queries.AuditFilter = Depends(audit_filter),
        page: int = Query(1, ge=1),
        per_page: int = Query(100, ge=1, le=queries.MAX_PER_PAGE),
        p: Principal = Depends(api_require("audit_read")),
        session: Session = DB,
    ) -> JSONResponse:
        return ok(_page(queries.list_audit(session, flt, page, per_page)))

    @api.get("/audit/verify", summary="Verify the audit trail's hash chain")
    def audit_verify(
        p: Principal = Depends(api_require("audit_read")), session: Session = DB
    ) -> JSONResponse:
        return ok(verify_status(session))

    @api.get("/imports", summary="Accepted import files, newest first")
    def imports(p: Principal = Depends(api_require("read")), session: Session = DB) -> JSONResponse:
        return ok(queries.list_imports(session))

    @api.post("/imports/{kind}", status_code=201, summary="Import a file (results, metrics, …)")
    async def import_file(
        kind: str,
        request: Request,
        file: UploadFile = File(...),
        p: Principal = Depends(api_require("results_upload")),
        session: Session = DB,
    ) -> JSONResponse:
        data = await file.read()
        report = import_upload(
            session,
            kind,
            file.filename or "upload.csv",
            data,
            request.app.state.runtime.now(),
            p.username,
        )
        fields = ("kind", "file", "rows", "changed", "import_id", "details")
        return ok({f: getattr(report, f, None) for f in fields}, 201)

    return api
