"""The benchmark's adapter to promoflow's public services, one transaction per call.

Each function is what an operator's command does (``promoflow init``, ``import``,
``cycle advance``, ``decisions``), called in-process so the harness can time it without
counting interpreter start-up. The only thing written here rather than called is the
stage results a business school and interview panel would hand back: promoflow has no
generator for those, so :func:`write_results` makes them, deterministically, for exactly
the cases that are waiting for them.
"""

from __future__ import annotations

import csv
import hashlib
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from promoflow.engine.bootstrap import Runtime

ACTOR = "bench"
TRACK = "sales"


def sales_pack():
    """The bundled ``sales`` rule pack (the spec the cycle will pin)."""
    from promoflow.rules.packs import bundled_packs

    return bundled_packs()[TRACK]


def milestone_times(cycle_id: str) -> dict[str, datetime]:
    """When each milestone of ``cycle_id`` is due, per the bundled pack's calendar."""
    from promoflow.engine.cycles.service import parse_cycle_id
    from promoflow.rules.calendar import milestone_time
    from promoflow.rules.periods import parse_period

    pack = sales_pack()
    period = parse_period(parse_cycle_id(cycle_id)[1])
    return {m.id: milestone_time(pack.calendar, period, m.id) for m in pack.calendar.milestones}


def initialise(rt: Runtime, start: datetime) -> None:
    """``promoflow init``: schema, go-live, and the bundled rule packs."""
    from promoflow.engine.setup import initialise as init
    from promoflow.engine.storage.models import PackVersion

    init(rt, start)
    with rt.sessions() as session, session.begin():
        if not session.scalar(select(func.count()).select_from(PackVersion)):
            from promoflow.engine.packs.store import load_bundled

            load_bundled(session, start)


def write_org(n: int, folder: Path, period: str, seed: int = 7) -> dict[str, Path]:
    """employees.csv, metrics.csv and vacancies.csv of a synthetic sales org of N."""
    from promoflow.demo.synthetic import generate_org

    return generate_org(n, (TRACK,), seed=seed, period=period).write_csv(folder)


def import_file(rt: Runtime, kind: str, path: Path, now: datetime) -> int:
    """``promoflow import KIND FILE``; returns the rows changed."""
    from promoflow.engine.imports.service import run_import

    with rt.sessions() as session, session.begin():
        return run_import(session, kind, path, now, ACTOR).changed


def run_milestone(rt: Runtime, cycle_id: str, milestone: str, now: datetime) -> dict:
    """One milestone of ``cycle_id`` in its own transaction (``cycle open|advance``)."""
    from promoflow.engine.cycles.steps import run_milestone as run

    with rt.sessions() as session, session.begin():
        report = run(session, cycle_id, milestone, now, ACTOR)
    if not report.ran:
        raise RuntimeError(f"{cycle_id} {milestone} did not run: {report.note}")
    return report.counts


def export(rt: Runtime, cycle_id: str) -> list[dict]:
    """``promoflow decisions CYCLE --format json``, as a list of line dicts."""
    from promoflow.engine.cycles.service import decisions_export

    with rt.sessions() as session:
        return decisions_export(session, cycle_id)


def result_value(employee_id: str, stage: str) -> str:
    """A deterministic score 40–100 for one stage (about two thirds pass a mark of 60)."""
    digest = hashlib.sha256(f"{employee_id}:{stage}".encode()).digest()
    return str(40 + digest[0] % 61)


def write_results(rt: Runtime, cycle_id: str, stage: str, folder: Path) -> Path:
    """results.csv with one ``stage`` result for every case that now accepts one."""
    from promoflow.engine.cases.moves import load_refs, stages_of
    from promoflow.workflow.specs import spec_for, stage_short

    trigger = f"record_{stage_short(stage)}"
    with rt.sessions() as session:
        stages = stages_of(session, cycle_id)
        waiting = [
            ref.employee_id
            for ref in load_refs(session, cycle_id)
            if ref.kind == "promotion" and trigger in spec_for(ref.kind, stages).allowed(ref.state)
        ]
    path = folder / f"results-{stage}.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["employee_id", "cycle", "stage", "value"])
        writer.writerows([eid, cycle_id, stage, result_value(eid, stage)] for eid in waiting)
    return path
