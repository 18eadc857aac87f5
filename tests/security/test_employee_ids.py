"""Employee ids are ASCII letters, digits and ``. _ -``, at most 64, a letter or digit first
(issue 21).

The imports accepted ``=1+1`` (a formula in every export) and ``a/../b`` (its case page
``/cycles/C/cases/a/../b`` can never be reached). Every import, and every command or
request that creates something about an employee (an override), now refuses such an id
with one line naming the row and the field; the file imports nothing and the CLI exits 2.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from promoflow.engine.storage.models import AuditEvent
from promoflow.engine.storage.models.overrides import Override
from promoflow.errors import InputError
from promoflow.limits import check_employee_id, employee_id_problem
from tests.functional.audit_seed import CYCLE, seed_cycle
from tests.functional.import_files import (
    EMPLOYEE_HEADER,
    EMPLOYEES,
    METRIC_HEADER,
    counts,
    do_import,
    messages,
    refused,
    write_csv,
)
from tests.functional.web_client import TestClient, make_app, token_for
from tests.functional.web_seed import CYCLE as WEB_CYCLE

PROMOFLOW = Path(sys.executable).with_name("promoflow")
BAD = ["=1+1", "a/../b", "..", ".E1", "-2", "E 1", "E1\n", "员工1", "Ｅ0001", "E1;DROP", "x" * 65]
GOOD = ["E0001", "E000001", "N0001", "C9", "e-01.a_b", "0", "x" * 64]


@pytest.mark.parametrize("value", BAD)
def test_a_bad_id_is_refused_in_one_line(value):
    problem = employee_id_problem(value)
    assert problem and "\n" not in problem
    with pytest.raises(InputError):
        check_employee_id(value)


@pytest.mark.parametrize("value", GOOD)
def test_the_ids_hr_systems_and_the_demo_use_are_valid(value):
    assert employee_id_problem(value) is None


def test_the_demo_organisation_ids_are_valid():
    from promoflow.demo.synthetic import generate_org

    org = generate_org(200, seed=1)
    ids = [e["employee_id"] for e in org.employees]
    assert ids and all(employee_id_problem(i) is None for i in ids)


def _employees(tmp_path, *ids: str) -> Path:
    rows = [[i, f"员工{n}", "sales", "S5", "2025-10-01", "", "east", ""] for n, i in enumerate(ids)]
    return write_csv(tmp_path / "employees.csv", EMPLOYEE_HEADER, [*EMPLOYEES, *rows])


def test_an_employees_file_with_formula_and_path_ids_exits_2_and_imports_nothing(
    rt, db_url, tmp_path
):
    path = _employees(tmp_path, "=1+1", "a/../b")
    before = counts(rt)
    done = subprocess.run(
        [str(PROMOFLOW), "--db", db_url, "import", "employees", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    err = " ".join(done.stderr.split())
    assert "employees.csv: 2 bad rows; nothing was imported" in err
    assert "line 5, column employee_id: invalid employee_id '=1+1'" in err
    assert "line 6, column employee_id: invalid employee_id 'a/../b'" in err
    assert "Traceback" not in done.stderr
    assert counts(rt) == before  # employees, grade history, import runs, audit events


def test_metrics_and_results_files_refuse_a_bad_id_once(rt, tmp_path):
    do_import(rt, "employees", _employees(tmp_path))
    metrics = write_csv(
        tmp_path / "metrics.csv",
        METRIC_HEADER,
        [["E0001", "2026Q3", "score", "80"], ["=1+1", "2026Q3", "score", "80"]],
    )
    error = refused(rt, "metrics", metrics)
    # the malformed id is said once, not also as an "unknown employee"
    assert messages(error) == [
        "metrics.csv, line 3, column employee_id: invalid employee_id '=1+1': "
        "ASCII letters, digits and . _ - only, a letter or digit first"
    ]
    results = write_csv(
        tmp_path / "results.csv",
        ["employee_id", "cycle", "stage", "value"],
        [["a/../b", "sales-2026Q3", "written_test", "80"]],
    )
    error = refused(rt, "results", results)
    assert any(
        "line 2, column employee_id: invalid employee_id 'a/../b'" in m for m in messages(error)
    )


def test_an_id_of_65_characters_is_refused_and_64_accepted(rt, tmp_path):
    error = refused(rt, "employees", _employees(tmp_path, "E" * 65))
    assert "employee_id is too long: 65 characters, at most 64" in messages(error)[0]
    report = do_import(rt, "employees", _employees(tmp_path, "E" * 64))
    assert report.changed == 4


def test_an_uploaded_file_with_a_bad_id_is_a_422_and_imports_nothing(rt):
    app_ = make_app(rt)
    client = TestClient(app_)
    before = counts(rt)
    body = ",".join(EMPLOYEE_HEADER) + "\n=1+1,甲,sales,S5,2025-10-01,,east,\n"
    r = client.post(
        "/api/imports/employees",
        files={"file": ("e.csv", body.encode(), "text/csv")},
        headers=token_for(rt, "manager"),
    )
    assert r.status_code == 422
    (problem,) = r.json()["problems"]
    assert (problem["line"], problem["column"]) == (2, "employee_id")
    assert "invalid employee_id '=1+1'" in problem["message"]
    after = counts(rt)
    after["audit_events"] -= 1  # the token created for the request
    assert after == before


def _overrides_and_events(rt) -> tuple[int, int]:
    with rt.sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(Override)),
            s.scalar(select(func.count()).select_from(AuditEvent)),
        )


def test_an_override_naming_a_bad_id_exits_2_in_one_line(rt, db_url, tmp_path):
    seed_cycle(rt, tmp_path)
    before = _overrides_and_events(rt)
    done = subprocess.run(
        [str(PROMOFLOW), "--db", db_url, "--actor", "mia", "override", "block-promotion",
         CYCLE, "a/../b", "--reason", "r"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "300"},
    )  # fmt: skip
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1  # one line (at a wide enough terminal)
    assert "invalid employee_id 'a/../b'" in done.stderr
    assert _overrides_and_events(rt) == before


def test_an_override_request_naming_a_bad_id_is_refused(rt):
    app_ = make_app(rt)
    headers = token_for(rt, "officer")
    before = _overrides_and_events(rt)
    r = TestClient(app_).post(
        "/api/overrides",
        json={"cycle_id": WEB_CYCLE, "employee_id": "=1+1", "kind": "block_promotion",
              "reason": "r"},
        headers=headers,
    )  # fmt: skip
    assert r.status_code == 422
    assert "invalid employee_id '=1+1'" in r.text
    assert _overrides_and_events(rt) == before
