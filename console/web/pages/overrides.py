"""The override form (reason required) and the approval queue (four eyes).

Both call the AUDIT engineer's service ``promoflow.engine.overrides.service``: it checks the
roles, that the approver is not the proposer, applies the change and writes the audit
events. The console only collects the input and shows the result.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from promoflow.console.web import services
from promoflow.console.web.auth import Principal, act, db_session, require
from promoflow.console.web.render import render
from promoflow.engine.read import queries
from promoflow.errors import PromoflowError

router = APIRouter()

KINDS = (
    "force_promotion",
    "block_promotion",
    "cancel_demotion",
    "change_demotion",
    "record_result",
    "end_probation",
    "set_grade",
)


def kind_labels() -> dict[str, dict[str, str]]:
    """Each override kind's name in Chinese and English, as the overrides service names it."""
    try:
        from promoflow.engine.overrides.service import KINDS as SERVICE_KINDS
    except ImportError:
        return {k: {"zh": k, "en": k} for k in KINDS}
    return {k: {"zh": v.zh or k, "en": v.en or k} for k, v in SERVICE_KINDS.items()}


def _override_row(o: Any) -> dict[str, Any]:
    return {
        "id": o.id,
        "cycle_id": o.cycle_id,
        "employee_id": o.employee_id,
        "kind": o.kind,
        "params": o.params,
        "reason": o.reason,
        "status": o.status,
        "changes_grade": o.changes_grade,
        "rule_decision": o.rule_decision,
        "effect": o.effect,
        "proposed_by": o.proposed_by,
        "proposed_at": o.proposed_at,
        "decided_by": o.decided_by,
        "decided_at": o.decided_at,
        "decision_note": o.decision_note,
    }


def _model():
    try:
        from promoflow.engine.storage.models.overrides import Override
    except ImportError:
        return None
    return Override


def overrides_of(session: Session, cycle_id: str, employee_id: str) -> list[dict[str, Any]]:
    """Every override of one case, oldest first."""
    model = _model()
    if model is None:
        return []
    rows = session.scalars(
        select(model)
        .where(model.cycle_id == cycle_id, model.employee_id == employee_id)
        .order_by(model.id)
    ).all()
    return [_override_row(o) for o in rows]


def pending_overrides(session: Session, limit: int = 200) -> list[dict[str, Any]]:
    """Overrides waiting for a decision, oldest first."""
    model = _model()
    if model is None:
        return []
    rows = session.scalars(
        select(model).where(model.status == "proposed").order_by(model.id).limit(limit)
    ).all()
    return [_override_row(o) for o in rows]


def propose(session: Session, principal: Principal, now, **fields: Any) -> Any:
    """Hand a proposal to the overrides service."""
    return services.service("overrides", "propose")(
        session, now=now, actor=principal.username, **fields
    )


def decide(session: Session, principal: Principal, override_id: int, approve: bool, note, now):
    """Hand an approval or rejection to the overrides service."""
    name = "approve" if approve else "reject"
    return services.service("overrides", name)(
        session, override_id, now=now, actor=principal.username, note=note
    )


def _params(kind: str, to_grade: str, stage: str, value: str) -> dict[str, str]:
    params = {}
    if to_grade.strip():
        params["to_grade"] = to_grade.strip()
    if kind == "record_result":
        params["stage"] = stage.strip()
        params["value"] = value.strip()
    return params


@router.get("/cycles/{cycle_id}/cases/{employee_id}/override")
def override_form(
    request: Request,
    cycle_id: str,
    employee_id: str,
    principal: Principal = Depends(require("override_propose")),
    session: Session = Depends(db_session),
) -> Response:
    """The form: what to change, and why (required)."""
    detail = queries.case_detail(session, cycle_id, employee_id)
    return render(
        request,
        "override_form.html",
        principal,
        cycle_id=cycle_id,
        d=detail,
        kinds=kind_labels(),
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
    session: Session = Depends(db_session),
) -> Response:
    """Propose the override; on a refusal show the form again with the reason why."""
    detail = queries.case_detail(session, cycle_id, employee_id)
    form = {"kind": kind, "reason": reason, "to_grade": to_grade, "stage": stage, "value": value}
    error = None
    if not reason.strip():
        error = "override.reason_required"
    elif kind not in kind_labels():
        error = f"unknown override kind {kind!r}"
    else:
        try:
            propose(
                session,
                principal,
                request.app.state.runtime.now(),
                cycle_id=cycle_id,
                employee_id=employee_id,
                kind=kind,
                params=_params(kind, to_grade, stage, value),
                reason=reason.strip(),
            )
            session.commit()
        except services.ServiceUnavailable:
            session.rollback()
            error = "common.unavailable"
        except PromoflowError as exc:
            session.rollback()
            error = str(exc)
    if error:
        return render(
            request,
            "override_form.html",
            principal,
            status_code=422,
            cycle_id=cycle_id,
            d=detail,
            kinds=kind_labels(),
            error=error,
            form=form,
        )
    return RedirectResponse(f"/cycles/{cycle_id}/cases/{employee_id}?proposed=1", status_code=303)


@router.get("/overrides")
def approval_queue(
    request: Request,
    principal: Principal = Depends(require("read")),
    session: Session = Depends(db_session),
) -> Response:
    """Overrides waiting for a second person."""
    return render(
        request,
        "overrides.html",
        principal,
        pending=pending_overrides(session),
        kinds=kind_labels(),
        error=request.query_params.get("error"),
    )


@router.post("/overrides/{override_id}/{verdict}")
def approval_decide(
    request: Request,
    override_id: int,
    verdict: str,
    note: str = Form(""),
    principal: Principal = Depends(act("override_decide")),
    session: Session = Depends(db_session),
) -> Response:
    """Approve or reject one override (the service refuses the proposer's own)."""
    if verdict not in ("approve", "reject"):
        from promoflow.errors import NotFoundError

        raise NotFoundError(verdict)
    try:
        decide(
            session,
            principal,
            override_id,
            verdict == "approve",
            note.strip() or None,
            request.app.state.runtime.now(),
        )
        session.commit()
    except services.ServiceUnavailable:
        session.rollback()
        return approval_error(request, principal, session, "common.unavailable")
    except PromoflowError as exc:
        session.rollback()
        return approval_error(request, principal, session, str(exc))
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
