"""Benchmark: the bundled packs on a synthetic org of N employees, durable_rules vs plain.

    .venv/bin/python -m bench.rules_eval [N]            # default 100000

Each mode runs in its own child process so peak memory (max RSS) is its own. Facts are
built in memory (no database): this measures rule evaluation, not fact building.
Modes: ``engine`` (durable_rules verdicts only), ``plain`` (plain-Python verdicts only),
``durable`` and ``plain-full`` (evaluate_facts: verdicts plus decisions with reasons).
Each line reports wall time (``seconds``, ``us_per_employee``) and the process's CPU time
(``cpu_seconds``, ``cpu_us_per_employee``: steadier when other work shares the machine).
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import time
from decimal import Decimal

SHARE = {"sales": 0.5, "cs": 0.2, "support": 0.1, "cs_rating": 0.1, "cs_assistant": 0.1}


def _value(rng: random.Random, ftype: str, fact: str):
    if rng.random() < 0.02:
        return None
    if ftype == "int":
        return rng.randint(0, 60) if fact != "vacancies_up" else rng.randint(0, 2)
    if ftype == "percent":
        return Decimal(rng.randint(6000, 12000)) / 10000
    return Decimal(rng.randint(4000, 10000)) / 100


def synthetic(n: int, seed: int = 7):
    """{track: (pack, kind, {employee_id: facts})} for n employees."""
    from promoflow.rules.packs import bundled_packs

    rng = random.Random(seed)
    packs = bundled_packs()
    out = {}
    for track, share in SHARE.items():
        pack = packs[track]
        for kind in pack.cycle_kinds:
            grades = pack.grades_for(kind)
            count = int(n * share / len(pack.cycle_kinds))
            facts = {}
            for i in range(count):
                f = {name: _value(rng, spec.type, name) for name, spec in pack.facts.items()}
                f["grade"] = rng.choice(grades)
                facts[f"{track[:2].upper()}{kind[0]}{i:06d}"] = f
            out[(track, kind)] = (pack, facts)
    return out


def run(mode: str, n: int) -> dict:
    """One mode, in this process: seconds and max RSS."""
    from promoflow.engine import rules_engine
    from promoflow.engine.cycles.evaluation import evaluate_facts
    from promoflow.rules.decide import plain_verdict

    data = synthetic(n)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    period = {"quarter": "2026Q3", "half": "2026H2"}
    for (_track, kind), (pack, _facts) in data.items():  # compile before timing
        rules_engine.compiled(pack, kind)
    start = time.perf_counter()
    cpu_start = time.process_time()
    outcomes: dict[str, int] = {}
    total = 0
    for (_track, kind), (pack, facts) in data.items():
        total += len(facts)
        if mode == "engine":
            cases = [(e, f["grade"], f) for e, f in facts.items()]
            verdicts = rules_engine.verdicts(pack, kind, cases)
            for v in verdicts.values():
                outcomes[v.status] = outcomes.get(v.status, 0) + 1
        elif mode == "plain":
            for f in facts.values():
                v = plain_verdict(pack.rules_for(kind, f["grade"]), f)
                outcomes[v.status] = outcomes.get(v.status, 0) + 1
        else:
            engine = "durable" if mode == "durable" else "plain"
            for d in evaluate_facts(pack, facts, period[kind], engine=engine).values():
                outcomes[d.outcome] = outcomes.get(d.outcome, 0) + 1
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "mode": mode,
        "employees": total,
        "seconds": round(seconds, 3),
        "us_per_employee": round(seconds / total * 1e6, 1),
        "cpu_seconds": round(cpu, 3),
        "cpu_us_per_employee": round(cpu / total * 1e6, 1),
        "peak_rss_mb": round(peak / 1024, 1),
        "rss_growth_mb": round((peak - base) / 1024, 1),
        "outcomes": outcomes,
    }


def main() -> None:
    """Run every mode in a child process and print one JSON line each."""
    if len(sys.argv) > 2 and sys.argv[1] == "--mode":
        print(json.dumps(run(sys.argv[2], int(sys.argv[3]))))
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    for mode in ("engine", "plain", "durable", "plain-full"):
        done = subprocess.run(
            [sys.executable, "-m", "bench.rules_eval", "--mode", mode, str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        print(done.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
