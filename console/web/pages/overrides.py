"""The override form (reason required) and the approval queue (four eyes).

Both call the overrides service ``promoflow.engine.overrides.service``: it checks the
roles, that the approver is not the proposer, applies the change and writes the audit
events. The console only collects the input and shows the result.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from promoflow.console.web.auth import DB, Principal, act, language_of, require
from promoflow.console.web.i18n import error_key, error_text
from promoflow.console.web.render import render
from promoflow.engine.bootstrap import Session, attempt
from promoflow.engine.overrides import service as overrides
from promoflow.engine.read import queries
from promoflow.engine.read.overrides import pending_overrides
from promoflow.errors import NotFoundError, PromoflowError

router = APIRouter()


def kind_labels() -> dict[str, dict[str, str]]:
    """Each override kind's name in Chinese and English, as the overrides service names it."""
    return {k: {"zh": v.zh or k, "en": v.en or k} for k, v in overrides.KINDS.items()}


def fitting_kinds(detail: dict) -> dict[str, dict[str, str]]:
    """The kinds the case's state can take, labelled (the form offers only these)."""
    case = detail.get("case") or {}
    labels = kind_labels()
    fits = overrides.kinds_for_case(case.get("kind"), case.get("state"), case.get("flagged"))
    return {k: labels[k] for k in fits}


def _params(kind: str, to_grade: str, stage: str, value: str) -> dict[str, str]:
    params = {}
    if to_grade.strip():
        params["to_grade"] = to_grade.strip()
    if kind == "record_result":
        params["stage"] = stage.strip()
        params["value"] = value.strip()
    elif kind == "waive_stage" and stage.strip():
        params["stage"] = stage.strip()
    return params


@router.get("/cycles/{cycle_id}/cases/{employee_id}/override")
def override_form(
    request: Request,
    cycle_id: str,
    employee_id: str,
    principal: Principal = Depends(require("override_propose")),
    session: Session = DB,
) -> Response:
    """The form: what to change, and why (required)."""
    detail = queries.case_detail(session, cycle_id, employee_id)
    return render(
        request,
        "override_form.html",
        principal,
        cycle_id=cycle_id,
        d=detail,
        kinds=fitting_kinds(detail),
        error=None,
        form={},
    )


@router.post("/cycles/{cycle_id}/cases/{employee_id}/override")
def override_submit(
    request: Request,
    cycle_id: str,
    employee_id: str,
    kind: str = Form(...),
    reason: str = Form(""),
    to_grade: str = Form(""),
    stage: str = Form(""),
    value: str = Form(""),
    principal: Principal = Depends(act("override_propose")),
    session: Session = DB,
) -> Response:
    """Propose the override; on a refusal show the form again with the reason why."""
    detail = queries.case_detail(session, cycle_id, employee_id)
    form = {"kind": kind, "reason": reason, "to_grade": to_grade, "stage": stage, "value": value}
    error = None
    if not reason.strip():
        error = "override.reason_required"
    elif kind not in kind_labels():
        error = "override.unknown_kind"
    else:
        try:
            with attempt(session):
                proposed = overrides.propose(
                    session,
                    now=request.app.state.runtime.now(),
                    actor=principal.username,
                    cycle_id=cycle_id,
                    employee_id=employee_id,
                    kind=kind,
                    params=_params(kind, to_grade, stage, value),
                    reason=reason.strip(),
                )
        except PromoflowError as exc:
            error = error_text(exc, language_of(request, principal))
    if error:
        return render(
            request,
            "override_form.html",
            principal,
            status_code=422,
            cycle_id=cycle_id,
            d=detail,
            kinds=fitting_kinds(detail),
            error=error,
            form=form,
        )
    shown = "applied" if proposed.status == "approved" else "proposed"
    return RedirectResponse(f"/cycles/{cycle_id}/cases/{employee_id}?{shown}=1", status_code=303)


@router.get("/overrides")
def approval_queue(
    request: Request,
    principal: Principal = Depends(require("read")),
    session: Session = DB,
) -> Response:
    """Overrides waiting for a second person."""
    return render(
        request,
        "overrides.html",
        principal,
        pending=pending_overrides(session),
        kinds=kind_labels(),
        error=error_key(request.query_params.get("error")),
    )


@router.post("/overrides/{override_id}/{verdict}")
def approval_decide(
    request: Request,
    override_id: int,
    verdict: str,
    note: str = Form(""),
    principal: Principal = Depends(act("override_decide")),
    session: Session = DB,
) -> Response:
    """Approve or reject one override (the service refuses the proposer's own)."""
    if verdict not in ("approve", "reject"):
        raise NotFoundError(verdict)
    decide = overrides.approve if verdict == "approve" else overrides.reject
    try:
        with attempt(session):
            decide(
                session,
                override_id,
                now=request.app.state.runtime.now(),
                actor=principal.username,
                note=note.strip() or None,
            )
    except PromoflowError as exc:
        error = error_text(exc, language_of(request, principal))
        return approval_error(request, principal, session, error)
    return RedirectResponse("/overrides?done=1", status_code=303)


def approval_error(request: Request, principal: Principal, session: Session, error: str):
    """The queue again, with why the last action was refused."""
    return render(
        request,
        "overrides.html",
        principal,
        status_code=409,
        pending=pending_overrides(session),
        kinds=kind_labels(),
        error=error,
    )
