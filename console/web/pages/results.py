"""Results entry: upload a results (or other import) file and see every bad row."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response

from promoflow.console.web.auth import DB, Principal, act, require
from promoflow.console.web.render import render
from promoflow.engine.bootstrap import Session, attempt
from promoflow.engine.imports.upload import KINDS, import_upload
from promoflow.engine.read import queries
from promoflow.errors import InputError, PromoflowError

router = APIRouter()


@router.get("/results")
def results_form(
    request: Request,
    principal: Principal = Depends(require("read")),
    session: Session = DB,
) -> Response:
    """The upload form and the files imported so far."""
    return render(
        request,
        "results.html",
        principal,
        kinds=KINDS,
        imports=queries.list_imports(session),
        report=None,
        problems=None,
        error=None,
    )


@router.post("/results")
async def results_upload(
    request: Request,
    kind: str = Form("results"),
    file: UploadFile = File(...),
    principal: Principal = Depends(act("results_upload")),
    session: Session = DB,
) -> Response:
    """Import the file in one transaction; a bad file imports nothing and lists its rows."""
    data = await file.read()
    report, problems, error, status = None, None, None, 200
    try:
        with attempt(session):
            report = import_upload(
                session,
                kind,
                file.filename or "upload.csv",
                data,
                request.app.state.runtime.now(),
                principal.username,
            )
    except InputError as exc:
        error, problems, status = str(exc), list(exc.problems), 422
    except PromoflowError as exc:
        error, status = str(exc), 422
    return render(
        request,
        "results.html",
        principal,
        status_code=status,
        kinds=KINDS,
        imports=queries.list_imports(session),
        report=report,
        problems=problems,
        error=error,
    )
