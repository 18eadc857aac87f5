"""Facts take their weights, fact names, marks and calendar from the rule pack."""

from __future__ import annotations

from decimal import Decimal

from promoflow.rules.facts.pack import Settings
from promoflow.rules.packs import bundled_packs

D = Decimal


def test_cs_monthly_weights_come_from_the_pack_and_sum_to_one():
    settings = Settings.from_pack(bundled_packs()["cs"])
    weights = settings.composites["monthly_score"]
    assert weights == {
        "return_visit": D("0.2"),
        "satisfaction": D("0.2"),
        "handling": D("0.25"),
        "training": D("0.25"),
        "attendance": D("0.1"),
    }
    assert sum(weights.values()) == 1
    assert settings.probation_offset == 2  # probation_review in month 3 reads month 2
    assert "probation_score" in settings.fact_names
    assert {"handling", "attendance", "score"} <= settings.metric_names()


def test_explicit_weights_replace_the_packs():
    override = {"monthly_score": {"handling": D("0.5"), "skills": D("0.5")}}
    settings = Settings.from_pack(bundled_packs()["support"], composites=override)
    assert settings.composites["monthly_score"] == override["monthly_score"]


def test_sales_facts_follow_the_pack_declaration_and_vacancies_look_one_grade_up():
    pack = bundled_packs()["sales"]
    settings = Settings.from_pack(pack)
    assert settings.fact_names[: len(pack.facts)] == tuple(pack.facts)
    assert settings.low_score == 80
    assert Settings.from_pack(pack, low_score=D("75.5")).low_score == D("75.5")
    assert settings.next_position_names["S12"] == {"sales_manager", "销售经理", "sales manager"}
    assert "S13" not in settings.next_position_names


def test_cs_assistant_score_weights_are_not_normalised():
    settings = Settings.from_pack(bundled_packs()["cs_assistant"])
    weights = settings.composites["assistant_score"]
    assert weights["appraisal"] == D("0.75")
    assert sum(weights.values()) == D("5.75")
    assert settings.composite_periods["assistant_score"] == "half"
