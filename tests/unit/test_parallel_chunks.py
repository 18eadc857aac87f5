"""Worker chunks: every item exactly once, in order, whatever the sizes."""

from __future__ import annotations

import os
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promoflow.engine import parallel


@given(count=st.integers(min_value=1, max_value=50_000), chunk=st.integers(1, 5000))
def test_ramped_ranges_cover_every_item_once_in_order(count, chunk):
    bounds = parallel._ramped(count, chunk)
    assert bounds[0][0] == 0 and bounds[-1][1] == count
    assert all(stop == next_start for (_, stop), (next_start, _) in pairwise(bounds))
    assert all(0 < stop - start <= chunk for start, stop in bounds)


@pytest.mark.slow
def test_results_come_back_in_order_from_workers(monkeypatch):
    monkeypatch.setenv(parallel.WORKERS_ENV, "2")
    monkeypatch.setattr(parallel, "MIN_ITEMS", 0)
    got = list(parallel.map_chunks(lambda start, stop: list(range(start, stop)), 1000, 64))
    assert parallel.last_workers == 2
    assert [x for part in got for x in part] == list(range(1000))
    assert len(got[0]) == 8  # the first chunk is an eighth of one


@pytest.mark.slow
def test_workers_run_below_the_writing_process(monkeypatch):
    """The parent writes every chunk in order (the serial path): workers yield to it."""
    monkeypatch.setenv(parallel.WORKERS_ENV, "2")
    monkeypatch.setattr(parallel, "MIN_ITEMS", 0)
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    got = list(
        parallel.map_chunks(lambda start, stop: [os.getpriority(os.PRIO_PROCESS, 0)], 100, 10)
    )
    assert parallel.last_workers == 2
    assert {nice for part in got for nice in part} == {min(19, mine + parallel.WORKER_NICENESS)}
    assert os.getpriority(os.PRIO_PROCESS, 0) == mine


@pytest.mark.slow
def test_what_workers_inherit_is_frozen_for_the_collector_while_the_pool_runs(monkeypatch):
    """No collection walks (or, in a worker, copies) the inherited heap; afterwards the
    parent's objects are collectable again, also when the caller stops early."""
    import gc

    monkeypatch.setenv(parallel.WORKERS_ENV, "2")
    monkeypatch.setattr(parallel, "MIN_ITEMS", 0)
    inherited = [object() for _ in range(1000)]  # noqa: F841 - alive across the fork
    assert gc.get_freeze_count() == 0
    in_workers, in_parent = [], []
    for part in parallel.map_chunks(lambda start, stop: [gc.get_freeze_count()], 100, 10):
        in_workers.extend(part)
        in_parent.append(gc.get_freeze_count())
    assert parallel.last_workers == 2
    assert min(in_workers) > 1000 and min(in_parent) > 1000
    assert gc.get_freeze_count() == 0
    stopped = parallel.map_chunks(lambda start, stop: [start], 100, 10)
    next(stopped)
    stopped.close()  # the caller gave up: a failed write, say
    assert gc.get_freeze_count() == 0
