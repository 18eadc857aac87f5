"""Opening a cycle in worker processes writes exactly what one process computes."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import select

from bench import pipeline
from bench.cycle import CYCLE, PERIOD
from promoflow.engine import parallel
from promoflow.engine.audit.verify import verify_chain
from promoflow.engine.cycles.evaluation import evaluate_facts
from promoflow.engine.facts import build as facts_module
from promoflow.engine.facts.build import build_facts
from promoflow.engine.storage.models import AuditEvent, Case, Decision, Employee, Notice


@pytest.fixture
def small_chunks(monkeypatch):
    """Force the pool on a small org: two workers, chunks of 70 employees."""
    monkeypatch.setenv(parallel.WORKERS_ENV, "2")
    monkeypatch.setattr(parallel, "MIN_ITEMS", 0)
    monkeypatch.setattr(parallel, "CHUNK", 70)


@pytest.fixture
def metric_reads(monkeypatch, tmp_path):
    """Which processes read metrics: each call of the facts' loader appends its pid."""
    log = tmp_path / "metric-reads.txt"
    real = facts_module.load_metrics

    def logged(*args, **kwargs):
        with log.open("a") as f:
            f.write(f"{os.getpid()}\n")
        return real(*args, **kwargs)

    monkeypatch.setattr(facts_module, "load_metrics", logged)
    return lambda: [int(line) for line in log.read_text().split()] if log.exists() else []


@pytest.mark.slow
def test_open_in_worker_processes_stores_what_one_process_decides(
    rt, tmp_path, small_chunks, metric_reads
):
    times = pipeline.milestone_times(CYCLE)
    pipeline.initialise(rt, times["open"])
    files = pipeline.write_org(400, tmp_path, PERIOD)
    for kind in ("employees", "metrics", "vacancies"):
        pipeline.import_file(rt, kind, files[kind], times["open"] - timedelta(days=1))

    pipeline.run_milestone(rt, CYCLE, "open", times["open"])
    assert parallel.last_workers == 2  # the pool ran (no thread alive, fork available)
    # the workers read their own employees' metrics (WAL file or PostgreSQL), one read per
    # chunk of 70, none in this process
    readers = metric_reads()
    assert len(readers) >= 400 // 70 and os.getpid() not in readers

    with rt.sessions() as session:
        stored = {
            d.employee_id: d
            for d in session.scalars(select(Decision).where(Decision.cycle_id == CYCLE))
        }
        pack = pipeline.sales_pack()
        grades = pack.grades_for("quarter")
        employees = list(
            session.scalars(
                select(Employee)
                .where(Employee.track == "sales", Employee.grade.in_(grades))
                .order_by(Employee.employee_id)
            )
        )
        facts = build_facts(session, pack, PERIOD, employees)
        for e in employees:
            facts[e.employee_id]["grade"] = e.grade
        expected = evaluate_facts(pack, facts, PERIOD)
        assert len(stored) == len(expected) > 300
        for employee_id, want in expected.items():
            got = stored[employee_id]
            assert (got.outcome, got.from_grade, got.to_grade, got.rule) == (
                want.outcome, want.from_grade, want.to_grade, want.rule,
            ), employee_id  # fmt: skip
            assert got.facts == want.facts and got.thresholds == want.thresholds
            assert got.reasons_zh == want.reasons_zh and got.reasons_en == want.reasons_en
            assert got.missing == (want.missing_inputs or want.missing)
        events = list(
            session.scalars(
                select(AuditEvent.employee_id)
                .where(AuditEvent.kind == "decision", AuditEvent.cycle_id == CYCLE)
                .order_by(AuditEvent.seq)
            )
        )
        assert events == sorted(expected)  # one event per decision, in employee order
        assert verify_chain(session).ok

        # every nominee's case and written-test notice, rendered in a worker, point at
        # each other; the notice and its audit event carry the case id filled in here
        cases = {c.id: c for c in session.scalars(select(Case).where(Case.cycle_id == CYCLE))}
        notified = {c.id for c in cases.values() if c.state == "test_notified"}
        notices = list(session.scalars(select(Notice).where(Notice.cycle_id == CYCLE)))
        assert notified and {n.case_id for n in notices} == notified
        names = dict(session.execute(select(Employee.employee_id, Employee.name)).all())
        for n in notices:
            assert cases[n.case_id].employee_id == n.employee_id
            assert names[n.employee_id] in n.body and n.kind == "test"
        notice_cases = set(
            session.scalars(
                select(AuditEvent.case_id).where(
                    AuditEvent.kind == "notice", AuditEvent.cycle_id == CYCLE
                )
            )
        )
        assert notice_cases == notified
