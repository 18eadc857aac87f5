"""The garbage-collector policy, in one place: when cyclic collection runs less, not at all,
or leaves objects alone, and why (each measured by ``bench``).

A 100k-employee milestone keeps millions of small live objects that hold no cycles worth
finding; CPython's collector, tuned for programs of a few thousand, walks them again and
again. Three moments need it tamed: the whole process (thresholds raised once at
bootstrap), an import (paused while a file's rows are in memory), and forking workers
(what they inherit frozen, so neither side's collections walk or copy shared pages).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: gen-0, gen-1, gen-2 thresholds (CPython's defaults are 700, 10, 10)
GC_THRESHOLDS = (50_000, 20, 10)


def relax() -> None:
    """Collect cyclic garbage less often: at CPython's default thresholds the collector's
    passes over a milestone's live objects cost about a tenth of the open milestone. Never
    lowers a threshold someone set higher."""
    current = gc.get_threshold()
    gc.set_threshold(*(max(a, b) for a, b in zip(current, GC_THRESHOLDS, strict=False)))


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection inside the block (an import): hundreds of thousands of rows
    make as many small containers, which set off full collections that find almost no
    cycles (a tenth of a 600k-row import); what cycles there are go at the next one."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@contextmanager
def frozen() -> Iterator[None]:
    """Everything alive now out of the collector's reach until the block ends (forking
    workers): no collection here or in a worker walks it again, and a worker's collections
    do not write to (and so copy) the pages it shares with the parent."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
