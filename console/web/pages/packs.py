"""Rule packs as HR reads them: grades, positions, calendar, version history, diffs, what-if."""

from __future__ import annotations

import difflib
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from promoflow.console.web.auth import DB, Principal, act, require
from promoflow.console.web.render import render
from promoflow.engine.bootstrap import Session
from promoflow.engine.cycles.whatif import what_if as run_what_if
from promoflow.engine.read import packs as pack_reads
from promoflow.engine.read import queries
from promoflow.errors import NotFoundError, PromoflowError
from promoflow.rules.packs import load_pack_text

router = APIRouter()


def _versions(session: Session, pack_id: str) -> list[dict[str, Any]]:
    versions = pack_reads.pack_versions(session, pack_id)
    if not versions:
        raise NotFoundError(f"no rule pack {pack_id!r}")
    return versions


def _summary(pack) -> dict[str, Any]:
    try:
        calendar = [
            {"id": m.id, "month": m.month, "day": m.day, "time": m.time}
            for m in pack.calendar.milestones
        ]
    except AttributeError:
        calendar = []
    return {
        "title": pack.title,
        "grades": list(pack.grades),
        "positions": [
            {"id": p.id, "zh": p.zh, "en": p.en, "grades": list(p.grades)} for p in pack.positions
        ],
        "stages": list(getattr(pack, "stages", ())),
        "pass_marks": dict(getattr(pack, "pass_marks", {}) or {}),
        "calendar": calendar,
    }


@router.get("/packs")
def pack_list(
    request: Request,
    principal: Principal = Depends(require("read")),
    session: Session = DB,
) -> Response:
    """Every pack and its versions."""
    versions = pack_reads.pack_versions(session)
    packs: dict[str, list] = {}
    for v in versions:
        packs.setdefault(v["pack_id"], []).append(v)
    return render(request, "packs.html", principal, packs=packs)


@router.get("/packs/{pack_id}")
def pack_page(
    request: Request,
    pack_id: str,
    version: str | None = None,
    principal: Principal = Depends(require("read")),
    session: Session = DB,
) -> Response:
    """One pack version (the active one by default), read-only, with its history."""
    versions = _versions(session, pack_id)
    chosen = version or next(
        (v["version"] for v in versions if v["active"]), versions[0]["version"]
    )
    text = pack_reads.pack_text(session, pack_id, chosen)
    summary, problem = None, None
    try:
        summary = _summary(load_pack_text(text, f"{pack_id}@{chosen[:12]}"))
    except PromoflowError as exc:
        problem = str(exc)
    cycles = pack_reads.track_cycles(session, pack_id)
    return render(
        request,
        "pack.html",
        principal,
        pack_id=pack_id,
        version=chosen,
        versions=versions,
        text=text,
        summary=summary,
        problem=problem,
        cycles=cycles,
        whatif=None,
    )


@router.get("/packs/{pack_id}/diff")
def pack_diff(
    request: Request,
    pack_id: str,
    a: str,
    b: str,
    principal: Principal = Depends(require("read")),
    session: Session = DB,
) -> Response:
    """A line diff between two stored versions of one pack."""
    _versions(session, pack_id)
    old = pack_reads.pack_text(session, pack_id, a).splitlines()
    new = pack_reads.pack_text(session, pack_id, b).splitlines()
    lines = list(
        difflib.unified_diff(old, new, f"{pack_id}@{a[:12]}", f"{pack_id}@{b[:12]}", lineterm="")
    )
    return render(request, "pack_diff.html", principal, pack_id=pack_id, a=a, b=b, lines=lines)


def what_if(session: Session, pack, cycle_id: str, limit: int = 200) -> dict[str, Any]:
    """The what-if service (``engine.cycles.whatif``) as the page shows it: who would change."""
    queries.get_cycle(session, cycle_id)
    report = run_what_if(session, pack, cycle_id)

    def move(fields: dict[str, Any]) -> str:
        return f"{fields.get('outcome')} → {fields.get('to_grade')}"

    changed = [
        {
            "employee_id": c.employee_id,
            "was": move(c.recorded),
            "would_be": move(c.proposed),
            "reasons_zh": c.reasons_zh,
            "reasons_en": c.reasons_en,
        }
        for c in report.changes[:limit]
    ]
    return {
        "cycle_id": cycle_id,
        "total": report.evaluated,
        "changed": changed,
        "n": len(report.changes),
        "per_grade": report.per_grade,
        "not_evaluated": report.not_evaluated,
    }


@router.post("/packs/{pack_id}/whatif")
def pack_whatif(
    request: Request,
    pack_id: str,
    version: str = Form(...),
    cycle_id: str = Form(...),
    principal: Principal = Depends(act("whatif")),
    session: Session = DB,
) -> Response:
    """What-if: the pack version against a past cycle's facts (nothing is written)."""
    versions = _versions(session, pack_id)
    text = pack_reads.pack_text(session, pack_id, version)
    result, problem, summary = None, None, None
    try:
        pack = load_pack_text(text, f"{pack_id}@{version[:12]}")
        summary = _summary(pack)
        result = what_if(session, pack, cycle_id)
    except PromoflowError as exc:
        problem = str(exc)
    cycles = pack_reads.track_cycles(session, pack_id)
    return render(
        request,
        "pack.html",
        principal,
        pack_id=pack_id,
        version=version,
        versions=versions,
        text=text,
        summary=summary,
        problem=problem,
        cycles=cycles,
        whatif=result,
    )
