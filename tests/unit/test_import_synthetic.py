"""The synthetic org: deterministic, valid, and on both sides of every threshold."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal

from promoflow.demo.synthetic import generate_org, results_csv_text, stage_results
from promoflow.engine.imports.catalog import Catalog
from promoflow.rules.periods import months_in_grade, parse_period


def test_the_same_seed_gives_the_same_org_and_another_seed_another():
    assert generate_org(60, seed=3).csv_text("metrics") == generate_org(60, seed=3).csv_text(
        "metrics"
    )
    assert generate_org(60, seed=3).csv_text("employees") != generate_org(60, seed=4).csv_text(
        "employees"
    )


def test_employees_are_spread_over_the_tracks_with_known_grades():
    org = generate_org(200, ("sales", "cs"), seed=1)
    catalog = Catalog.bundled()
    assert Counter(e["track"] for e in org.employees) == {"sales": 100, "cs": 100}
    for row in org.employees:
        assert row["grade"] in catalog.grades(row["track"]) or (
            row["grade"] == "" and catalog.position(row["track"], row["position"]) is not None
        )


def test_sales_data_sits_on_both_sides_of_80():
    org = generate_org(600, ("sales",), seed=2)
    values = defaultdict(dict)
    for m in org.metrics:
        values[(m["employee_id"], m["period"])][m["metric"]] = Decimal(m["value"])
    scores = {v["score"] for (_, period), v in values.items() if period == "2026Q3"}
    assert Decimal(80) in scores and Decimal("79.99") in scores
    assert any(s > 80 for s in scores) and any(s < 80 for s in scores)
    attainments = {
        v["sales_actual"] / v["sales_target"]
        for (_, period), v in values.items()
        if period == "2026Q3" and "sales_target" in v
    }
    assert {Decimal("0.8"), Decimal("0.8001"), Decimal("0.7999")} <= attainments
    assert any(k[1] == "2026Q3" and "sales_target" not in v for k, v in values.items())
    with_previous = {e for (e, p) in values if p == "2026Q2"}
    assert len(with_previous) < len({e for e, _ in values})  # some lack the previous quarter


def test_tenure_straddles_three_months_and_some_are_new_hires_to_entry_grade():
    org = generate_org(400, ("sales", "cs"), seed=5)
    end = parse_period("2026Q3").ends
    months = Counter(
        months_in_grade(date.fromisoformat(e["grade_since"]), end) for e in org.employees
    )
    assert months[3] > 0 and months[2] > 0
    assert any(e["grade"] == "" and e["position"] for e in org.employees)


def test_cs_averages_hit_80_70_and_50_exactly_including_the_weighted_composite():
    org = generate_org(600, ("cs",), seed=6)
    weights = {
        "return_visit": Decimal("0.2"),
        "satisfaction": Decimal("0.2"),
        "handling": Decimal("0.25"),
        "training": Decimal("0.25"),
        "attendance": Decimal("0.1"),
    }
    monthly = defaultdict(dict)
    for m in org.metrics:
        monthly[(m["employee_id"], m["period"])][m["metric"]] = Decimal(m["value"])
    averages = set()
    for employee_id in {e["employee_id"] for e in org.employees}:
        scores = []
        for month in ("2026-07", "2026-08", "2026-09"):
            parts = monthly.get((employee_id, month), {})
            if "score" in parts:
                scores.append(parts["score"])
            elif set(parts) == set(weights):
                scores.append(sum(parts[k] * w for k, w in weights.items()))
        if len(scores) == 3:
            averages.add(sum(scores) / 3)
    assert {Decimal(80), Decimal(70), Decimal(50), Decimal("49.99")} <= averages
    assert any(a > 80 for a in averages) and any(a < 50 for a in averages)
    assert "composite_exactly_70" in {p for _, p in org.profiles.values()}


def test_the_csv_files_hold_the_interchange_columns(tmp_path):
    paths = generate_org(20, seed=0).write_csv(tmp_path)
    assert paths["employees"].read_text("utf-8").splitlines()[0] == (
        "employee_id,name,track,grade,grade_since,hire_date,org_unit,position"
    )
    assert paths["metrics"].read_text("utf-8").splitlines()[0] == "employee_id,period,metric,value"
    assert paths["vacancies"].read_text("utf-8").splitlines()[0] == "org_unit,position,open"


def test_stage_results_straddle_the_pass_mark_and_leave_some_cases_waiting():
    ids = [f"E{i:06d}" for i in range(300)]
    rows = stage_results("sales-2026Q3", ids, ("written_test", "interview"), seed=1)
    assert rows == stage_results("sales-2026Q3", ids, ("written_test", "interview"), seed=1)
    values = {r["value"] for r in rows}
    assert {"60", "59.99", "pass", "fail"} <= values
    per_employee = Counter(r["employee_id"] for r in rows)
    assert set(per_employee.values()) == {1, 2}  # some lack their interview result
    text = results_csv_text(rows)
    assert text.splitlines()[0] == "employee_id,cycle,stage,value"


def test_rating_and_assistant_tracks_get_half_year_inputs_on_their_band_edges():
    org = generate_org(400, ("cs_rating", "cs_assistant"), seed=8)
    halves = defaultdict(dict)
    for m in org.metrics:
        assert m["period"] == "2026H2"
        halves[m["employee_id"]][m["metric"]] = Decimal(m["value"])
    weights = {
        "knowledge": Decimal("0.30"),
        "communication": Decimal("0.25"),
        "teamwork": Decimal("0.20"),
        "efficiency": Decimal("0.15"),
        "satisfaction": Decimal("0.10"),
    }
    tracks = {e["employee_id"]: e["track"] for e in org.employees}
    composites = {
        sum(v[k] * w for k, w in weights.items())
        for e, v in halves.items()
        if tracks[e] == "cs_rating" and set(v) == set(weights)
    }
    assert {Decimal(60), Decimal(70), Decimal("69.99"), Decimal(80), Decimal(90)} <= composites
    hard = ("education", "presentation", "experience", "posts", "certificates")
    scores = {
        sum(v[k] for k in hard) + Decimal("0.75") * v["appraisal"]
        for e, v in halves.items()
        if tracks[e] == "cs_assistant" and "appraisal" in v
    }
    assert {Decimal(60), Decimal(63), Decimal(96)} <= scores
    assert any(s < 60 for s in scores)
