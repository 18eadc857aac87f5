"""Bundled rule packs and the pack loader's validation (file, line, rule, sentence)."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from promoflow.errors import PackError
from promoflow.rules.packs import PACK_DIR, TRACKS, bundled_packs, load_pack_file, load_pack_text

SALES = (PACK_DIR / "sales.yaml").read_text(encoding="utf-8")
CS_RATING = (PACK_DIR / "cs_rating.yaml").read_text(encoding="utf-8")


def problems_of(text: str) -> list:
    with pytest.raises(PackError) as err:
        load_pack_text(text, "edited.yaml")
    return err.value.problems


def test_every_track_has_a_bundled_pack_keyed_by_its_id():
    packs = bundled_packs()
    assert set(packs) == set(TRACKS)
    for track, pack in packs.items():
        assert pack.id == pack.track == track
        assert len(pack.version) == 64


def test_sales_grades_positions_and_entry_grades_follow_the_policy():
    pack = bundled_packs()["sales"]
    assert pack.grades == tuple(f"S{i}" for i in range(3, 14))
    assert pack.position_of("S7").zh == "中级销售代表"
    assert pack.lowest_grade_of_position("中级销售代表") == "S6"
    assert pack.lowest_grade_of_position("sales supervisor") == "S10"
    assert pack.lowest_grade_of_position("sales_manager") == "S13"
    with pytest.raises(KeyError, match="position '销售总监' is not in track sales"):
        pack.lowest_grade_of_position("销售总监")


def test_sales_runs_quarterly_up_to_s9_and_half_yearly_above():
    pack = bundled_packs()["sales"]
    assert pack.cycle_kinds == ("quarter", "half")
    assert pack.grades_for("quarter") == ("S3", "S4", "S5", "S6", "S7", "S8", "S9")
    assert pack.grades_for("half") == ("S10", "S11", "S12", "S13")
    assert pack.stages == ("written_test", "interview")
    assert pack.pass_marks == {"written_test": D(60), "interview": D(60)}


def test_calendars_follow_the_contract():
    packs = bundled_packs()
    ids = lambda t: [m.id for m in packs[t].calendar.milestones]  # noqa: E731
    assert ids("sales") == ["open", "test_due", "interview_notice", "interview_due", "announce"]
    assert ids("cs") == ids("support") == ["open", "announce", "probation_review"]
    assert ids("cs_rating") == ids("cs_assistant") == ["open", "announce"]
    assert packs["cs"].calendar.cycles == ("quarter",)
    assert packs["cs_rating"].calendar.cycles == ("half",)
    review = packs["cs"].calendar.milestones[-1]
    assert (review.month, review.day, review.time) == (3, 8, "09:00")
    assert packs["sales"].calendar.timezone == "Asia/Shanghai"


def test_composite_weights_are_exact_decimals_summing_to_one():
    packs = bundled_packs()
    for track, name in (("cs", "monthly_score"), ("support", "monthly_score")):
        assert sum(packs[track].composites[name].components.values()) == 1
    weights = packs["cs_rating"].composites["composite"].components
    assert weights["knowledge"] == D("0.30") and sum(weights.values()) == 1


def test_cs_service_grades_and_competency_models_are_present():
    packs = bundled_packs()
    assert packs["cs"].grades[0] == "普通客服代表·中级"
    assert packs["support"].grades[-1] == "技术支持组长·高级"
    model = packs["sales"].competency_models["customer_manager"]
    assert len(model.competencies) == 11
    assert sum(1 for c in model.competencies if c.weight == 2) == 5
    assert len(packs["cs"].competency_models["customer_service"].competencies) == 13


def test_a_clean_pack_file_loads_and_names_its_file(tmp_path: Path):
    path = tmp_path / "sales.yaml"
    path.write_text(SALES, encoding="utf-8")
    assert load_pack_file(path).file == str(path)


def test_an_unknown_fact_is_reported_with_line_rule_and_suggestion():
    text = SALES.replace("when: score_q < 80 or", "when: scor_q < 80 or")
    [problem] = problems_of(text)
    assert problem.rule == "sales.demote.quarterly"
    assert problem.file == "edited.yaml"
    assert SALES.splitlines()[problem.line - 1].strip().startswith("when: score_q < 80")
    assert "did you mean 'score_q'" in problem.message


def test_a_grade_without_cadence_is_reported():
    text = SALES.replace("{grades: S10..S13, cycle: half}", "{grades: S11..S13, cycle: half}")
    messages = [p.message for p in problems_of(text)]
    assert "grade S10 has no cadence: say whether quarter or half reviews it" in messages


def test_an_unknown_grade_in_a_rule_is_reported():
    text = SALES.replace("grades: S10..S12\n    then: demote", "grades: S10..S14\n    then: demote")
    assert any("unknown grade 'S14'" in p.message for p in problems_of(text))


def test_weights_not_summing_to_one_are_reported():
    text = CS_RATING.replace("efficiency: 0.15", "efficiency: 0.16")
    [problem] = problems_of(text)
    assert problem.message == "weights of composite sum to 1.01, not 1"
    assert problem.line is not None


def test_overlapping_bands_are_reported():
    text = CS_RATING.replace("{grade: 中级, from: 70, to: 80}", "{grade: 中级, from: 69, to: 80}")
    assert any("bands overlap" in p.message for p in problems_of(text))


def test_gapped_bands_are_reported():
    text = CS_RATING.replace("{grade: 中级, from: 70, to: 80}", "{grade: 中级, from: 71, to: 80}")
    assert any("gap between bands: 70 to 71" in p.message for p in problems_of(text))


def test_a_misspelt_key_is_reported_not_ignored():
    text = SALES.replace("    then: promote\n", "    thn: promote\n", 1)
    messages = " ".join(p.message for p in problems_of(text))
    assert "not part of the pack format" in messages


def test_broken_yaml_is_reported_with_its_line():
    [problem] = problems_of("id: x\ngrades: [S1, S2\nrules: []\n")
    assert "not valid YAML" in problem.message and problem.line


def test_every_problem_is_reported_not_just_the_first():
    text = (
        SALES.replace("scor", "x")
        .replace("score_q < 80 or", "scre_q < 80 or")
        .replace("{grades: S10..S13, cycle: half}", "{grades: S11..S13, cycle: half}")
    )
    assert len(problems_of(text)) >= 3


def test_a_cycle_kind_reads_only_its_rules_facts_and_the_vacancy_fact_where_it_applies():
    packs = bundled_packs()
    sales = packs["sales"]
    quarter = {"months_in_grade", "score_q", "attainment_q", "score_prev_q", "attainment_prev_q"}
    assert sales.facts_read("quarter") == quarter
    # half-yearly promotions into another position need a vacancy (S12 → S13)
    assert sales.facts_read("half") == {
        "months_in_grade", "score_q", "score_prev_q", "attainment_half", "vacancies_up",
    }  # fmt: skip
    for pack in packs.values():
        for kind in pack.cycle_kinds:
            assert pack.facts_read(kind) <= set(pack.facts), (pack.id, kind)


CS_ASSISTANT = (PACK_DIR / "cs_assistant.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("scale", "message"),
    [
        ("hight: {from: 0, to: 5}", "scale for 'hight', which no composite reads"),
        ("posts: {values: [2, 4], from: 0, to: 5}", "needs either values or from and to"),
        ("posts: {}", "needs either values or from and to"),
        ("posts: {from: 2}", "the scale of posts needs both from and to"),
        ("posts: {from: 5, to: 2}", "the scale of posts runs from 5 down to 2"),
        ("posts: {values: [-1, 2]}", "the scale of posts goes below 0"),
    ],
)
def test_a_scale_that_cannot_be_meant_is_refused_naming_it(scale, message):
    text = CS_ASSISTANT.replace("posts: {values: [2, 4, 5]}", scale)
    assert text != CS_ASSISTANT
    found = problems_of(text)
    assert any(message in p.message for p in found), [p.message for p in found]


def test_the_assistant_inputs_carry_the_scales_of_the_policy():
    scales = bundled_packs()["cs_assistant"].scales
    assert scales["education"].values == (D(0), D(1), D(3), D(5))
    assert scales["posts"].admits(D(4)) and not scales["posts"].admits(D(3))
    assert scales["presentation"].admits(D("4.5")) and not scales["presentation"].admits(D("5.01"))
    assert scales["appraisal"].admits(D(100)) and scales["appraisal"].admits(D(0))
    assert scales["experience"].describe() == "1, 2, 3, 4 or 5"
    assert scales["presentation"].describe() == "0 to 5"
