"""Rule pack pages (read-only view, history, diff, what-if), results entry, audit page."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import promoflow.engine.cycles.evaluation
import promoflow.rules.packs  # noqa: F401 (imported: broken fails, never skips)
from promoflow.engine.storage.models import AuditEvent, ImportRun, PackVersion
from tests.functional.web_client import csrf_of, login, make_app
from tests.functional.web_seed import CYCLE, EVIL, NOW, SALES_TEXT, SALES_VERSION


@pytest.fixture
def app(rt):
    return make_app(rt)


def _second_version(rt) -> str:
    text = SALES_TEXT.replace("pass_marks", "pass_marks", 1) + "\n# tightened by HR\n"
    version = hashlib.sha256(text.encode()).hexdigest()
    with rt.sessions() as s, s.begin():
        s.add(
            PackVersion(
                pack_id="sales",
                version=version,
                source=text,
                active=False,
                loaded_at=NOW + timedelta(days=1),
            )
        )
    return version


def test_the_pack_page_shows_grades_and_text_as_hr_reads_them(app):
    html = login(app, "viewer").get("/packs/sales").text
    assert "S3 → S4" in html
    assert SALES_VERSION[:12] in html
    assert "calendar" in html


def test_two_versions_of_a_pack_can_be_compared(app, rt):
    newer = _second_version(rt)
    client = login(app, "viewer")
    assert newer[:12] in client.get("/packs").text
    diff = client.get(f"/packs/sales/diff?a={SALES_VERSION}&b={newer}").text
    assert "+# tightened by HR" in diff


def test_what_if_is_for_officers_managers_and_auditors_only(app):
    viewer = login(app, "viewer")
    page = viewer.get("/packs/sales")
    r = viewer.post(
        "/packs/sales/whatif",
        data={"csrf_token": csrf_of(page.text), "version": SALES_VERSION, "cycle_id": CYCLE},
    )
    assert r.status_code == 403


def test_what_if_writes_nothing(app, rt):
    client = login(app, "auditor")
    page = client.get("/packs/sales")
    with rt.sessions() as s:
        before = s.scalar(select(func.count()).select_from(AuditEvent))
    r = client.post(
        "/packs/sales/whatif",
        data={"csrf_token": csrf_of(page.text), "version": SALES_VERSION, "cycle_id": CYCLE},
    )
    assert r.status_code == 200
    assert "/ 30 人结果会改变" in r.text  # the report: how many of the 30 would change
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_a_bad_results_file_lists_every_bad_row_and_imports_nothing(app, rt):
    client = login(app, "officer")
    page = client.get("/results")
    bad = (
        b"employee_id,cycle,stage,value\n"
        b"E000004,sales-2026Q3,written_test,abc\n"
        b"NOPE,sales-2026Q3,written_test,80\n"
    )
    r = client.post(
        "/results",
        data={"csrf_token": csrf_of(page.text), "kind": "results"},
        files={"file": ("results.csv", bad, "text/csv")},
    )
    assert r.status_code == 422
    assert 'id="problems"' in r.text
    assert ">2<" in r.text and ">3<" in r.text  # both bad lines, by number
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ImportRun)) == 0


def test_a_good_metrics_file_is_imported_with_the_user_as_actor(app, rt):
    client = login(app, "officer")
    page = client.get("/results")
    good = b"employee_id,period,metric,value\nE000001,2026Q3,score,85.5\n"
    r = client.post(
        "/results",
        data={"csrf_token": csrf_of(page.text), "kind": "metrics"},
        files={"file": ("metrics.csv", good, "text/csv")},
    )
    assert r.status_code == 200, r.text
    with rt.sessions() as s:
        run = s.scalars(select(ImportRun)).one()
    assert run.actor == "officer" and run.file_name.endswith("metrics.csv")


def test_a_viewer_may_not_upload(app):
    client = login(app, "viewer")
    page = client.get("/results")
    r = client.post(
        "/results",
        data={"csrf_token": csrf_of(page.text), "kind": "results"},
        files={"file": ("r.csv", b"employee_id,cycle,stage,value\n", "text/csv")},
    )
    assert r.status_code == 403


def test_the_audit_page_shows_the_verify_status_and_filters_by_kind(app):
    client = login(app, "auditor")
    html = client.get("/audit?kind=decision").text
    assert 'id="verify"' in html and "badge ok" in html
    assert "user_action" not in html.split('id="events"')[1]


def test_the_audit_export_escapes_formulas_and_keeps_names(app, rt):
    from promoflow.engine.audit.trail import record

    with rt.sessions() as s, s.begin():
        record(s, "user_action", "admin", NOW, subject="=HYPERLINK(1)", reason=EVIL)
    text = login(app, "auditor").get("/audit/export.csv?kind=user_action").text
    assert "'=HYPERLINK(1)" in text
    assert EVIL.replace('"', '""') in text
