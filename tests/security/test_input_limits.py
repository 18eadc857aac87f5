"""L3: free text is bounded before it is stored (issue 21).

A 20 MB reason was stored, then shipped with every ``/overrides`` and ``/audit`` page, and
on PostgreSQL an audit event can never be deleted. The services now refuse, in one line
naming the field and the limit (:mod:`promoflow.limits`): reasons and notes ≤ 2,000
characters, override parameters (known names only, grades ≤ 64, stages ≤ 32, results
≤ 100, ``effective`` a date), display names ≤ 200, token names ≤ 100, interview places
≤ 300, import file names ≤ 255 and the files' free-text columns within their columns'
widths. The CLI exits 2, the API answers 422 JSON, a console form is shown again with
the error; nothing is written.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from promoflow.console.cli import app as cli_app
from promoflow.engine.cycles import steps
from promoflow.engine.imports import import_table
from promoflow.engine.imports.reader import build_table
from promoflow.engine.overrides import service as overrides
from promoflow.engine.storage.models import AuditEvent, Cycle, Employee, ImportRun
from promoflow.engine.storage.models.overrides import Override
from promoflow.engine.storage.models.users import ApiToken, User
from promoflow.engine.users import accounts as users
from promoflow.errors import InputError
from promoflow.limits import TooLong, bounded_text
from tests.functional.audit_seed import CYCLE, OPEN, seed_cycle
from tests.functional.import_files import EMPLOYEE_HEADER, EMPLOYEES, counts, refused, write_csv
from tests.functional.web_client import TestClient, csrf_of, login, make_app, token_for
from tests.functional.web_seed import CYCLE as WEB_CYCLE
from tests.functional.web_seed import NOW

PROMOFLOW = Path(sys.executable).with_name("promoflow")
runner = CliRunner()
MODELS = (Override, AuditEvent, Cycle, User, ApiToken, Employee, ImportRun)
PROMOTED = "E000004"  # the web seed's promoted case


def rows(rt) -> dict[str, int]:
    with rt.sessions() as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m)) for m in MODELS}


def _cli(db_url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(PROMOFLOW), "--db", db_url, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "300"},
    )


def test_the_one_helper_names_the_field_and_the_limit_never_the_text():
    assert bounded_text("x" * 2000, "reason", 2000) == "x" * 2000
    assert bounded_text(None, "reason", 2000) is None
    with pytest.raises(TooLong) as caught:
        bounded_text("秘" * 2001, "reason", 2000)
    assert str(caught.value) == "reason is too long: 2,001 characters, at most 2,000"
    assert isinstance(caught.value, InputError) and caught.value.exit_code == 2


@pytest.fixture
def cycle_db(rt, db_url, tmp_path):
    seed_cycle(rt, tmp_path)
    return db_url


def test_an_over_long_override_reason_exits_2_in_one_line_and_writes_nothing(rt, cycle_db):
    before = rows(rt)
    done = _cli(cycle_db, "--actor", "olivia", "override", "block-promotion", CYCLE, "E02",
                "--reason", "x" * 2001)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == "error: reason is too long: 2,001 characters, at most 2,000"
    assert rows(rt) == before
    # 2,000 is allowed
    ok = runner.invoke(
        cli_app,
        [
            "--db",
            cycle_db,
            "--actor",
            "olivia",
            "override",
            "block-promotion",
            CYCLE,
            "E02",
            "--reason",
            "x" * 2000,
        ],
    )
    assert ok.exit_code == 0, ok.output


def test_a_20_mb_reason_and_long_notes_and_params_are_refused_by_the_service(rt, cycle_db):
    """What the CLI, the API and the pages all call: nothing is written by any refusal."""
    before = rows(rt)
    with rt.sessions() as s:
        attempts = [
            dict(kind="block_promotion", reason="x" * 20_000_000),
            dict(kind="change_demotion", reason="r", params={"to_grade": "S" * 65}),
            dict(kind="set_grade", reason="r", params={"to_grade": "S4", "junk": "y" * 10**6}),
            dict(kind="set_grade", reason="r", params={"to_grade": "S4", "effective": "soon"}),
            dict(kind="record_result", reason="r",
                 params={"stage": "written_test", "value": "9" * 101}),
        ]  # fmt: skip
        messages = []
        for fields in attempts:
            with pytest.raises(InputError) as caught:
                overrides.propose(s, now=OPEN, actor="mia", cycle_id=CYCLE, employee_id="E05",
                                  **fields)  # fmt: skip
            messages.append(str(caught.value))
            s.rollback()
    assert messages == [
        "reason is too long: 20,000,000 characters, at most 2,000",
        "to_grade is too long: 65 characters, at most 64",
        "unknown override parameter 'junk': use to_grade, effective, stage, value",
        "effective 'soon' is not a date (YYYY-MM-DD)",
        "value is too long: 101 characters, at most 100",
    ]
    assert rows(rt) == before

    proposed = runner.invoke(
        cli_app,
        [
            "--db",
            cycle_db,
            "--actor",
            "olivia",
            "override",
            "cancel-demotion",
            CYCLE,
            "E05",
            "--reason",
            "r",
        ],
    )
    assert proposed.exit_code == 0, proposed.output
    before = rows(rt)
    for verdict in ("approve", "reject"):
        done = _cli(cycle_db, "--actor", "max", "override", verdict, "1", "--note", "n" * 2001)
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip() == "error: note is too long: 2,001 characters, at most 2,000"
    assert rows(rt) == before
    with rt.sessions() as s:
        assert s.get(Override, 1).status == "proposed"


def test_a_forced_milestone_reason_and_an_interview_place_are_bounded(rt, cycle_db):
    before = rows(rt)
    done = _cli(cycle_db, "cycle", "advance", CYCLE, "--force", "--now", "2026-10-09T09:00+08:00",
                "--reason", "x" * 2001)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == "error: reason is too long: 2,001 characters, at most 2,000"
    with rt.sessions() as s, pytest.raises(TooLong):
        steps.run_by_hand(s, CYCLE, OPEN, "mia", force="x" * 2001)
    place = _cli(cycle_db, "cycle", "interview", CYCLE, "--at", "2026-10-20T09:00+08:00",
                 "--place", "会议室" * 101)  # fmt: skip
    assert place.returncode == 2
    assert place.stderr.strip() == "error: place is too long: 303 characters, at most 300"
    assert rows(rt) == before
    with rt.sessions() as s:
        assert s.get(Cycle, CYCLE).interview_place is None


def test_display_names_and_token_names_are_bounded(rt, db_url):
    before = rows(rt)
    done = _cli(db_url, "user", "add", "alice", "--role", "viewer", "--name", "A" * 201,
                "--password", "pass-word-1")  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == "error: display name is too long: 201 characters, at most 200"
    with rt.sessions() as s, s.begin():
        users.add_user(s, "bob", "pass-word-1", ["viewer"], NOW, "setup", display_name="B" * 200)
    before = rows(rt)
    with rt.sessions() as s, pytest.raises(TooLong, match="token name is too long: 101"):
        users.create_token(s, "bob", "t" * 101, NOW, "setup")
    assert rows(rt) == before


def test_import_free_text_columns_and_file_names_are_bounded(rt, tmp_path):
    long_name = [["E0009", "名" * 201, "sales", "S5", "2025-10-01", "", "e" * 101, ""]]
    path = write_csv(tmp_path / "employees.csv", EMPLOYEE_HEADER, [*EMPLOYEES, *long_name])
    error = refused(rt, "employees", path)
    assert [str(p) for p in error.problems] == [
        "employees.csv, line 5, column name: name is too long: 201 characters, at most 200",
        "employees.csv, line 5, column org_unit: org_unit is too long: 101 characters, at most 100",
    ]
    before = counts(rt)
    table = build_table("e" * 252 + ".csv", "0" * 64, EMPLOYEE_HEADER, EMPLOYEES)
    with rt.sessions() as s, pytest.raises(InputError, match="file name is too long: 256 char"):
        import_table(s, "employees", table, NOW, "tester")
    assert counts(rt) == before


@pytest.fixture
def web(rt):
    return make_app(rt)


def test_the_api_refuses_over_long_text_with_422_json(rt, web):
    client = TestClient(web)
    officer, manager = token_for(rt, "officer"), token_for(rt, "manager")
    before = rows(rt)
    body = {"cycle_id": WEB_CYCLE, "employee_id": PROMOTED, "kind": "block_promotion"}
    too_long = client.post("/api/overrides", json={**body, "reason": "x" * 2001}, headers=officer)
    assert too_long.status_code == 422
    assert "at most 2000 characters" in too_long.text
    param = client.post(
        "/api/overrides",
        json={**body, "reason": "r", "params": {"to_grade": "S" * 101}},
        headers=officer,
    )
    assert param.status_code == 422
    unknown = client.post(
        "/api/overrides", json={**body, "reason": "r", "params": {"junk": "y"}}, headers=officer
    )
    assert unknown.status_code == 422
    assert unknown.json()["detail"].startswith("unknown override parameter 'junk'")
    forced = client.post(
        "/api/cycles/sales-2026Q4/advance",
        json={"force": True, "reason": "x" * 2001},
        headers=manager,
    )
    assert forced.status_code == 422
    assert rows(rt) == before

    created = client.post("/api/overrides", json={**body, "reason": "r"}, headers=officer)
    assert created.status_code == 201, created.text
    before = rows(rt)
    oid = created.json()["id"]
    for verdict in ("approve", "reject"):
        r = client.post(
            f"/api/overrides/{oid}/{verdict}", json={"note": "n" * 2001}, headers=manager
        )
        assert r.status_code == 422 and "at most 2000 characters" in r.text
    assert rows(rt) == before


def test_the_console_forms_show_the_error_again_and_write_nothing(rt, web):
    officer, manager = login(web, "officer"), login(web, "manager")
    before = rows(rt)
    form = officer.get(f"/cycles/{WEB_CYCLE}/cases/{PROMOTED}/override")
    assert 'maxlength="2000"' in form.text
    response = officer.post(
        f"/cycles/{WEB_CYCLE}/cases/{PROMOTED}/override",
        data={"csrf_token": csrf_of(form.text), "kind": "block_promotion", "reason": "x" * 2001},
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert "原因过长：2,001 个字符，最多 2,000 个。未保存任何内容。" in response.text
    assert 'name="reason"' in response.text  # the form, shown again
    page = manager.get("/cycles")
    advanced = manager.post(
        "/cycles/advance",
        data={"csrf_token": csrf_of(page.text), "cycle_id": "sales-2026Q4",
              "force_reason": "x" * 2001},
        follow_redirects=False,
    )  # fmt: skip
    assert advanced.status_code == 409
    assert "原因过长" in advanced.text and 'id="advance-form"' in advanced.text
    assert rows(rt) == before
