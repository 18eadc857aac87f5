"""Results entry: upload a results (or other import) file and see every bad row."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from promoflow.console.web.auth import Principal, act, db_session, require
from promoflow.console.web.render import render
from promoflow.console.web.services import ServiceUnavailable, service
from promoflow.engine.read import queries
from promoflow.errors import InputError, PromoflowError

router = APIRouter()

KINDS = ("results", "metrics", "employees", "vacancies")
MAX_UPLOAD = 50 * 1024 * 1024


def safe_name(name: str | None) -> str:
    """The uploaded file's base name, reduced to harmless characters."""
    base = Path(name or "upload.csv").name
    cleaned = re.sub(r"[^\w.\-]+", "_", base, flags=re.UNICODE).strip("._") or "upload.csv"
    return cleaned[:120]


def import_upload(session: Session, kind: str, name: str, data: bytes, now, actor: str):
    """Run the import service on uploaded bytes (written to a private temporary folder)."""
    run_import = service("imports", "run_import")
    if kind not in KINDS:
        raise InputError(f"unknown file kind {kind!r}: use {', '.join(KINDS)}")
    if len(data) > MAX_UPLOAD:
        raise InputError("file too large (at most 50 MB)")
    with tempfile.TemporaryDirectory(prefix="promoflow-upload-") as folder:
        path = Path(folder) / safe_name(name)
        path.write_bytes(data)
        try:
            return run_import(session, kind, path, now, actor)
        except ImportError as exc:  # a service it needs (rule packs) is not installed yet
            raise ServiceUnavailable(str(exc)) from exc


@router.get("/results")
def results_form(
    request: Request,
    principal: Principal = Depends(require("read")),
    session: Session = Depends(db_session),
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
    session: Session = Depends(db_session),
) -> Response:
    """Import the file in one transaction; a bad file imports nothing and lists its rows."""
    data = await file.read()
    report, problems, error, status = None, None, None, 200
    try:
        report = import_upload(
            session,
            kind,
            file.filename or "upload.csv",
            data,
            request.app.state.runtime.now(),
            principal.username,
        )
        session.commit()
    except InputError as exc:
        session.rollback()
        error, problems, status = str(exc), list(exc.problems), 422
    except PromoflowError as exc:
        session.rollback()
        error, status = str(exc), 422
    except ServiceUnavailable:
        session.rollback()
        error, status = "common.unavailable", 503
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
