"""build_facts reads stored metrics, decisions and vacancies into exact facts per employee."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import event, insert, select

from promoflow.engine.facts.build import build_facts, prepare_facts
from promoflow.engine.storage.models import Cycle, Decision, Employee, Metric, Period, Vacancy
from promoflow.rules.packs import bundled_packs
from promoflow.rules.periods import parse_period

D = Decimal
NOW = datetime(2026, 10, 8, 1, 0, tzinfo=UTC)


# -- the bundled packs: weights, grades and positions come from them ------------------

PACKS = bundled_packs()
SALES, CS, RATING, ASSISTANT = (PACKS[t] for t in ("sales", "cs", "cs_rating", "cs_assistant"))
CS_WEIGHTS = CS.composites["monthly_score"].components


# -- seeding ---------------------------------------------------------------------------


def _ensure_periods(session, period_ids: Iterable[str]) -> None:
    wanted = set(period_ids)
    have = set(session.scalars(select(Period.period_id).where(Period.period_id.in_(wanted))))
    rows = [
        {"period_id": p.id, "kind": p.kind, "starts": p.starts, "ends": p.ends}
        for p in map(parse_period, sorted(wanted - have))
    ]
    if rows:
        session.execute(insert(Period), rows)


def _employees(session, rows, org_unit: str | None = "east") -> list[Employee]:
    session.execute(
        insert(Employee),
        [
            {
                "employee_id": eid, "name": eid, "track": track, "grade": grade,
                "grade_since": since, "hire_date": None, "org_unit": org_unit,
                "position": None, "active": True, "updated_at": NOW,
            }
            for eid, track, grade, since in rows
        ],
    )  # fmt: skip
    wanted = [row[0] for row in rows]
    found = {e.employee_id: e for e in session.scalars(select(Employee))}
    return [found[eid] for eid in wanted]


def _metrics(session, rows) -> None:
    values = [
        {
            "employee_id": eid, "period_id": pid, "metric": metric,
            "value": D(str(value)), "import_id": None, "updated_at": NOW,
        }
        for eid, pid, metric, value in rows
    ]  # fmt: skip
    _ensure_periods(session, {v["period_id"] for v in values})
    session.execute(insert(Metric), values)


def _quarter(eid, quarter, score, actual, target):
    return [
        (eid, quarter, "score", score),
        (eid, quarter, "sales_actual", actual),
        (eid, quarter, "sales_target", target),
    ]


# -- sales -----------------------------------------------------------------------------


def test_sales_quarter_facts_read_quarter_rows_and_monthly_means_exactly(session):
    emps = _employees(
        session,
        [
            ("E1", "sales", "S5", date(2026, 7, 1)),
            ("E2", "sales", "S5", date(2026, 7, 2)),
        ],
    )
    _metrics(
        session,
        [
            *_quarter("E1", "2026Q2", "80", "80.01", "100"),
            ("E1", "2026-07", "score", "79.5"),
            ("E1", "2026-08", "score", "80"),
            ("E1", "2026-09", "score", "80.5"),
            ("E1", "2026-07", "sales_actual", "30"),
            ("E1", "2026-08", "sales_actual", "30"),
            ("E1", "2026-09", "sales_actual", "20"),
            ("E1", "2026Q3", "sales_target", "100"),
            *_quarter("E2", "2026Q3", "79.99", "1", "2"),
        ],
    )
    facts = build_facts(session, SALES, "2026Q3", emps)

    one = facts["E1"]
    assert one["months_in_grade"] == 3
    assert one["score_q"] == D(80)
    assert one["attainment_q"] == D("0.8")
    assert one["score_prev_q"] == D(80)
    assert one["attainment_prev_q"] == D("0.8001")
    assert one["attainment_half"] is None
    assert one["consecutive_low_quarters"] == 0
    assert one["missing"] == []

    two = facts["E2"]
    assert two["months_in_grade"] == 2
    assert two["score_q"] == D("79.99")
    assert two["attainment_q"] == D("0.5")
    assert two["score_prev_q"] is None
    assert two["consecutive_low_quarters"] is None
    assert two["missing_for"]["score_prev_q"] == ["2026Q2 score"]
    assert two["missing_for"]["attainment_prev_q"] == ["2026Q2 sales_actual", "2026Q2 sales_target"]
    assert two["missing"] == ["2026Q2 score", "2026Q2 sales_actual", "2026Q2 sales_target"]


def test_only_the_facts_asked_for_are_computed_and_their_values_are_the_same(session):
    emps = _employees(session, [("E1", "sales", "S5", date(2026, 6, 30))], org_unit=None)
    _metrics(session, [*_quarter("E1", "2026Q3", "85", "9", "10")])
    every = build_facts(session, SALES, "2026Q3", emps)["E1"]
    only = {"score_q", "attainment_q", "score_prev_q"}
    prepared = prepare_facts(session, SALES, "2026Q3", emps, only=only)
    some = prepared.facts(0)
    assert {
        k for k in some if k not in ("employee_id", "grade", "period", "missing", "missing_for")
    } == only
    assert all(some[name] == every[name] for name in only)
    # the missing inputs are those of the facts computed: no org unit is needed for them
    assert "E1 org_unit" in every["missing"]
    assert some["missing"] == ["2026Q2 score"]
    assert some["missing_for"] == {"score_prev_q": ["2026Q2 score"]}


def test_sales_zero_target_and_absent_month_are_named_not_defaulted(session):
    emps = _employees(session, [("E1", "sales", "S4", date(2025, 1, 1))])
    _metrics(
        session,
        [
            ("E1", "2026-07", "score", "90"),
            ("E1", "2026-09", "score", "90"),
            ("E1", "2026Q3", "sales_actual", "10"),
            ("E1", "2026Q3", "sales_target", "0"),
        ],
    )
    facts = build_facts(session, SALES, "2026Q3", emps)["E1"]
    assert facts["score_q"] is None
    assert facts["attainment_q"] is None
    assert facts["missing_for"]["score_q"] == ["2026-08 score"]
    assert facts["missing_for"]["attainment_q"] == ["2026Q3 sales_target is 0"]


def test_sales_half_facts_cover_both_quarters_cumulative_attainment_and_vacancies(session):
    emps = _employees(
        session,
        [
            ("S10A", "sales", "S10", date(2026, 7, 1)),
            ("S12A", "sales", "S12", date(2025, 1, 1)),
            ("S13A", "sales", "S13", date(2025, 1, 1)),
        ],
    )
    _metrics(
        session,
        [
            *_quarter("S10A", "2026Q3", "79.99", "100", "100"),
            *_quarter("S10A", "2026Q4", "70", "60", "150"),
            *_quarter("S12A", "2026Q3", "90", "50", "100"),
            ("S12A", "2026Q4", "score", "90"),
            ("S12A", "2026H2", "sales_actual", "161"),
            ("S12A", "2026H2", "sales_target", "200"),
        ],
    )
    session.add(Vacancy(org_unit="east", position="销售经理", open=2, updated_at=NOW))
    session.add(Vacancy(org_unit="west", position="sales_manager", open=5, updated_at=NOW))
    session.flush()
    facts = build_facts(session, SALES, "2026H2", emps)

    low = facts["S10A"]
    assert low["months_in_grade"] == 6
    assert (low["score_prev_q"], low["score_q"]) == (D("79.99"), D(70))
    assert low["attainment_half"] == D("0.64")
    assert low["attainment_q"] == D("0.4")
    assert low["consecutive_low_quarters"] == 2
    assert low["vacancies_up"] == 0  # S11 is still a supervisor grade; no row → 0

    top = facts["S12A"]
    assert top["attainment_half"] == D("0.805")
    assert top["vacancies_up"] == 2  # matched on the Chinese position name, own org unit only
    assert top["missing_for"].get("attainment_half") is None
    assert facts["S13A"]["vacancies_up"] is None


def test_employee_without_org_unit_has_no_vacancy_count_and_says_why(session):
    emps = _employees(session, [("E1", "sales", "S12", date(2025, 1, 1))], org_unit=None)
    facts = build_facts(session, SALES, "2026H2", emps)["E1"]
    assert facts["vacancies_up"] is None
    assert facts["missing_for"]["vacancies_up"] == ["E1 org_unit"]


# -- customer service ------------------------------------------------------------------


def _components(eid, month, values):
    return [(eid, month, name, v) for name, v in zip(CS_WEIGHTS, values, strict=True)]


def test_cs_monthly_score_average_of_weighted_components_sits_exactly_on_70(session):
    emps = _employees(session, [("C1", "cs", "普通客服代表·中级", date(2025, 1, 1))])
    boundary = ["66.8", "79.0", "68.3", "83.1", "29.9"]  # Σ weight × component = 70 exactly
    _metrics(
        session,
        [
            *_components("C1", "2026-07", boundary),
            *_components("C1", "2026-08", boundary),
            ("C1", "2026-09", "score", "70"),
        ],
    )
    facts = build_facts(session, CS, "2026Q3", emps)["C1"]
    assert facts["monthly_score_avg"] == D(70)
    assert str(facts["monthly_score_avg"]) == "70"
    assert facts["on_probation"] is False
    assert facts["probation_score"] is None
    assert facts["missing"] == []


def test_cs_missing_component_makes_the_average_missing_and_names_the_input(session):
    emps = _employees(session, [("C1", "cs", "普通客服代表·中级", date(2025, 1, 1))])
    _metrics(
        session,
        [
            *_components("C1", "2026-07", ["80"] * 5),
            *_components("C1", "2026-08", ["80"] * 5)[:-1],
            ("C1", "2026-09", "score", "80"),
        ],
    )
    facts = build_facts(session, CS, "2026Q3", emps)["C1"]
    assert facts["monthly_score_avg"] is None
    assert facts["missing"] == ["2026-08 attendance"]


def _probation_decision(session, eid: str, cycle_id: str, period_id: str, probation: bool):
    _ensure_periods(session, [period_id])
    if session.get(Cycle, cycle_id) is None:
        session.add(
            Cycle(
                cycle_id=cycle_id, track="cs", period_id=period_id, milestone="announce",
                pack_id="cs", pack_version="x" * 64, opened_at=NOW, updated_at=NOW,
            )
        )  # fmt: skip
        session.flush()
    session.add(
        Decision(
            cycle_id=cycle_id, employee_id=eid, outcome="demoted", from_grade="b",
            to_grade="a", rule="cs.demote.probation", pack_id="cs", pack_version="x" * 64,
            probation=probation, review=None, facts={}, thresholds={}, reasons_zh=[],
            reasons_en=[], missing=[], decided_at=NOW,
        )
    )  # fmt: skip
    session.flush()


def test_probation_month_score_is_read_for_those_the_cycle_put_on_probation(session):
    emps = _employees(
        session,
        [
            ("P1", "cs", "普通客服代表·中级", date(2026, 11, 1)),
            ("P2", "cs", "普通客服代表·中级", date(2026, 11, 1)),
            ("P3", "cs", "普通客服代表·高级", date(2025, 1, 1)),
        ],
    )
    _probation_decision(session, "P1", "cs-2026Q3", "2026Q3", True)
    _probation_decision(session, "P2", "cs-2026Q3", "2026Q3", True)
    _probation_decision(session, "P3", "cs-2026Q3", "2026Q3", False)
    _metrics(session, [*_components("P1", "2026-11", ["50"] * 5), ("P3", "2026-11", "score", "1")])

    for period in ("2026Q3", "2026-11"):  # by cycle period, or by the probation month itself
        facts = build_facts(session, CS, period, emps)
        assert facts["P1"]["on_probation"] is True
        assert facts["P1"]["probation_month"] == "2026-11"
        assert facts["P1"]["probation_score"] == D(50)
        assert facts["P2"]["probation_score"] is None
        assert facts["P2"]["missing_for"]["probation_score"] == ["2026-11 score"]
        assert facts["P3"]["on_probation"] is False
        assert facts["P3"]["probation_score"] is None
        assert "probation_score" not in facts["P3"]["missing_for"]


# -- rating and assistant grading ------------------------------------------------------


def test_cs_rating_composite_is_the_weighted_half_or_the_half_score_row(session):
    emps = _employees(
        session,
        [
            ("R1", "cs_rating", "中级", date(2025, 1, 1)),
            ("R2", "cs_rating", "中级", date(2025, 1, 1)),
            ("R3", "cs_rating", "中级", date(2025, 1, 1)),
        ],
    )
    parts = ("knowledge", "communication", "teamwork", "efficiency", "satisfaction")
    _metrics(
        session,
        [
            *[("R1", "2026H2", name, "70") for name in parts],
            ("R2", "2026H2", "score", "69.99"),
            ("R3", "2026H2", "knowledge", "90"),
        ],
    )
    facts = build_facts(session, RATING, "2026H2", emps)
    assert facts["R1"]["composite"] == D(70)
    assert facts["R2"]["composite"] == D("69.99")
    assert facts["R3"]["composite"] is None
    assert facts["R3"]["missing"] == [
        "2026H2 communication",
        "2026H2 teamwork",
        "2026H2 efficiency",
        "2026H2 satisfaction",
    ]
    assert facts["R1"]["months_in_grade"] == 24


def test_cs_assistant_score_is_hard_items_plus_three_quarters_of_the_appraisal(session):
    emps = _employees(session, [("A1", "cs_assistant", "助理", date(2026, 1, 1))])
    items = {"education": 3, "presentation": 4, "experience": 2, "posts": 5, "certificates": 1}
    _metrics(
        session,
        [*[("A1", "2026H2", k, v) for k, v in items.items()], ("A1", "2026H2", "appraisal", "80")],
    )
    facts = build_facts(session, ASSISTANT, "2026H2", emps)["A1"]
    assert facts["assistant_score"] == D(75)  # 15 + 0.75 × 80


# -- bulk ------------------------------------------------------------------------------


def test_a_few_hundred_employees_take_a_handful_of_queries_and_get_their_own_facts(rt, session):
    count = 300
    emps = _employees(
        session, [(f"E{i:04d}", "sales", "S5", date(2025, 1, 1)) for i in range(count)]
    )
    rows = []
    for i in range(count):
        eid = f"E{i:04d}"
        rows += _quarter(eid, "2026Q3", D(60) + D(i) / D(10), i + 1, 100)
        if i % 3:
            rows += _quarter(eid, "2026Q2", 80, 90, 100)
    _metrics(session, rows)
    session.commit()

    statements: list[str] = []

    def count_statement(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(rt.engine, "before_cursor_execute", count_statement)
    try:
        facts = build_facts(session, SALES, "2026Q3", emps)
    finally:
        event.remove(rt.engine, "before_cursor_execute", count_statement)

    assert len(statements) <= 3
    assert list(facts) == [e.employee_id for e in emps]
    for i in range(count):
        f = facts[f"E{i:04d}"]
        assert f["score_q"] == D(60) + D(i) / D(10)
        assert f["attainment_q"] == D(i + 1) / D(100)
        assert (f["score_prev_q"] is None) == (i % 3 == 0)
        assert f["consecutive_low_quarters"] == (
            0 if f["score_q"] >= 80 else (None if i % 3 == 0 else 1)
        )
