"""H2: no one changes a grade alone through an employees file (issue 21, POLICY.md §6).

Through the API and the console's upload page, an ``hr_officer``'s grade change becomes a
``set_grade`` proposal that waits for an ``hr_manager``; a track change is refused; an
``hr_manager`` changes the grade of someone without an open case at once, but a case that
is open, or a grade an approved override set, still goes through four eyes.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from promoflow.console.cli import app
from promoflow.engine.overrides import service as overrides
from promoflow.engine.storage.models import Employee, GradeHistory
from promoflow.engine.storage.models.overrides import Override
from tests.functional.web_client import TestClient, csrf_of, login, make_app, token_for
from tests.functional.web_seed import CYCLE, NOW

HEADER = "employee_id,name,track,grade,grade_since\n"


def _file(*rows: tuple[str, str, str]) -> bytes:
    lines = [f"{e},员工{e},{track},{grade},2025-01-01" for e, track, grade in rows]
    return (HEADER + "\n".join(lines) + "\n").encode()


@pytest.fixture
def world(rt):
    app = make_app(rt)
    client = TestClient(app)
    # a newcomer with no case in the open cycle, created by a manager
    created = client.post(
        "/api/imports/employees",
        files={"file": ("new.csv", _file(("N000001", "sales", "S5")), "text/csv")},
        headers=token_for(rt, "manager"),
    )
    assert created.status_code == 201, created.text
    return rt, app, client


def _api_import(rt, client, who: str, data: bytes):
    return client.post(
        "/api/imports/employees",
        files={"file": ("employees.csv", data, "text/csv")},
        headers=token_for(rt, who),
    )


def _grade(rt, employee_id: str) -> str:
    with rt.sessions() as s:
        return s.get(Employee, employee_id).grade


def _open_overrides(rt, employee_id: str) -> list[tuple[str, str | None, dict, str]]:
    with rt.sessions() as s:
        rows = s.scalars(
            select(Override).where(
                Override.employee_id == employee_id, Override.status == "proposed"
            )
        ).all()
        return [(o.proposed_by, o.cycle_id, dict(o.params), o.kind) for o in rows]


def _history_rows(rt) -> int:
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(GradeHistory))


def test_an_officers_grade_change_by_api_waits_for_a_manager(world):
    rt, _app, client = world
    before = _history_rows(rt)
    response = _api_import(rt, client, "officer", _file(("N000001", "sales", "S13")))
    assert response.status_code == 201, response.text
    assert response.json()["details"]["grades_proposed"] == 1
    assert _grade(rt, "N000001") == "S5"
    assert _history_rows(rt) == before
    assert _open_overrides(rt, "N000001") == [("officer", None, {"to_grade": "S13"}, "set_grade")]


def test_the_officer_may_not_approve_it_and_a_manager_applies_it(world):
    rt, _app, client = world
    _api_import(rt, client, "officer", _file(("N000001", "sales", "S7")))
    with rt.sessions() as s:
        (override_id,) = s.scalars(
            select(Override.id).where(Override.employee_id == "N000001")
        ).all()
    refused = client.post(
        f"/api/overrides/{override_id}/approve", json={}, headers=token_for(rt, "officer")
    )
    assert refused.status_code == 403
    approved = client.post(
        f"/api/overrides/{override_id}/approve",
        json={"note": "checked with the HRIS"},
        headers=token_for(rt, "manager"),
    )
    assert approved.status_code == 200, approved.text
    assert _grade(rt, "N000001") == "S7"


def test_an_officers_track_change_is_refused_and_nothing_is_written(world):
    rt, _app, client = world
    before = _history_rows(rt)
    response = _api_import(rt, client, "officer", _file(("N000001", "cs", "普通客服代表·中级")))
    assert response.status_code in (400, 422), response.text
    assert "needs an hr_manager" in response.text
    assert _grade(rt, "N000001") == "S5"
    assert _history_rows(rt) == before
    assert _open_overrides(rt, "N000001") == []


def test_a_manager_changes_a_grade_with_no_open_case_at_once(world):
    rt, _app, client = world
    response = _api_import(rt, client, "manager", _file(("N000001", "sales", "S6")))
    assert response.status_code == 201, response.text
    assert response.json()["details"]["grades_proposed"] == 0
    assert _grade(rt, "N000001") == "S6"
    assert _open_overrides(rt, "N000001") == []


def test_a_managers_change_during_an_open_case_goes_through_four_eyes(world):
    rt, _app, client = world
    grade = _grade(rt, "E000003")
    response = _api_import(rt, client, "manager", _file(("E000003", "sales", "S12")))
    assert response.status_code == 201, response.text
    assert _grade(rt, "E000003") == grade
    assert _open_overrides(rt, "E000003") == [("manager", CYCLE, {"to_grade": "S12"}, "set_grade")]


def test_a_stale_file_does_not_undo_an_approved_override(world):
    rt, _app, client = world
    with rt.unit_of_work() as s:
        proposed = overrides.propose(
            s,
            now=NOW,
            actor="officer",
            employee_id="N000001",
            kind="set_grade",
            cycle_id=None,
            params={"to_grade": "S9"},
            reason="promoted by the director's decision",
        )
    with rt.unit_of_work() as s:
        overrides.approve(s, proposed.id, now=NOW, actor="manager", note="ok")
    assert _grade(rt, "N000001") == "S9"
    # the HR system still holds the old grade, and a manager uploads its file
    response = _api_import(rt, client, "manager", _file(("N000001", "sales", "S5")))
    assert response.status_code == 201, response.text
    assert _grade(rt, "N000001") == "S9"
    assert _open_overrides(rt, "N000001") == [("manager", None, {"to_grade": "S5"}, "set_grade")]


@pytest.mark.parametrize(
    ("who", "status", "proposed"),
    [
        ("viewer", 403, None),
        ("auditor", 403, None),
        ("admin", 403, None),
        ("officer", 200, 1),
        ("manager", 200, 0),
    ],
)
def test_the_upload_page_enforces_the_same_per_role(world, who, status, proposed):
    rt, app, _client = world
    browser = login(app, who)
    page = browser.get("/results")
    token = csrf_of(page.text) if page.status_code == 200 else "x"
    response = browser.post(
        "/results",
        data={"kind": "employees", "csrf_token": token},
        files={"file": ("employees.csv", _file(("N000001", "sales", "S8")), "text/csv")},
    )
    assert response.status_code == status, response.text
    expected = "S8" if proposed == 0 else "S5"
    assert _grade(rt, "N000001") == expected
    assert len(_open_overrides(rt, "N000001")) == (proposed or 0)


def _cli_import(db_url, tmp_path, *identity: str):
    path = tmp_path / "employees.csv"
    path.write_bytes(_file(("N000001", "sales", "S11")))
    return CliRunner().invoke(
        app, ["--db", db_url, *identity, "import", "employees", str(path)], catch_exceptions=False
    )


@pytest.mark.parametrize(
    ("identity", "grade", "proposed_by"),
    [
        (("--actor", "officer"), "S5", "officer"),  # an officer's name, asserted
        (("--token", "officer"), "S5", "officer"),  # an officer's token
        (("--token", "manager"), "S11", None),  # a manager's token
        ((), "S11", None),  # the HR system's feed: no stored user, via cli-asserted
    ],
)
def test_the_command_line_asks_the_same_of_whoever_it_acts_for(
    world, db_url, tmp_path, identity, grade, proposed_by
):
    rt, _app, _client = world
    if identity and identity[0] == "--token":
        identity = ("--token", token_for(rt, identity[1])["Authorization"].split()[1])
    done = _cli_import(db_url, tmp_path, *identity)
    assert done.exit_code == 0, done.output
    assert _grade(rt, "N000001") == grade
    open_ = _open_overrides(rt, "N000001")
    assert [o[0] for o in open_] == ([proposed_by] if proposed_by else [])
