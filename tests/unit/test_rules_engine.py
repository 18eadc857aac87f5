"""durable_rules evaluation agrees with plain Python, exactly, on and around every boundary."""

from __future__ import annotations

import json
import random
import threading
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promoflow.engine import rules_engine
from promoflow.engine.cycles.evaluation import evaluate_facts
from promoflow.rules.conditions import compare, comparisons
from promoflow.rules.decide import Verdict, plain_verdict
from promoflow.rules.packs import bundled_packs, load_pack_text
from promoflow.rules.periods import months_in_grade, parse_period

PACKS = bundled_packs()
OPS = (">=", ">", "<=", "<", "==")


def thresholds(pack, fact):
    return {c.value for r in pack.rules for c in comparisons(r.node) if c.fact == fact}


def value_strategy(pack, fact):
    ftype = pack.facts[fact].type
    if ftype == "int":
        edges = [int(t) for t in thresholds(pack, fact)]
        near = [e + d for e in edges for d in (-1, 0, 1)]
        return st.one_of(st.sampled_from(near or [0]), st.integers(0, 40))
    if ftype == "bool":
        return st.booleans()
    edges = sorted(thresholds(pack, fact)) or [D(0)]
    steps = [D(0), D("0.01"), D("0.0001"), D("0.000001"), D("1e-9"), D("1e-27")]
    near = st.builds(
        lambda e, s, sign: e + sign * s,
        st.sampled_from(edges),
        st.sampled_from(steps),
        st.sampled_from([-1, 1]),
    )
    top = max(edges) * 2 + 1
    anywhere = st.decimals(min_value=0, max_value=top, places=8, allow_nan=False)
    thirds = st.builds(lambda n, d: D(n) / D(d), st.integers(0, 300), st.integers(1, 300))
    return st.one_of(near, anywhere, thirds)


@st.composite
def cases(draw, pack, kind):
    grades = pack.grades_for(kind)
    out = []
    for i in range(draw(st.integers(1, 12))):
        facts = {}
        for fact in pack.facts:
            if draw(st.integers(0, 5)) == 0:
                continue  # missing
            facts[fact] = draw(value_strategy(pack, fact))
        out.append((f"E{i:03d}", draw(st.sampled_from(grades)), facts))
    return out


PACK_KINDS = [(t, k) for t, p in PACKS.items() for k in p.cycle_kinds]


@pytest.mark.slow
@pytest.mark.parametrize("track, kind", PACK_KINDS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_durable_rules_and_plain_python_reach_the_same_verdict(track, kind, data):
    pack = PACKS[track]
    batch = data.draw(cases(pack, kind))
    engine = rules_engine.verdicts(pack, kind, batch)
    for employee_id, grade, facts in batch:
        assert engine[employee_id] == plain_verdict(pack.rules_for(kind, grade), facts), facts


@given(
    x=st.one_of(
        st.decimals(min_value=-1000, max_value=1000, places=12, allow_nan=False),
        st.builds(lambda n, d: D(n) / D(d), st.integers(-999, 999), st.integers(1, 997)),
    ),
    c=st.decimals(min_value=-1000, max_value=1000, places=6, allow_nan=False),
    op=st.sampled_from(OPS),
)
def test_scaled_integers_compare_exactly_like_the_decimals(x, c, op):
    assert compare(rules_engine.encode(x), op, rules_engine.encode_threshold(c)) == compare(
        x, op, c
    )


def test_values_just_off_a_threshold_are_not_rounded_onto_it():
    c = rules_engine.encode_threshold(D("0.8"))
    assert rules_engine.encode(D("0.8000000001")) > c
    assert rules_engine.encode(D("0.7999999999")) < c
    assert rules_engine.encode(D("0.800000")) == c


def test_a_value_too_large_for_the_engine_is_refused():
    with pytest.raises(rules_engine.EngineError, match=r"fact value 1E\+20 is too large for"):
        rules_engine.encode(D("1e20"))


def decide_one(track, grade, facts, period="2026Q3"):
    return evaluate_facts(PACKS[track], {"E1": {"grade": grade, **facts}}, period)["E1"]


SALES_OK = {
    "months_in_grade": 3,
    "score_q": D(80),
    "attainment_q": D("0.8001"),
    "score_prev_q": D(80),
    "attainment_prev_q": D("0.8001"),
}


def test_exactly_80_with_attainment_above_80_percent_is_nominated():
    d = decide_one("sales", "S5", SALES_OK)
    assert (d.outcome, d.to_grade, d.rule) == ("promoted", "S6", "sales.promote.quarterly")
    assert "2026Q3 考核分 80 ≥ 80" in d.reasons_zh[0]
    assert "2026Q2 attainment 80.01% > 80%" in d.reasons_en[0]


def test_score_79_99_is_below_80_and_demotes_with_a_sentence():
    d = decide_one("sales", "S5", {**SALES_OK, "score_q": D("79.99")})
    assert (d.outcome, d.to_grade) == ("demoted", "S4")
    assert d.reasons_zh[0] == "2026Q3 考核分 79.99 < 80 → 降一级（S5 → S4）"
    assert d.reasons_en[0] == "2026Q3 score 79.99 < 80 → down one grade (S5 → S4)"
    assert d.thresholds["sales.demote.quarterly"] == ["score_q < 80", "attainment_q < 0.8"]
    assert d.facts["score_q"] == "79.99"


def test_attainment_exactly_80_percent_neither_qualifies_nor_demotes():
    d = decide_one("sales", "S5", {**SALES_OK, "attainment_q": D("0.80")})
    assert (d.outcome, d.rule) == ("unchanged", None)


def test_three_months_in_grade_qualifies_and_two_months_thirty_days_does_not():
    end = parse_period("2026Q3").ends
    assert months_in_grade(parse_period("2026-07").starts, end) == 3
    assert months_in_grade(parse_period("2026-07").starts.replace(day=2), end) == 2
    assert decide_one("sales", "S5", {**SALES_OK, "months_in_grade": 3}).outcome == "promoted"
    assert decide_one("sales", "S5", {**SALES_OK, "months_in_grade": 2}).outcome == "unchanged"


def test_a_weighted_monthly_score_exactly_on_70_keeps_the_grade():
    weights = PACKS["cs"].composites["monthly_score"].components
    parts = dict(zip(weights, (D("66.8"), D("79.0"), D("68.3"), D("83.1"), D("29.9")), strict=True))
    score = sum((weights[k] * parts[k] for k in weights), D(0))
    assert score == 70
    d = decide_one("cs", "大客户客服代表·中级", {"monthly_score_avg": (score * 3) / 3})
    assert (d.outcome, d.rule) == ("unchanged", "cs.keep")


def test_a_composite_exactly_on_70_is_the_middle_band():
    d = decide_one("cs_rating", "初级", {"composite": D("70.000")}, "2026H2")
    assert (d.outcome, d.to_grade, d.rule) == ("promoted", "中级", "cs_rating.band.中级")
    d = decide_one("cs_rating", "中级", {"composite": D("69.99")}, "2026H2")
    assert (d.outcome, d.to_grade) == ("demoted", "初级")


@pytest.mark.parametrize(
    "avg, outcome, probation",
    [("80.01", "promoted", False), ("80", "unchanged", False), ("70", "unchanged", False),
     ("69.99", "demoted", False), ("50", "demoted", False), ("49.99", "demoted", True)],
)  # fmt: skip
def test_customer_service_bands_are_exact_at_80_70_and_50(avg, outcome, probation):
    d = decide_one("cs", "大客户客服代表·中级", {"monthly_score_avg": D(avg)})
    assert (d.outcome, d.probation) == (outcome, probation)


def test_missing_previous_quarter_makes_a_qualifying_case_pending_and_names_it():
    facts = {k: v for k, v in SALES_OK.items() if not k.endswith("prev_q")}
    d = decide_one("sales", "S5", facts)
    assert d.outcome == "pending"
    assert d.missing == ["score_prev_q", "attainment_prev_q"]
    assert "2026Q2 score" in d.reasons_en[0]


def test_missing_previous_quarter_does_not_matter_when_tenure_is_short():
    facts = {k: v for k, v in SALES_OK.items() if not k.endswith("prev_q")}
    assert decide_one("sales", "S5", {**facts, "months_in_grade": 1}).outcome == "unchanged"


CONFLICT = """
id: conflict
title: {zh: 冲突, en: conflict}
grades: [A, B, C]
positions: [{id: p, zh: 岗, en: post, grades: all}]
cadence: [{grades: all, cycle: quarter}]
calendar:
  cycles: [quarter]
  milestones:
    - {id: open, month: 1, day: 8, time: "09:00"}
    - {id: announce, month: 1, day: 20, time: "09:00"}
facts:
  score_q: {type: decimal, zh: "{q} 考核分", en: "{q} score"}
  attainment_q: {type: percent, zh: "{q} 达成率", en: "{q} attainment"}
rules:
  - {id: c.up, cycle: quarter, grades: all, then: promote, when: score_q >= 80}
  - {id: c.down, cycle: quarter, grades: all, then: demote, when: attainment_q < 80%}
"""


def test_demotion_beats_promotion_when_both_hold_and_the_decision_says_so():
    pack = load_pack_text(CONFLICT, "conflict.yaml")
    facts = {"E1": {"grade": "B", "score_q": D(90), "attainment_q": D("0.5")}}
    for engine in ("durable", "plain"):
        d = evaluate_facts(pack, facts, "2026Q3", engine=engine)["E1"]
        assert (d.outcome, d.to_grade, d.rule) == ("demoted", "A", "c.down")
        assert d.overridden == ["c.up"]
        assert "demotion takes precedence" in d.reasons_en[-1]


def test_more_employees_than_durable_rules_keeps_sessions_for_all_evaluate():
    pack = PACKS["cs"]
    facts = {f"E{i:05d}": {"grade": pack.grades[i % 6], "monthly_score_avg": D(i % 101)}
             for i in range(3000)}  # fmt: skip
    durable = evaluate_facts(pack, facts, "2026Q3")
    plain = evaluate_facts(pack, facts, "2026Q3", engine="plain")
    assert durable == plain


def test_stored_fact_strings_are_evaluated_as_exact_values():
    stored = {"grade": "S5", **{k: str(v) for k, v in SALES_OK.items()}}
    d = evaluate_facts(PACKS["sales"], {"E1": stored}, "2026Q3")["E1"]
    assert (d.outcome, d.to_grade) == ("promoted", "S6")
    assert d.facts["attainment_q"] == "0.8001"


def test_facts_without_a_grade_or_with_a_bad_value_are_refused_by_name():
    from promoflow.errors import InputError

    with pytest.raises(InputError, match="E1: the facts carry no 'grade'"):
        evaluate_facts(PACKS["sales"], {"E1": {"score_q": D(80)}}, "2026Q3")
    with pytest.raises(InputError, match="fact score_q = 'abc' is not a decimal"):
        evaluate_facts(PACKS["sales"], {"E1": {"grade": "S5", "score_q": "abc"}}, "2026Q3")


def random_sales_cases(count, seed):
    """Sales facts around the thresholds, a few missing, for ``count`` employees."""
    rng = random.Random(seed)
    pack = PACKS["sales"]
    grades = pack.grades_for("quarter")
    choices = {
        "months_in_grade": [None, 2, 3, 4, 30],
        "score_q": [None, D("79.99"), D(80), D("80.01"), D(95)],
        "score_prev_q": [None, D("79.999999"), D(80), D("80.0000001")],
        "attainment_q": [None, D("0.7999"), D("0.8"), D("0.800001"), D(1)],
        "attainment_prev_q": [None, D("0.8"), D("0.80000000001"), D("1.2")],
    }
    cases = []
    for i in range(count):
        facts = {name: rng.choice(values) for name, values in choices.items()}
        facts = {name: value for name, value in facts.items() if value is not None}
        cases.append((f"E{i:05d}", rng.choice(grades), facts))
    return pack, cases


def test_one_call_beyond_the_1024_session_limit_gives_every_employee_the_plain_verdict():
    pack, cases = random_sales_cases(3000, seed=9)
    engine = rules_engine.verdicts(pack, "quarter", cases)
    assert len(engine) == 3000
    plain = {e: plain_verdict(pack.rules_for("quarter", g), f) for e, g, f in cases}
    assert engine == plain
    assert {v.status for v in engine.values()} == {"holds", "unknown", "none"}
    # and the sessions were all released: the same ruleset evaluates another 3,000
    assert rules_engine.verdicts(pack, "quarter", cases) == plain


def test_evaluating_starts_no_background_thread():
    pack = load_pack_text(CONFLICT.replace("id: conflict", "id: threads"), "threads.yaml")
    before = threading.active_count()
    rules_engine.compiled(pack, "quarter")
    found = rules_engine.verdicts(pack, "quarter", [("E1", "B", {"score_q": D(90)})])
    assert found["E1"] == Verdict("unknown", "c.down")
    _pack, cases = random_sales_cases(200, seed=3)
    rules_engine.verdicts(PACKS["sales"], "quarter", cases)
    assert threading.active_count() == before


def test_the_same_employee_twice_in_one_call_is_evaluated_twice_and_the_last_wins():
    pack = PACKS["cs"]
    grade = pack.grades[2]
    cases = [("E1", grade, {"monthly_score_avg": D(90)}), ("E1", grade, {})]
    assert rules_engine.verdicts(pack, "quarter", cases)["E1"].status == "unknown"
    cases.reverse()
    assert rules_engine.verdicts(pack, "quarter", cases)["E1"] == Verdict("holds", "cs.promote")


def test_the_event_carries_scaled_values_and_flags_only_missing_facts():
    ruleset = rules_engine.compiled(PACKS["sales"], "quarter")
    text = ruleset.message('E"1', "S5", {"score_q": D("79.5"), "months_in_grade": 3})
    assert json.loads(text) == {
        "sid": 'E"1',
        "g__": PACKS["sales"].index("S5"),
        "score_q": 159_000_000,
        "months_in_grade": 6_000_000,
        "attainment_q__k": 0,
        "score_prev_q__k": 0,
        "attainment_prev_q__k": 0,
    }


def test_a_value_equal_to_a_remembered_decimal_but_of_another_type_is_still_refused():
    pack = PACKS["cs"]
    grade = pack.grades[2]
    cases = [
        ("E1", grade, {"monthly_score_avg": D("75.5")}),
        ("E2", grade, {"monthly_score_avg": 75.5}),
    ]
    with pytest.raises(rules_engine.EngineError, match="employee E2, fact monthly_score_avg"):
        rules_engine.verdicts(pack, "quarter", cases)
    for bad in (D("NaN"), D("sNaN"), D("Infinity"), D("2e12"), 2 * 10**12, "75"):
        with pytest.raises(rules_engine.EngineError, match="employee E3"):
            rules_engine.verdicts(pack, "quarter", [("E3", grade, {"monthly_score_avg": bad})])


def test_decimals_longer_than_the_context_precision_are_encoded_exactly():
    c = rules_engine.encode_threshold(D("0.8"))
    assert rules_engine.encode(D("0.80000000000000000000000000001")) == c + 1
    assert rules_engine.encode(D("0.79999999999999999999999999999")) == c - 1
    assert rules_engine.encode(D("123456789.1234560000000000000000000000")) == 246913578246912


def test_tiny_and_whole_values_encode_without_building_huge_fractions():
    assert rules_engine.encode(D("1E-999999999")) == 1
    assert rules_engine.encode(D("-1E-999999999")) == -1
    assert rules_engine.encode(D("0E-999999999")) == 0
    assert rules_engine.encode(D("-0.0000001")) == -1
    assert rules_engine.encode(D("0.000001")) == 2
    assert rules_engine.encode(3) == rules_engine.encode(D("3.000")) == 6_000_000
    assert rules_engine.encode(True) is True
    with pytest.raises(rules_engine.EngineError, match=r"fact value \d+ is too large for the"):
        rules_engine.encode(int(rules_engine.LIMIT) + 1)
    assert rules_engine.encode(int(rules_engine.LIMIT)) == 2 * 10**6 * int(rules_engine.LIMIT)


def test_each_call_ends_its_session_so_calls_beyond_the_session_limit_all_evaluate():
    # one session per call (not per employee): were it left live, call 1,025 would raise
    # MemoryError (at most 1,024 live sessions per ruleset)
    pack = load_pack_text(CONFLICT.replace("id: conflict", "id: sessions"), "sessions.yaml")
    for i in range(1100):
        score = D(79) + D(i % 3)  # 79, 80, 81: unknown, then holds twice
        found = rules_engine.verdicts(pack, "quarter", [(f"E{i}", "B", {"score_q": score})])
        assert found == {f"E{i}": plain_verdict(pack.rules_for("quarter", "B"), {"score_q": score})}


def test_a_call_that_fails_halfway_ends_its_session_too():
    pack = load_pack_text(CONFLICT.replace("id: conflict", "id: failing"), "failing.yaml")
    good = ("E1", "B", {"score_q": D(90), "attainment_q": D("0.9")})
    for _ in range(1100):
        with pytest.raises(rules_engine.EngineError, match="employee E2, fact score_q"):
            rules_engine.verdicts(pack, "quarter", [good, ("E2", "B", {"score_q": D("NaN")})])
    assert rules_engine.verdicts(pack, "quarter", [good]) == {"E1": Verdict("holds", "c.up")}


def test_employees_sharing_a_session_do_not_see_each_other():
    # the same facts but for the missing attainment, one after the other in one session:
    # each verdict is the one that employee gets alone
    pack = load_pack_text(CONFLICT.replace("id: conflict", "id: apart"), "apart.yaml")
    cases = [
        ("E1", "B", {"score_q": D(90), "attainment_q": D("0.5")}),
        ("E2", "B", {"score_q": D(90)}),
        ("E3", "B", {"score_q": D(90), "attainment_q": D("0.9")}),
        ("E4", "B", {"score_q": D(90), "attainment_q": D("0.5")}),
    ]
    together = rules_engine.verdicts(pack, "quarter", cases)
    alone = {e: rules_engine.verdicts(pack, "quarter", [(e, g, f)])[e] for e, g, f in cases}
    assert together == alone
    assert together["E1"] == Verdict("holds", "c.down", "c.up")
    assert together["E2"].status == "unknown"
    assert together["E3"] == Verdict("holds", "c.up")
