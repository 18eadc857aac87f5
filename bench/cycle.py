"""One measurement: a fresh database, a synthetic org of N, one whole ``sales`` cycle.

Runs inside the child process ``bench.run`` starts for each (N, db). Every timed phase is a
real service call through the same code the CLI uses; preparing the input files and
comparing with the floor are not timed as part of the cycle.
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

from sqlalchemy import make_url, text

from bench import pipeline
from bench.floor import floor_open
from promoflow.engine.bootstrap import Runtime, bootstrap
from promoflow.engine.storage.db import make_engine

PERIOD = "2026Q3"
CYCLE = f"sales-{PERIOD}"
MIDDLE = ("test_due", "interview_notice", "interview_due")


@contextmanager
def throwaway_database(db: str, folder: Path) -> Iterator[str]:
    """A URL to an empty database that is gone afterwards (a file, or a PostgreSQL database)."""
    if db == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    if db != "postgresql":
        raise SystemExit(f"unknown --db {db!r}: use sqlite or postgresql")
    admin_url = os.environ.get("PROMOFLOW_TEST_DATABASE_URL")
    if not admin_url:
        raise SystemExit("--db postgresql needs PROMOFLOW_TEST_DATABASE_URL")
    name = f"pf_bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Clock:
    """Named phases: wall-clock seconds, and this process's CPU seconds beside them.

    CPU time shows what the Python side costs even when the machine is busy; wall time
    is what a user waits (and, on PostgreSQL, includes the server's work).
    """

    def __init__(self, profile_dir: Path | None = None) -> None:
        self.phases: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.peak_mb: dict[str, float] = {}
        #: CPU seconds of worker processes (``promoflow.engine.parallel``) per phase
        self.workers_cpu: dict[str, float] = {}
        self.profile_dir = profile_dir

    def time(self, name: str, fn: Callable[[], Any]) -> Any:
        if self.profile_dir is not None:
            return self._profiled(name, fn)
        start, cpu, workers = time.perf_counter(), time.process_time(), _children_cpu()
        result = fn()
        self.phases[name] = round(self.phases.get(name, 0.0) + time.perf_counter() - start, 3)
        self.cpu[name] = round(self.cpu.get(name, 0.0) + time.process_time() - cpu, 3)
        if spent := round(_children_cpu() - workers, 3):
            self.workers_cpu[name] = round(self.workers_cpu.get(name, 0.0) + spent, 3)
        self.peak_mb[name] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        return result

    def _profiled(self, name: str, fn: Callable[[], Any]) -> Any:
        from pyinstrument import Profiler  # dev-only: pip install pyinstrument

        profiler = Profiler(interval=0.002)
        start, cpu = time.perf_counter(), time.process_time()
        profiler.start()
        result = fn()
        profiler.stop()
        self.phases[name] = round(time.perf_counter() - start, 3)
        self.cpu[name] = round(time.process_time() - cpu, 3)
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        text_ = profiler.output_text(unicode=True, color=False, show_all=False)
        (self.profile_dir / f"{name}.txt").write_text(text_)
        return result


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def compare(engine_lines: list[dict], floor: dict) -> tuple[bool, list[dict]]:
    """Whether the engine's export and the floor agree for every employee; a few differences."""
    engine = {
        line["employee_id"]: (line["from_grade"], line["to_grade"], line["outcome"], line["review"])
        for line in engine_lines
    }
    wanted = {eid: d.key() for eid, d in floor.items()}
    differences = []
    for eid in sorted(engine.keys() | wanted.keys()):
        if engine.get(eid) != wanted.get(eid):
            differences.append(
                {"employee_id": eid, "engine": engine.get(eid), "floor": wanted.get(eid)}
            )
    return not differences, differences[:10]


def measure(n: int, db: str, profile: str | None = None, repeat: int = 1) -> dict:
    """Time one whole cycle at N employees on ``db``; return the run's figures.

    With ``repeat`` > 1 (SQLite), the open milestone and the floor are measured that many
    times in pairs — the cycle's own open, then on copies of the imported database — and
    ``open_s``, ``floor_open_s`` and ``ratio_open`` are the medians (this machine's speed
    drifts by up to 1.6× within an hour; a pair measured back to back shares the drift).
    """
    with tempfile.TemporaryDirectory(prefix="promoflow-bench-") as tmp:
        folder = Path(tmp)
        with throwaway_database(db, folder) as url:
            rt = bootstrap(url, actor="bench")
            try:
                run = _measure(rt, n, db, folder, profile, repeat if db == "sqlite" else 1)
                run["server"] = _server_version(rt)
                return run
            finally:
                rt.engine.dispose()


def _measure(rt: Runtime, n: int, db: str, folder: Path, profile: str | None, repeat: int) -> dict:
    clock = Clock(Path(profile) if profile and profile != "breakdown" else None)
    times = pipeline.milestone_times(CYCLE)
    clock.time("setup", lambda: pipeline.initialise(rt, times["open"]))
    files = clock.time("generate", lambda: _generate(n, folder))

    for kind, path in files.items():
        clock.time(
            f"import_{kind}",
            lambda k=kind, p=path: pipeline.import_file(rt, k, p, _before(times["open"])),
        )
    import_s = sum(v for k, v in clock.phases.items() if k.startswith("import_"))
    # copies of the imported database for the repeated open/floor pairs (SQLite files)
    copies = [_sqlite_copy(rt, folder / f"repeat-{i}.db") for i in range(1, repeat)]

    # The floor before the open: it only reads what was imported. Run right after the open
    # in the same process it took 1.9 s where the next run took 1.5-1.6 s (CPU time alike),
    # which flattered engine/floor.
    floor = clock.time("floor_open", lambda: floor_open(rt.engine, PERIOD))

    breakdown = None
    if profile == "breakdown":
        from bench.breakdown import profile as cprofile
        from bench.breakdown import shares

        def opened_under_cprofile():
            _, stats = cprofile(lambda: pipeline.run_milestone(rt, CYCLE, "open", times["open"]))
            return shares(stats, ("run_milestone", "engine/cycles"))

        breakdown = clock.time("open", opened_under_cprofile)
    else:
        clock.time("open", lambda: pipeline.run_milestone(rt, CYCLE, "open", times["open"]))
    open_s = clock.phases["open"]

    opened = clock.time("export_open", lambda: pipeline.export(rt, CYCLE))
    match, differences = compare(opened, floor)
    pairs = [(open_s, clock.phases["floor_open"])]
    for url in copies:
        pairs.append(_open_and_floor(url, times["open"]))

    tests = clock.time(
        "generate_tests", lambda: pipeline.write_results(rt, CYCLE, "written_test", folder)
    )
    clock.time(
        "import_tests",
        lambda: pipeline.import_file(rt, "results", tests, _before(times["test_due"])),
    )
    for milestone in MIDDLE:
        if milestone == "interview_due":
            talks = clock.time(
                "generate_interviews",
                lambda: pipeline.write_results(rt, CYCLE, "interview", folder),
            )
            clock.time(
                "import_interviews",
                lambda t=talks: pipeline.import_file(
                    rt, "results", t, _before(times["interview_due"])
                ),
            )
        clock.time(milestone, lambda m=milestone: pipeline.run_milestone(rt, CYCLE, m, times[m]))
    clock.time("announce", lambda: pipeline.run_milestone(rt, CYCLE, "announce", times["announce"]))
    announced = pipeline.export(rt, CYCLE)

    cycle_phases = (
        *(k for k in clock.phases if k.startswith("import_")),
        "open",
        *MIDDLE,
        "announce",
    )
    cycle_s = round(sum(clock.phases[k] for k in cycle_phases), 3)
    ratios = [round(o / f, 2) for o, f in pairs if f]
    return {
        "n": n,
        "db": db,
        "import_s": round(import_s, 3),
        "open_s": round(median(o for o, _f in pairs), 3),
        "announce_s": clock.phases["announce"],
        "cycle_s": cycle_s,
        "floor_open_s": round(median(f for _o, f in pairs), 3),
        "ratio_open": median(ratios) if ratios else None,
        "open_s_runs": [o for o, _f in pairs],
        "floor_open_s_runs": [f for _o, f in pairs],
        "ratio_open_runs": ratios,
        "peak_rss_mb": None,
        "decisions_match": match,
        "evaluated": len(opened),
        "outcomes_open": dict(Counter(line["outcome"] for line in opened)),
        "outcomes_announce": dict(Counter(line["outcome"] for line in announced)),
        "states_announce": dict(Counter(line["state"] for line in announced)),
        "phases_s": clock.phases,
        "phases_cpu_s": clock.cpu,
        "peak_rss_after_mb": clock.peak_mb,
        "workers_cpu_s": clock.workers_cpu,
        "differences": differences,
        **({"open_breakdown_s": breakdown} if breakdown else {}),
        **({"profiled": True} if profile else {}),
    }


def _sqlite_copy(rt: Runtime, path: Path) -> str:
    """A consistent copy of the runtime's SQLite database (the backup API), as a URL."""
    source = sqlite3.connect(rt.engine.url.database)
    target = sqlite3.connect(path)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    return f"sqlite:///{path}"


def _open_and_floor(url: str, when: datetime) -> tuple[float, float]:
    """One more open and floor on a copy, each in a fresh process of its own
    (``bench.repeat``): the floor first (it only reads), then the open."""
    try:
        floor = _repeat(url, when, "floor")["floor_open_s"]
        opened = _repeat(url, when, "open")["open_s"]
    finally:
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    return opened, floor


def _repeat(url: str, when: datetime, what: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.repeat", url, when.isoformat(), what],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
    )
    return json.loads(proc.stdout.splitlines()[-1])


def _server_version(rt: Runtime) -> str:
    """``SQLite 3.40.1`` or ``PostgreSQL 15.20``: which database engine the run measured."""
    with rt.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            return "SQLite " + conn.exec_driver_sql("SELECT sqlite_version()").scalar_one()
        return "PostgreSQL " + conn.exec_driver_sql("SHOW server_version").scalar_one().split()[0]


def _generate(n: int, folder: Path) -> dict[str, Path]:
    """The org's CSV files, written by ``bench.generate`` in a separate process."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.generate", str(n), str(folder), PERIOD],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
    )
    return {
        kind: Path(path) for kind, path in (line.split("\t") for line in proc.stdout.splitlines())
    }


def _before(when: datetime) -> datetime:
    """An hour before a deadline: when the results arrive."""
    return when - timedelta(hours=1)
