"""Micro-benchmark: decide() alone (reasons, facts, thresholds) for N sales employees.

    .venv/bin/python -m bench.decide_eval [N] [--repeat R]     # default 100000, 3

Facts and verdicts are made in memory before timing (the verdict from plain Python, as
durable_rules would give it), so only decide() is timed: CPU seconds (process_time) of
the best of R runs, and µs per call. Quarterly cycle of the bundled ``sales`` pack. The
results are kept (as evaluate_facts keeps them) and the GC thresholds relaxed as
``promoflow.engine.bootstrap`` relaxes them for a cycle (``--default-gc`` keeps CPython's).
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from decimal import Decimal

PROFILES = (("star", 40), ("steady", 22), ("weak", 10), ("score_80", 4), ("score_79_99", 4),
            ("att_80", 4), ("att_80_01", 4), ("att_79_99", 4), ("missing_prev", 4),
            ("missing_target", 4))  # fmt: skip


def _d(rng: random.Random, low: float, high: float, places: int = 1) -> Decimal:
    scale = 10**places
    return Decimal(rng.randint(round(low * scale), round(high * scale))) / scale


def _quarter(rng: random.Random, profile: str, current: bool) -> tuple[Decimal, Decimal | None]:
    """(score, attainment) of one quarter, as engine.synthetic draws them and fact building
    derives them (attainment = actual / target: up to 28 digits)."""
    good = (_d(rng, 82, 98), _d(rng, 0.85, 1.3, 4))
    score, rate = good
    if profile == "steady":
        score, rate = _d(rng, 75, 92), _d(rng, 0.75, 1.05, 4)
    elif profile == "weak":
        score, rate = _d(rng, 55, 79.9), _d(rng, 0.5, 0.79, 4)
    elif current and profile == "score_80":
        score = Decimal(80)
    elif current and profile == "score_79_99":
        score = Decimal("79.99")
    elif current and profile.startswith("att_"):
        rate = {"att_80": Decimal("0.8"), "att_80_01": Decimal("0.8001")}.get(
            profile, Decimal("0.7999")
        )
    if current and profile == "missing_target":
        return score, None
    target = Decimal(rng.randint(10, 60) * 10000)
    return score, (target * rate).quantize(Decimal("0.01")) / target


def cases(n: int, seed: int = 7) -> list[tuple]:
    """(employee_id, grade, facts, verdict) for n employees of a sales quarter cycle."""
    from promoflow.rules.decide import plain_verdict
    from promoflow.rules.packs import bundled_packs

    pack = bundled_packs()["sales"]
    rng = random.Random(seed)
    names, weights = zip(*PROFILES, strict=True)
    evaluable, grades = pack.grades_for("quarter"), pack.grades
    out = []
    for i in range(n):
        grade = rng.choice(evaluable) if rng.random() < 0.9 else rng.choice(grades)
        profile = rng.choices(names, weights)[0]
        facts: dict = {"grade": grade, "months_in_grade": rng.choice((2, 3, 12, 24, 0))}
        missing_for: dict = {}
        for suffix, current in (("prev_q", False), ("q", True)):
            if profile == "missing_prev" and not current:
                for name in ("score", "attainment"):
                    facts[f"{name}_{suffix}"] = None
                    missing_for[f"{name}_{suffix}"] = [f"2026Q2 {name}"]
                continue
            score, rate = _quarter(rng, profile, current)
            facts[f"score_{suffix}"] = score
            facts[f"attainment_{suffix}"] = rate
            if rate is None:
                missing_for[f"attainment_{suffix}"] = ["2026Q3 sales_target"]
        facts["missing_for"] = missing_for
        verdict = plain_verdict(pack.rules_for("quarter", grade), facts)
        out.append((f"E{i:06d}", grade, facts, verdict))
    return out


def main() -> None:
    from promoflow.engine import collector
    from promoflow.rules.decide import decide
    from promoflow.rules.packs import bundled_packs

    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--default-gc", action="store_true", help="keep CPython's GC thresholds (cycles relax them)"
    )
    args = parser.parse_args()
    if not args.default_gc:
        collector.relax()
    pack = bundled_packs()["sales"]
    data = cases(args.n)
    best = None
    outcomes: dict[str, int] = {}
    for _ in range(args.repeat):
        gc.collect()  # each run starts from the same heap: facts made, old results gone
        start = time.process_time()
        results = [decide(pack, "quarter", e, g, f, "2026Q3", v) for e, g, f, v in data]
        spent = time.process_time() - start
        best = spent if best is None else min(best, spent)
        outcomes = {}
        for r in results:
            outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
        del results
    assert best is not None
    print(
        f"decide: {args.n} sales employees (quarter), best of {args.repeat}: "
        f"{best:.3f} s CPU, {best / args.n * 1e6:.2f} µs/call; outcomes {outcomes}"
    )


if __name__ == "__main__":
    main()
