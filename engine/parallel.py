"""Pure per-employee work spread over the machine's cores, results back in order.

Why: opening a cycle of 100k employees is mostly CPU work that needs no database (facts
arithmetic, the rule engine, explanations, encoding rows and audit payloads), and the one
process that writes to the database can keep writing while other cores compute. The work
is handed over by ``fork``: the job (loaded inputs, compiled rules) is set before the
workers start, so they inherit it and only index ranges travel to them; only results come
back (pickled). Workers run niced below this process, which writes every chunk in
order and so is the path the whole run waits on.

What comes back is pickled, and this process unpickles every chunk on the path the run
waits on. NamedTuples pickle several times slower than plain tuples (timeit, lists of
2,000: audit events 2.7 ms to pickle and 1.8 ms to unpickle as NamedTuples, 0.8 and 0.4 ms
as plain tuples; decisions 4.2 and 1.4 ms against 0.7 and 0.6 ms), so a job returning many
small records sends the plain tuples of their NamedTuple's fields (``tuple(record)`` in
the worker, 0.1 µs each) and the receiver unpacks them by name; one answer per chunk
(:class:`WorkerAnswer`) is a NamedTuple.

Used only where it is safe and worth it: ``fork`` available (Linux), no other thread alive
in this process (forking a threaded process can inherit a held lock), and enough items.
Otherwise — and with ``PROMOFLOW_WORKERS=1`` — the same function runs here, chunk by chunk,
so results never depend on how many workers ran.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import resource
import threading
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from promoflow import settings
from promoflow.engine import collector
from promoflow.settings import WORKERS_ENV as WORKERS_ENV
from promoflow.settings import Settings

#: below this many items a pool costs more than it saves
MIN_ITEMS = 4000
#: employees per chunk (measured at 100k: 2,000 opens ≈ 7 % faster than 4,000, with less
#: CPU on both sides; 1,000 no faster again)
CHUNK = 2000
#: workers' niceness above the parent's (measured at 100k on 2 cores: open 1.5 s faster)
WORKER_NICENESS = 10

_job: Callable[[int, int], Any] | None = None
#: how many worker processes the last :func:`map_chunks` used (0: it ran in this process)
last_workers = 0
#: the largest peak RSS (KiB) any worker reported since this process started
peak_worker_kib = 0


def workers(config: Settings | None = None) -> int:
    """How many worker processes to use: ``PROMOFLOW_WORKERS``, else the CPU count (≤ 4);
    ``config`` defaults to the settings as the environment says now."""
    count = (config or settings.current()).workers
    return count if count is not None else max(1, min(4, os.cpu_count() or 1))


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def _lower_priority() -> None:
    """Run workers below the parent: it is the serial path (it writes every chunk, in
    order), and three busy processes on two cores otherwise share them evenly."""
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)


class WorkerAnswer(NamedTuple):
    """What a worker sends back for one chunk (pickled; one per chunk, so its names cost
    nothing measurable — a job returning many small records sends plain tuples inside)."""

    result: Any
    #: the worker's peak resident memory so far, KiB
    peak_kib: int


def _run(bounds: tuple[int, int]) -> WorkerAnswer:
    assert _job is not None
    result = _job(*bounds)
    return WorkerAnswer(result, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _ramped(count: int, chunk: int) -> list[tuple[int, int]]:
    """Ranges of ``chunk`` items, the first few smaller (⅛, ¼, ½ of a chunk).

    The caller consumes results in order and is the slower side, so everything before
    the first result arrives is waiting: small first chunks start it sooner.
    """
    sizes = [max(1, chunk // 8), max(1, chunk // 4), max(1, chunk // 2)]
    bounds, start = [], 0
    while start < count:
        size = sizes.pop(0) if sizes else chunk
        bounds.append((start, min(start + size, count)))
        start += size
    return bounds


def will_fork(count: int, chunk: int | None = None) -> bool:
    """Whether :func:`map_chunks` over ``count`` items would run in worker processes."""
    chunks = -(-count // (chunk or CHUNK))
    return min(workers(), chunks) >= 2 and count >= MIN_ITEMS and _can_fork()


def map_chunks(
    job: Callable[[int, int], Any], count: int, chunk: int | None = None
) -> Iterator[Any]:
    """``job(start, stop)`` over consecutive ranges of ``range(count)``, results in order.

    Results are yielded as they arrive, so the caller can write chunk 1 while later chunks
    are still being computed. ``job`` must not touch the database or any open connection.
    """
    global _job, last_workers, peak_worker_kib
    chunk = chunk or CHUNK
    if not will_fork(count, chunk):
        last_workers = 0
        for start in range(0, count, chunk):
            yield job(start, min(start + chunk, count))
        return
    bounds = _ramped(count, chunk)
    n = min(workers(), len(bounds))
    _job, last_workers = job, n
    # what the workers inherit stays out of the collector's reach until the pool is done
    try:
        with (
            collector.frozen(),
            multiprocessing.get_context("fork").Pool(n, initializer=_lower_priority) as pool,
        ):
            for answer in pool.imap(_run, bounds):
                peak_worker_kib = max(peak_worker_kib, answer.peak_kib)
                yield answer.result
    finally:
        _job = None
