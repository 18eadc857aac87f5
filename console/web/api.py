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

from fastapi import Depends, FastAPI, File, Path, Query, Request, UploadFile
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from promoflow.console.web.auth import DB, Principal, api_require
from promoflow.console.web.request_filters import api_audit_filter, case_filter
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


#: the largest id a table's ``Integer`` key holds on every database (PostgreSQL's int4)
MAX_ID = 2**31 - 1


class Problem(BaseModel):
    """One thing wrong with an input (a bad row of a file, a bad value)."""

    message: str
    file: str | None = None
    line: int | None = None
    column: str | None = None


class ErrorOut(BaseModel):
    """Why a request was refused."""

    detail: str


class FieldError(BaseModel, extra="allow"):
    """One parameter FastAPI could not parse (its own validation error)."""

    loc: list[str | int]
    msg: str
    type: str


class InvalidOut(BaseModel):
    """422: a parameter or body that does not parse (``detail`` lists FastAPI's field
    errors), or input the services refuse (``detail`` says why, ``problems`` where)."""

    detail: str | list[FieldError]
    problems: list[Problem] = Field(default_factory=list)


_STATUS_TEXT = {
    400: "refused by the service (the message says why)",
    401: "no token, or a token that is not valid",
    403: "the token's roles do not allow this route",
    404: "no such cycle, case, override or import kind",
    409: "not possible in the current state (an override already decided, a step not due)",
    413: "the request body or file is too large",
    422: "a parameter or body that does not parse, or input the services refuse",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented error responses of a route: 401 and 403 always, and ``statuses``."""
    return {
        code: {"model": InvalidOut if code == 422 else ErrorOut, "description": _STATUS_TEXT[code]}
        for code in sorted({401, 403, *statuses})
    }


class Me(BaseModel):
    """The token's user."""

    username: str
    display_name: str
    roles: list[str]


class PageOut(BaseModel):
    """One page of a table."""

    total: int
    page: int
    per_page: int
    pages: int
    rows: list[dict[str, Any]]


class VerifyOut(BaseModel):
    """The audit trail's hash chain checked."""

    ok: bool
    events: int
    signed: bool
    problem: str | None
    message: str | None
    seq: int | None


class ImportOut(BaseModel):
    """An accepted import file."""

    kind: str
    file: str
    rows: int
    changed: int
    import_id: int
    details: dict[str, Any] | None


def _ok(model: type[BaseModel], status: int = 200) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": model}}


#: a table's page number, bounded (no table has that many pages; SQL offsets stay in range)
PageNumber = Annotated[int, Query(ge=1, le=queries.MAX_PAGE)]
#: an override's id, bounded by its column's type
OverrideId = Annotated[int, Path(ge=1, le=MAX_ID)]


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


#: Swagger UI at /api/docs, every asset local; its start-up is a static file, not an inline
#: script, so the page lives under the same Content-Security-Policy as the console
SWAGGER_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>promoflow API</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
</head>
<body>
<div id="swagger-ui" data-openapi-url="/api/openapi.json"></div>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body>
</html>
"""


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
        # FastAPI's page starts Swagger UI with an inline script, which the console's CSP
        # refuses: this one loads the same start-up from /static/swagger-init.js
        return HTMLResponse(SWAGGER_PAGE)

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

    @api.get("/me", summary="Who the token belongs to", responses={**_ok(Me), **errors()})
    def me(p: Principal = Depends(api_require("read"))) -> JSONResponse:
        return ok(
            {"username": p.username, "display_name": p.display_name, "roles": sorted(p.roles)}
        )

    @api.get("/cycles", summary="Every cycle with outcome counts", responses=errors())
    def cycles(p: Principal = Depends(api_require("read")), session: Session = DB) -> JSONResponse:
        return ok(queries.list_cycles(session))

    @api.get(
        "/cycles/{cycle_id}",
        summary="One cycle: milestone, counts per state",
        responses=errors(404, 422),
    )
    def cycle(
        cycle_id: str,
        p: Principal = Depends(api_require("read")),
        session: Session = DB,
    ) -> JSONResponse:
        row = queries.cycle_row(queries.get_cycle(session, cycle_id))
        row["states"] = queries.state_counts(session, cycle_id)
        row["status"] = cycle_service.cycle_status(session, cycle_id)
        return ok(row)

    @api.post(
        "/cycles/{cycle_id}/advance",
        summary="Open the cycle or run its next milestone",
        responses=errors(400, 404, 409, 413, 422),
    )
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

    @api.get(
        "/cycles/{cycle_id}/cases",
        summary="A cycle's cases: filter, sort, page",
        responses={**_ok(PageOut), **errors(404, 422)},
    )
    def cases(
        cycle_id: str,
        flt: queries.CaseFilter = Depends(case_filter),
        sort: str = "employee_id",
        desc: bool = False,
        page: PageNumber = 1,
        per_page: int = Query(50, ge=1, le=queries.MAX_PER_PAGE),
        p: Principal = Depends(api_require("read")),
        session: Session = DB,
    ) -> JSONResponse:
        queries.get_cycle(session, cycle_id)
        return ok(_page(queries.list_cases(session, cycle_id, flt, sort, desc, page, per_page)))

    @api.get(
        "/cycles/{cycle_id}/cases/{employee_id}",
        summary="One case in full",
        responses=errors(404, 422),
    )
    def case(
        cycle_id: str,
        employee_id: str,
        p: Principal = Depends(api_require("read")),
        session: Session = DB,
    ) -> JSONResponse:
        detail = queries.case_detail(session, cycle_id, employee_id)
        detail["overrides"] = case_overrides(session, cycle_id, employee_id)
        return ok(detail)

    @api.get(
        "/cycles/{cycle_id}/decisions",
        summary="Decisions, as `promoflow decisions`",
        responses=errors(404, 422),
    )
    def decisions(
        cycle_id: str,
        p: Principal = Depends(api_require("read")),
        session: Session = DB,
    ) -> JSONResponse:
        queries.get_cycle(session, cycle_id)
        return ok(cycle_service.decisions_export(session, cycle_id))

    @api.get(
        "/overrides",
        summary="Overrides (default: those awaiting approval)",
        responses=errors(422),
    )
    def overrides(
        status: str = "proposed",
        cycle_id: str | None = None,
        p: Principal = Depends(api_require("read")),
        session: Session = DB,
    ) -> JSONResponse:
        return ok(find_overrides(session, status, cycle_id))

    @api.post(
        "/overrides",
        status_code=201,
        summary="Propose an override (reason required)",
        responses=errors(400, 404, 409, 413, 422),
    )
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

    @api.post(
        "/overrides/{override_id}/approve",
        summary="Approve (not your own proposal)",
        responses=errors(400, 404, 409, 413, 422),
    )
    def override_approve(
        override_id: OverrideId,
        request: Request,
        body: DecisionIn | None = None,
        p: Principal = Depends(api_require("override_decide")),
        session: Session = DB,
    ) -> JSONResponse:
        return _decide(override_id, True, body or DecisionIn(), request, p, session)

    @api.post(
        "/overrides/{override_id}/reject",
        summary="Reject an override",
        responses=errors(400, 404, 409, 413, 422),
    )
    def override_reject(
        override_id: OverrideId,
        request: Request,
        body: DecisionIn | None = None,
        p: Principal = Depends(api_require("override_decide")),
        session: Session = DB,
    ) -> JSONResponse:
        return _decide(override_id, False, body or DecisionIn(), request, p, session)

    @api.get(
        "/audit/events",
        summary="Audit events, newest first",
        responses={**_ok(PageOut), **errors(422)},
    )
    def audit_events(
        flt: queries.AuditFilter = Depends(api_audit_filter),
        page: PageNumber = 1,
        per_page: int = Query(100, ge=1, le=queries.MAX_PER_PAGE),
        p: Principal = Depends(api_require("audit_read")),
        session: Session = DB,
    ) -> JSONResponse:
        return ok(_page(queries.list_audit(session, flt, page, per_page)))

    @api.get(
        "/audit/verify",
        summary="Verify the audit trail's hash chain",
        responses={**_ok(VerifyOut), **errors()},
    )
    def audit_verify(
        p: Principal = Depends(api_require("audit_read")), session: Session = DB
    ) -> JSONResponse:
        return ok(verify_status(session))

    @api.get("/imports", summary="Accepted import files, newest first", responses=errors())
    def imports(p: Principal = Depends(api_require("read")), session: Session = DB) -> JSONResponse:
        return ok(queries.list_imports(session))

    @api.post(
        "/imports/{kind}",
        status_code=201,
        summary="Import a file (results, metrics, …)",
        responses={**_ok(ImportOut, 201), **errors(400, 404, 413, 422)},
    )
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
