"""The human side of a cycle through the REST API (issue 20): HR decisions, late results,
revised data, changed employee records and a second open override — the same services
the CLI drives, answering in JSON with the one outcome."""

from __future__ import annotations

from datetime import datetime

import pytest

from promoflow.console.web.app import create_app
from promoflow.engine.cycles.steps import run_milestone
from promoflow.engine.imports import run_import
from promoflow.engine.packs.store import load_bundled
from tests.functional.audit_seed import CYCLE, PEOPLE, TZ, seed_cycle
from tests.functional.web_client import TestClient, token_for
from tests.functional.web_seed import add_users


@pytest.fixture
def api(rt, tmp_path):
    seed_cycle(rt, tmp_path)
    with rt.unit_of_work() as s:
        add_users(s)
    return TestClient(create_app(rt))


def _case(api, rt, employee):
    response = api.get(f"/api/cycles/{CYCLE}/cases/{employee}", headers=token_for(rt, "viewer"))
    assert response.status_code == 200, response.text
    return response.json()


def _upload(api, rt, kind, text, who="officer"):
    return api.post(
        f"/api/imports/{kind}",
        headers=token_for(rt, who),
        files={"file": (f"{kind}.csv", text.encode(), "text/csv")},
    )


def test_an_hr_decision_closes_the_review_and_the_case_says_so(api, rt):
    done = api.post(
        "/api/overrides",
        headers=token_for(rt, "manager"),
        json={"cycle_id": CYCLE, "employee_id": "E08", "kind": "retain", "reason": "给一个季度"},
    )
    assert done.status_code == 201, done.text
    assert done.json()["status"] == "approved"
    detail = _case(api, rt, "E08")
    assert (detail["case"]["state"], detail["decision"]["review_decision"]) == (
        "retained",
        "retained",
    )


def test_a_second_open_override_is_refused_with_409_naming_the_first(api, rt):
    body = {"cycle_id": CYCLE, "employee_id": "E02", "kind": "block_promotion", "reason": "r"}
    first = api.post("/api/overrides", headers=token_for(rt, "officer"), json=body)
    assert first.status_code == 201, first.text
    second = api.post("/api/overrides", headers=token_for(rt, "manager"), json=body)
    assert second.status_code == 409
    assert f"already has override #{first.json()['id']}" in second.json()["detail"]


def test_revised_metrics_hold_the_case_and_it_reads_pending(api, rt):
    done = _upload(api, rt, "metrics", "employee_id,period,metric,value\nE01,2026Q3,score,70\n")
    assert done.status_code == 201, done.text
    detail = _case(api, rt, "E01")
    assert detail["case"]["flagged"] == "facts_revised: promoted S6 → demoted S4"
    assert (detail["decision"]["outcome"], detail["decision"]["rule_outcome"]) == (
        "pending",
        "promoted",
    )


def test_a_changed_employee_record_holds_the_case(api, rt):
    rows = "".join(
        f"{e},员工{e},sales,{g},2025-10-01,2024-03-15,{'west' if e == 'E04' else 'east'},\n"
        for e, (g, _, _) in PEOPLE.items()
    )
    header = "employee_id,name,track,grade,grade_since,hire_date,org_unit,position\n"
    done = _upload(api, rt, "employees", header + rows)
    assert done.status_code == 201, done.text
    detail = _case(api, rt, "E04")
    assert detail["case"]["flagged"] == "employee_changed: org_unit east → west"
    assert detail["decision"]["outcome"] == "pending"


def test_a_late_interview_result_uploaded_after_the_announcement_moves_the_case_on(
    api, rt, tmp_path
):
    tests = tmp_path / "tests.csv"
    tests.write_text(f"employee_id,cycle,stage,value\nE03,{CYCLE},written_test,90\n", "utf-8")
    with rt.unit_of_work() as s:
        run_import(s, "results", tests, datetime(2026, 10, 10, 9, tzinfo=TZ), "hr")
    with rt.unit_of_work() as s:
        run_milestone(s, CYCLE, "announce", datetime(2026, 10, 20, 9, tzinfo=TZ), "scheduler")
    assert _case(api, rt, "E03")["case"]["state"] == "interview_missing"
    done = _upload(
        api, rt, "results", f"employee_id,cycle,stage,value\nE03,{CYCLE},interview,pass\n"
    )
    assert done.status_code == 201, done.text
    detail = _case(api, rt, "E03")
    assert detail["case"]["state"] == "announced"
    assert (detail["decision"]["outcome"], detail["decision"]["to_grade"]) == ("promoted", "S6")


def test_a_bottom_grade_cs_employee_below_50_keeps_the_probation_in_the_api(rt, tmp_path):
    """Issue 20, item 10 through the API: unchanged, probation, below standard."""
    people = tmp_path / "cs.csv"
    people.write_text(
        "employee_id,name,track,grade,grade_since,hire_date,org_unit,position\n"
        "C1,客服甲,cs,普通客服代表·中级,2025-01-01,2024-06-01,cs-sh,\n", "utf-8")  # fmt: skip
    scores = tmp_path / "scores.csv"
    scores.write_text("employee_id,period,metric,value\n" + "".join(
        f"C1,2026-0{m},score,45\n" for m in (7, 8, 9)), "utf-8")  # fmt: skip
    opened = datetime(2026, 10, 8, 9, tzinfo=TZ)
    with rt.unit_of_work() as s:
        load_bundled(s, opened)
        add_users(s)
        run_import(s, "employees", people, opened, "hr")
        run_import(s, "metrics", scores, opened, "hr")
        run_milestone(s, "cs-2026Q3", "open", opened, "scheduler")
    api = TestClient(create_app(rt))
    (line,) = api.get("/api/cycles/cs-2026Q3/decisions", headers=token_for(rt, "viewer")).json()
    assert (line["outcome"], line["to_grade"], line["probation"], line["review"]) == (
        "unchanged",
        "普通客服代表·中级",
        True,
        "below_standard",
    )
    detail = api.get("/api/cycles/cs-2026Q3/cases/C1", headers=token_for(rt, "viewer")).json()
    assert (detail["case"]["kind"], detail["case"]["state"]) == ("probation", "decided")
