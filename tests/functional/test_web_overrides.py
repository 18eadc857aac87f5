"""Overrides from the console: propose with a reason, approve as a second manager (four eyes),
and find both in the audit trail — through the pages and through the API."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

import promoflow.engine.packs.store  # noqa: F401 (imported: broken fails, never skips)
from promoflow.engine.storage.models import AuditEvent, Case
from tests.functional.web_client import csrf_of, login, make_app, token_for
from tests.functional.web_seed import CYCLE

PROMOTED = "E000004"  # outcome "promoted" in the seed (i % 4 == 0)


@pytest.fixture
def app(rt):
    return make_app(rt)


def _propose(client, employee_id=PROMOTED, reason="部门调整，名额冻结"):
    form = client.get(f"/cycles/{CYCLE}/cases/{employee_id}/override")
    return client.post(
        f"/cycles/{CYCLE}/cases/{employee_id}/override",
        data={"csrf_token": csrf_of(form.text), "kind": "block_promotion", "reason": reason},
        follow_redirects=False,
    )


def test_an_override_without_a_reason_is_refused_and_nothing_is_written(app, rt):
    officer = login(app, "officer")
    response = _propose(officer, reason="   ")
    assert response.status_code == 422
    with rt.sessions() as s:
        kinds = s.scalars(select(AuditEvent.kind)).all()
    assert "override_proposed" not in kinds


def test_an_officer_proposes_and_a_manager_approves_and_the_audit_page_shows_both(app):
    officer = login(app, "officer")
    assert _propose(officer).status_code == 303
    manager = login(app, "manager")
    queue = manager.get("/overrides")
    assert "部门调整，名额冻结" in queue.text
    override_id = queue.text.split('action="/overrides/')[1].split("/")[0]
    decided = manager.post(
        f"/overrides/{override_id}/approve",
        data={"csrf_token": csrf_of(queue.text), "note": "ok"},
        follow_redirects=False,
    )
    assert decided.status_code == 303
    audit = login(app, "auditor").get(f"/audit?employee_id={PROMOTED}").text
    assert "override_proposed" in audit and "override_approved" in audit
    assert "officer" in audit and "manager" in audit
    case = officer.get(f"/cycles/{CYCLE}/cases/{PROMOTED}").text
    assert "approved" in case


def test_a_manager_cannot_approve_his_own_proposal(app):
    manager = login(app, "manager")
    assert _propose(manager).status_code == 303
    queue = manager.get("/overrides")
    override_id = queue.text.split('action="/overrides/')[1].split("/")[0]
    refused = manager.post(
        f"/overrides/{override_id}/approve", data={"csrf_token": csrf_of(queue.text)}
    )
    assert refused.status_code == 409
    assert override_id in login(app, "manager2").get("/overrides").text


def test_an_officer_cannot_approve(app):
    officer = login(app, "officer")
    _propose(officer)
    queue = officer.get("/overrides")
    assert 'class="approve"' not in queue.text
    override_id = queue.text.split("<td>")[1].split("</td>")[0]
    refused = officer.post(
        f"/overrides/{override_id}/approve", data={"csrf_token": csrf_of(queue.text)}
    )
    assert refused.status_code == 403


def test_the_api_runs_the_same_four_eyes_flow(app, rt):
    from tests.functional.web_client import TestClient

    client = TestClient(app)
    officer, manager = token_for(rt, "officer"), token_for(rt, "manager")
    created = client.post(
        "/api/overrides",
        json={
            "cycle_id": CYCLE,
            "employee_id": PROMOTED,
            "kind": "block_promotion",
            "reason": "api reason",
        },
        headers=officer,
    )
    assert created.status_code == 201, created.text
    oid = created.json()["id"]
    assert created.json()["status"] == "proposed"
    pending = client.get("/api/overrides", headers=manager).json()
    assert [o["id"] for o in pending] == [oid]
    approved = client.post(f"/api/overrides/{oid}/approve", json={}, headers=manager)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    again = client.post(f"/api/overrides/{oid}/approve", json={}, headers=manager)
    assert again.status_code in (400, 409, 422)


def _queue_form(queue_html: str, override_id: str) -> str:
    """The one form of the queue row of ``override_id``."""
    start = queue_html.index(f'action="/overrides/{override_id}/approve"')
    return queue_html[start : queue_html.index("</form>", start)]


def test_a_manager_rejects_from_the_queue_with_a_note_and_the_case_shows_it(app, rt):
    officer = login(app, "officer")
    assert _propose(officer).status_code == 303
    manager = login(app, "manager")
    queue = manager.get("/overrides").text
    override_id = queue.split('action="/overrides/')[1].split("/")[0]
    form = _queue_form(queue, override_id)
    # the note and both buttons are one form: rejecting sends the note typed beside it
    assert 'name="note"' in form and f'formaction="/overrides/{override_id}/reject"' in form
    without_note = manager.post(
        f"/overrides/{override_id}/reject", data={"csrf_token": csrf_of(queue), "note": " "}
    )
    assert "needs a reason" in without_note.text
    rejected = manager.post(
        f"/overrides/{override_id}/reject",
        data={"csrf_token": csrf_of(queue), "note": "名额已冻结，不予调整"},
        follow_redirects=False,
    )
    assert rejected.status_code == 303
    with rt.sessions() as s:
        kinds = s.scalars(select(AuditEvent.kind).where(AuditEvent.kind.like("override_%"))).all()
    assert kinds == ["override_proposed", "override_rejected"]
    case = officer.get(f"/cycles/{CYCLE}/cases/{PROMOTED}").text
    assert "rejected" in case
    assert f'action="/overrides/{override_id}/' not in manager.get("/overrides").text


def test_a_result_a_manager_records_says_it_was_applied_not_that_it_waits(app, rt):
    with rt.unit_of_work() as s:
        s.execute(
            update(Case)
            .where(Case.cycle_id == CYCLE, Case.employee_id == PROMOTED)
            .values(state="test_notified")
        )
    manager = login(app, "manager")
    form = manager.get(f"/cycles/{CYCLE}/cases/{PROMOTED}/override")
    fields = {"kind": "record_result", "stage": "written_test", "value": "90"}
    done = manager.post(
        f"/cycles/{CYCLE}/cases/{PROMOTED}/override",
        data={"csrf_token": csrf_of(form.text), "reason": "商学院补交成绩", **fields},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"].endswith("?applied=1")
    page = manager.get(done.headers["location"]).text
    assert "已批准并生效" in page and "等待另一位经理审批" not in page
