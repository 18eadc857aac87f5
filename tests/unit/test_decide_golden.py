"""decide() gives exactly the decisions it gave before it was made faster.

``data/decide_golden.json`` holds cases (pack, cycle kind, grade, period, facts, verdict)
and the DecisionResult the reference implementation returned for each, recorded once with
``python tests/unit/test_decide_golden.py --record``. The cases cover every bundled pack,
every cycle kind, every grade, plus a pack with a flag fact, multi-step rules, a keep rule
with a review and a vacancy without stages; facts on and around each threshold (exactly
80, 79.99, 80%, 80.01%, 79.99%), missing facts, long decimals, ints, floats, odd
exponents, and verdicts the engines give as well as forced ones (every branch of decide).

Facts are stored typed (``["d", "79.99"]`` is ``Decimal("79.99")``) so the test is
independent of the generator; results are compared field by field, key order included.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path

import pytest

from promoflow.rules.conditions import comparisons
from promoflow.rules.decide import Verdict, decide, plain_verdict
from promoflow.rules.packs import bundled_packs, load_pack_text

GOLDEN = Path(__file__).parent / "data" / "decide_golden.json"
PERIODS = {"quarter": ("2026Q3", "2026Q1"), "half": ("2026H2", "2026H1")}
#: at least this many cases per pack, and at least PER_GRADE per cycle kind and grade
PER_PACK, PER_GRADE = 300, 24

EXTRA = """
id: extra
title: {zh: 附加, en: extra}
grades: [A, B, C, D, E]
positions:
  - {id: low, zh: 低岗, en: low post, grades: A..B}
  - {id: mid, zh: 中岗, en: mid post, grades: C..D}
  - {id: top, zh: 高岗, en: top post, grades: E}
cadence: [{grades: all, cycle: quarter}]
vacancy: {cycles: [quarter], fact: open_up}
calendar:
  cycles: [quarter]
  milestones:
    - {id: open, month: 1, day: 8, time: "09:00"}
    - {id: announce, month: 1, day: 20, time: "09:00"}
facts:
  months_in_grade: {type: int, zh: 任职月数, en: months in grade}
  flagged: {type: bool, zh: "{q} 违规", en: "{q} violation"}
  score_q: {type: decimal, zh: "{q} 考核分", en: "{q} score"}
  attainment_q: {type: percent, zh: "{q} 达成率", en: "{q} attainment"}
  open_up: {type: int, zh: 上一岗位空缺数, en: open headcount above}
rules:
  - {id: x.flag, cycle: quarter, grades: all, then: demote, steps: 2, probation: true,
     when: flagged == true and score_q < 60, at_bottom: {review: dismissal}}
  - {id: x.low, cycle: quarter, grades: B..E, then: demote, review: elimination,
     when: score_q < 50.5 or (attainment_q <= 40% and not months_in_grade < 2)}
  - {id: x.keep.review, cycle: quarter, grades: all, then: keep, review: below_standard,
     when: score_q >= 60 and score_q < 65}
  - {id: x.keep, cycle: quarter, grades: A..C, then: keep, when: score_q != 70}
  - {id: x.up, cycle: quarter, grades: all, then: promote, steps: 2,
     when: (score_q >= 90 or attainment_q >= 120%) and flagged == false and months_in_grade >= 3}
"""


def packs():
    out = dict(bundled_packs())
    out["extra"] = load_pack_text(EXTRA, "extra.yaml")
    return out


# --- encoding of typed facts ---------------------------------------------------------------


def encode(value):
    if value is None:
        return ["n"]
    if isinstance(value, bool):
        return ["b", value]
    if isinstance(value, int):
        return ["i", str(value)]
    if isinstance(value, Decimal):
        return ["d", str(value)]
    if isinstance(value, float):
        return ["f", repr(value)]
    if isinstance(value, str):
        return ["s", value]
    if isinstance(value, dict):
        return ["m", value]
    if isinstance(value, list):
        return ["l", value]
    raise TypeError(type(value))


def decode(tagged):
    tag = tagged[0]
    return {
        "n": lambda: None,
        "b": lambda: tagged[1],
        "i": lambda: int(tagged[1]),
        "d": lambda: Decimal(tagged[1]),
        "f": lambda: float(tagged[1]),
        "s": lambda: tagged[1],
        "m": lambda: tagged[1],
        "l": lambda: tagged[1],
    }[tag]()


# --- generating cases (only when recording) ------------------------------------------------

STEPS = [Decimal(s) for s in ("0.01", "0.0001", "0.00001", "0.000001", "1e-9", "1e-27")]


def _edges(pack, fact):
    return sorted({c.value for r in pack.rules for c in comparisons(r.node) if c.fact == fact})


def _number(rng: random.Random, edges: list, ftype: str):
    edges = edges or [Decimal(0)]
    edge = rng.choice(edges)
    pick = rng.randrange(14)
    if pick == 0:
        return edge
    if pick == 1:
        return edge.quantize(Decimal("0.01"))
    if pick in (2, 3, 4):
        return edge + rng.choice((-1, 1)) * rng.choice(STEPS)
    if pick == 5:
        top = int(max(edges) * 2 + 1) * 10**6
        return Decimal(rng.randint(0, top)).scaleb(-rng.randint(0, 8))
    if pick == 6:
        return Decimal(rng.randint(0, 300)) / Decimal(rng.randint(1, 300))
    if pick == 7:
        return int(edge) + rng.choice((-1, 0, 1))
    if pick == 8:  # rounds at the fourth place, up or just not
        return edge + rng.choice((-1, 1)) * Decimal(
            rng.choice(("0.00005", "0.0000499", "0.00004999999"))
        )
    if pick == 9:
        return rng.choice(
            [Decimal("8E+1"), Decimal("1E+2"), Decimal("0E-7"), Decimal("-0"), Decimal("-0.5")]
        )
    if pick == 10:
        return rng.choice([0.8, 79.5, 80.0, 1e-7]) if rng.random() < 0.5 else edge * 100
    if pick == 11:
        return (
            Decimal(rng.randint(0, 10**6)).scaleb(-rng.randint(2, 6))
            if ftype == "percent"
            else Decimal(rng.randint(0, 12000)) / 100
        )
    if pick == 12:
        return rng.choice([0, 1, 100, True, False])
    return edge + Decimal(rng.randint(-500, 500)) / 100


def _value(rng: random.Random, pack, fact: str):
    ftype = pack.facts[fact].type
    edges = _edges(pack, fact)
    if ftype == "bool":
        return rng.choice([True, False, True, False, 1, 0])
    if ftype == "int":
        ints = [int(e) for e in edges] or [0]
        near = [e + d for e in ints for d in (-1, 0, 1)]
        pick = rng.randrange(6)
        if pick < 3:
            return rng.choice(near)
        if pick == 3:
            return rng.randint(-2, 60)
        if pick == 4:
            return Decimal(rng.choice(near))
        return rng.choice([0, 1, 2, True])
    return _number(rng, edges, ftype)


def _facts(rng: random.Random, pack, grade: str) -> dict:
    facts: dict = {"grade": grade}
    missing = []
    gaps = rng.random() < 0.4
    for fact in pack.facts:
        roll = rng.random()
        if gaps and roll < 0.2:
            missing.append(fact)
            continue
        if gaps and roll < 0.28:
            facts[fact] = None
            missing.append(fact)
            continue
        facts[fact] = _value(rng, pack, fact)
    roll = rng.random()
    if roll < 0.5:
        facts["missing_for"] = {
            f: [f"2026Q2 {f}", f"2026-0{rng.randint(1, 9)} input"][: rng.randint(0, 2)]
            for f in missing
        }
        if rng.random() < 0.3:
            facts["missing_for"]["unrelated"] = ["nothing"]
    elif roll < 0.55:
        facts["missing_for"] = ["not", "a", "mapping"]
    return facts


def _verdict(rng: random.Random, pack, kind: str, grade: str, facts: dict) -> Verdict:
    rules = pack.rules_for(kind, grade)
    real = plain_verdict(rules, facts)
    if not rules or rng.random() < 0.75:
        return real
    rule = rng.choice(rules)
    status = rng.choice(["holds", "holds", "unknown", "none"])
    if status == "none":
        return Verdict("none")
    if status == "unknown":
        return Verdict("unknown", rule.id)
    also = None
    if rule.then == "demote" and rng.random() < 0.5:
        ups = [r.id for r in rules if r.then == "promote"]
        also = rng.choice(ups) if ups else None
    return Verdict("holds", rule.id, also)


def generate() -> list[dict]:
    rng = random.Random(20260909)
    cases = []
    for pack in packs().values():
        combos = len(pack.cycle_kinds) * len(pack.grades)
        each = max(PER_GRADE, -(-PER_PACK // combos))
        for kind in pack.cycle_kinds:
            for grade in pack.grades:
                for _ in range(each):
                    facts = _facts(rng, pack, grade)
                    verdict = _verdict(rng, pack, kind, grade, facts)
                    cases.append(
                        {
                            "pack": pack.id,
                            "kind": kind,
                            "grade": grade,
                            "period": rng.choice(PERIODS[kind]),
                            "employee": f"E{len(cases):05d}",
                            "facts": {k: encode(v) for k, v in facts.items()},
                            "verdict": [verdict.status, verdict.rule, verdict.also],
                        }
                    )
    return cases


def run(case: dict, by_id: dict):
    facts = {k: decode(v) for k, v in case["facts"].items()}
    return decide(
        by_id[case["pack"]],
        case["kind"],
        case["employee"],
        case["grade"],
        facts,
        case["period"],
        Verdict(*case["verdict"]),
    )


def record() -> None:
    by_id = packs()
    cases = generate()
    for case in cases:
        case["result"] = asdict(run(case, by_id))
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    with GOLDEN.open("w", encoding="utf-8") as out:
        out.write("[\n")
        out.write(",\n".join(json.dumps(c, ensure_ascii=False, sort_keys=False) for c in cases))
        out.write("\n]\n")
    print(f"{len(cases)} cases → {GOLDEN}")


# --- the tests -----------------------------------------------------------------------------


def _load():
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


CASES = _load() if GOLDEN.exists() else []


def test_golden_cases_cover_every_pack_kind_grade_and_branch():
    by_id = packs()
    seen = {(c["pack"], c["kind"], c["grade"]) for c in CASES}
    wanted = {(p.id, k, g) for p in by_id.values() for k in p.cycle_kinds for g in p.grades}
    assert seen == wanted
    outcomes = {c["result"]["outcome"] for c in CASES}
    assert outcomes == {"promoted", "demoted", "unchanged", "pending"}
    results = [c["result"] for c in CASES]
    assert any(r["needs_vacancy"] for r in results)
    assert any(r["overridden"] for r in results)
    assert any(r["missing_inputs"] for r in results)
    assert any(r["probation"] for r in results)
    assert any(any("≈" in s for s in r["reasons_en"]) for r in results)
    assert any(any(" 是 " in s or " 否 " in s for s in r["reasons_zh"]) for r in results)
    assert {r["review"] for r in results} >= {"elimination", "dismissal", "below_standard"}


@pytest.mark.parametrize("chunk", range(8))
def test_decide_gives_the_recorded_results(chunk):
    by_id = packs()
    assert CASES, "no golden file: run python tests/unit/test_decide_golden.py --record"
    for case in CASES[chunk::8]:
        got = asdict(run(case, by_id))
        want = case["result"]
        assert got == want, case["employee"]
        # same key order too (the JSON stored for a decision keeps it)
        assert json.dumps(got, ensure_ascii=False) == json.dumps(want, ensure_ascii=False)


def test_decide_gives_fresh_containers_each_call():
    by_id = packs()
    case = next(c for c in CASES if c["result"]["thresholds"] and c["result"]["facts"])
    first = run(case, by_id)
    first.thresholds[next(iter(first.thresholds))].append("x")
    first.thresholds["junk"] = []
    first.facts["junk"] = "x"
    first.reasons_zh.append("x")
    first.reasons_en.append("x")
    first.missing.append("x")
    second = run(case, by_id)
    assert asdict(second) == case["result"]


if __name__ == "__main__":
    if sys.argv[1:] == ["--record"]:
        record()
    else:
        print(__doc__)
