"""``cs_assistant``'s inputs keep their scales (POLICY.md §4, issue 20): education 0/1/3/5,
presentation 0–5, experience 1–5, posts 2/4/5, certificates 0–5, appraisal 0–100. A value
off its scale refuses the whole metrics file, naming the line and the scale, through the
command line and the API alike; before, education 20 made a grading score of 106."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from promoflow.engine.imports import run_import
from promoflow.engine.storage.models import Metric
from tests.functional.import_files import (
    EMPLOYEE_HEADER,
    METRIC_HEADER,
    NOW,
    counts,
    write_csv,
)
from tests.functional.web_client import TestClient, make_app, token_for

PROMOFLOW = Path(sys.executable).with_name("promoflow")
ASSISTANT = ["A001", "赵六", "cs_assistant", "助理", "2025-07-01", "2025-01-10", "cs-sh", ""]
GOOD = {"education": "3", "presentation": "4.5", "experience": "2", "posts": "5",
        "certificates": "1", "appraisal": "88"}  # fmt: skip


def _rows(**changed: str) -> list[list[str]]:
    return [["A001", "2026H2", m, v] for m, v in {**GOOD, **changed}.items()]


@pytest.fixture
def assistant(rt, tmp_path):
    path = write_csv(tmp_path / "employees.csv", EMPLOYEE_HEADER, [ASSISTANT])
    with rt.unit_of_work() as s:
        run_import(s, "employees", path, NOW, "hr")


def test_values_on_their_scales_are_imported(rt, assistant, tmp_path):
    path = write_csv(tmp_path / "metrics.csv", METRIC_HEADER, _rows())
    with rt.unit_of_work() as s:
        report = run_import(s, "metrics", path, NOW, "hr")
    assert report.changed == 6
    with rt.sessions() as s:
        assert s.query(Metric).filter_by(metric="presentation").one().value == 4.5


@pytest.mark.parametrize(
    ("metric", "value", "scale"),
    [
        ("education", "2", "0, 1, 3 or 5"),
        ("education", "20", "0, 1, 3 or 5"),
        ("posts", "3", "2, 4 or 5"),
        ("experience", "0", "1, 2, 3, 4 or 5"),
        ("presentation", "5.5", "0 to 5"),
        ("certificates", "6", "0, 1, 2, 3, 4 or 5"),
    ],
)
def test_a_value_off_its_scale_refuses_the_file_naming_line_and_scale(
    rt, db_url, assistant, tmp_path, metric, value, scale
):
    path = write_csv(tmp_path / "metrics.csv", METRIC_HEADER, _rows(**{metric: value}))
    before = counts(rt)
    done = subprocess.run(
        [str(PROMOFLOW), "--db", db_url, "import", "metrics", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    line = 2 + list(GOOD).index(metric)
    expected = f"line {line}, column value: {metric} {value} is not on its scale ({scale})"
    assert expected in " ".join(done.stderr.split())  # (the terminal wraps long lines)
    assert "Traceback" not in done.stderr
    assert counts(rt) == before


def test_the_api_refuses_the_same_file_with_the_same_words(rt, assistant):
    client = TestClient(make_app(rt))
    body = "employee_id,period,metric,value\n" + "".join(
        f"{e},{p},{m},{v}\n" for e, p, m, v in _rows(education="2")
    )
    response = client.post(
        "/api/imports/metrics",
        headers=token_for(rt, "officer"),
        files={"file": ("metrics.csv", body.encode(), "text/csv")},
    )
    assert response.status_code == 422, response.text
    (problem,) = response.json()["problems"]
    assert (problem["line"], problem["column"]) == (2, "value")
    assert problem["message"] == "education 2 is not on its scale (0, 1, 3 or 5)"
