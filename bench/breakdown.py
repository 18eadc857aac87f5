"""Where the open milestone's time goes: facts, durable_rules, explanations, audit, notices.

``python -m bench.run --n 20000 --breakdown`` runs the open milestone under cProfile and
sums the cumulative time of the few functions that make up its work, so a change can be
judged by the part it was meant to shrink. The shares are of the profiled run (cProfile
slows calls unevenly, so read them as proportions, not seconds).
"""

from __future__ import annotations

import cProfile
import pstats
from collections.abc import Callable
from typing import Any

#: category → (function name, a piece of its file path)
PARTS = {
    "facts": ("build_facts", "engine/facts"),
    "durable_rules": ("verdicts", "engine/rules_engine"),
    "explanations": ("decide", "rules/decide"),
    "audit": ("record_many", "engine/audit"),
    "notices": ("queue", "engine/notices"),
}


def profile(fn: Callable[[], Any]) -> tuple[Any, pstats.Stats]:
    """Run ``fn`` under cProfile; its result and the statistics."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        result = fn()
    finally:
        profiler.disable()
    return result, pstats.Stats(profiler)


def _cumulative(stats: pstats.Stats, name: str, path: str) -> float:
    return sum(
        value[3]
        for (file, _line, func), value in stats.stats.items()  # type: ignore[attr-defined]
        if func == name and path in file
    )


def _called_from(stats: pstats.Stats, inner: tuple[str, str], outer: tuple[str, str]) -> float:
    total = 0.0
    for (file, _line, func), value in stats.stats.items():  # type: ignore[attr-defined]
        if func == inner[0] and inner[1] in file:
            for (cfile, _cline, cfunc), cvalue in value[4].items():
                if cfunc == outer[0] and outer[1] in cfile:
                    total += cvalue[3]
    return total


def shares(stats: pstats.Stats, total_of: tuple[str, str]) -> dict[str, float]:
    """Seconds (profiled) per category, ``rest`` included, summing to the total."""
    total = _cumulative(stats, *total_of)
    out = {part: _cumulative(stats, *where) for part, where in PARTS.items()}
    # notices write their own audit events: count those once, under audit
    out["notices"] -= _called_from(stats, PARTS["audit"], PARTS["notices"])
    out = {k: round(v, 3) for k, v in out.items()}
    out["rest"] = round(total - sum(out.values()), 3)
    out["total"] = round(total, 3)
    return out
