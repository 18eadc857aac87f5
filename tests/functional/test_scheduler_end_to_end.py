"""End to end with the real action: run-due drives whole cycles of the bundled packs.

A small synthetic organisation is imported; `promoflow scheduler run-due` then opens the
2026Q3 cycles on 10-08 09:00 (decisions for everyone evaluated) and, after a simulated
downtime, fires every later step of every track once, in calendar order.
"""

from __future__ import annotations

from sqlalchemy import func, select
from typer.testing import CliRunner

import promoflow.engine.cycles.service
import promoflow.engine.packs.store  # noqa: F401 (imported: broken fails, never skips)
from promoflow.console.cli import app
from promoflow.engine.bootstrap import bootstrap
from promoflow.engine.storage.models import Cycle, Decision
from promoflow.engine.storage.models.scheduling import FIRED, MilestoneFiring


def cli(db_url, *args):
    result = CliRunner().invoke(app, ["--db", db_url, *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_run_due_opens_and_carries_every_cycle_through_to_probation_review(db_url, tmp_path):
    from promoflow.demo.synthetic import generate_org

    cli(db_url, "init", "--start", "2026-10-01T00:00+08:00")
    paths = generate_org(30, ("sales", "cs"), seed=7, period="2026Q3").write_csv(tmp_path)
    for kind in ("employees", "metrics", "vacancies"):
        cli(db_url, "import", kind, str(paths[kind]))

    out = cli(db_url, "scheduler", "run-due", "--now", "2026-10-08T09:00+08:00")
    assert "3 fired, 0 failed" in out
    runtime = bootstrap(db_url)
    with runtime.sessions() as s:
        opened = set(s.scalars(select(Cycle.cycle_id)))
        decided = s.scalar(select(func.count()).select_from(Decision))
    assert opened == {"sales-2026Q3", "cs-2026Q3", "support-2026Q3"}
    assert decided > 0

    # down until the new year: every remaining step of the 2026Q3 cycles fires, in order
    out = cli(db_url, "scheduler", "run-due", "--now", "2026-12-31T23:00+08:00")
    assert "0 failed" in out
    with runtime.sessions() as s:
        rows = s.scalars(select(MilestoneFiring).order_by(MilestoneFiring.id)).all()
        steps = {c.cycle_id: c.milestone for c in s.scalars(select(Cycle))}
    runtime.engine.dispose()
    assert all(r.status == FIRED for r in rows)
    sales = [r.milestone for r in rows if r.cycle_id == "sales-2026Q3"]
    assert sales == [
        "open",
        "test_due",
        "interview_notice",
        "interview_due",
        "announce",
        "effective",
    ]
    cs = [r.milestone for r in rows if r.cycle_id == "cs-2026Q3"]
    assert cs == ["open", "announce", "effective", "probation_review"]
    assert steps["cs-2026Q3"] == "probation_review"
    assert [r.due_at for r in rows] == sorted(r.due_at for r in rows)

    out = cli(db_url, "scheduler", "run-due", "--now", "2026-12-31T23:00+08:00")
    assert out.strip() == "0 fired, 0 failed, 0 waiting at 2026-12-31 23:00"
