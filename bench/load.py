"""``make load``: 50 simulated console users against ``promoflow serve`` on 127.0.0.1.

Not part of ``make test`` (it runs for minutes). For each database (SQLite; PostgreSQL too
when ``PROMOFLOW_TEST_DATABASE_URL`` is set, in a database of its own), it:

1. builds a quarter as an HR officer would: ``init``, the demo's three files imported,
   ``cycle open`` (through the services, in this process);
2. adds the users: readers who sign in through the login form and browse (dashboard,
   cycle page filtered and sorted, case pages, the audit page), officers who propose
   ``set_grade`` overrides through the API, and managers who approve their partner
   officer's proposals (four eyes; a pair never shares an employee, so no request is
   refused by design);
3. starts ``promoflow serve`` as its own process and runs every user as a thread for
   ``--seconds``, each pausing ``--think`` seconds between requests;
4. prints requests, errors by status, p50/p95/p99, the server's memory at start and end,
   and checks that every proposal answered 201 is stored exactly once and that
   ``audit verify`` passes.

Goal (issue 22): no errors and p95 < 500 ms on both databases.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, make_url, select, text

from promoflow.demo.synthetic import generate_org
from promoflow.engine.bootstrap import bootstrap
from promoflow.engine.cycles import service as cycle_service
from promoflow.engine.cycles import steps
from promoflow.engine.imports.service import run_import
from promoflow.engine.setup import initialise
from promoflow.engine.storage.models import Override
from promoflow.engine.users import accounts

PASSWORD = "load-test-password-1"
MARKER = "load test"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CYCLE = "sales-2026Q3"
#: the sales ladder's grades a set_grade override alternates between
GRADES = ("S4", "S5")


@dataclass
class Tally:
    """Every request's latency and status, shared by the user threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)
    proposed: list[int] = field(default_factory=list)

    def add(self, what: str, status: int, seconds: float, ok: bool | None = None) -> None:
        """One request; ``ok`` defaults to "answered, and not 4xx/5xx" (0 = no answer)."""
        with self.lock:
            self.latencies.append(seconds)
            self.statuses[status] += 1
            if not (ok if ok is not None else 0 < status < 400):
                self.failures[f"{what} {status}"] += 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pg_database(base: str) -> str:
    """A fresh PostgreSQL database beside the test one, for the load test alone."""
    name = "promoflow_load"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def build(url: str, folder: Path, employees: int, users: int) -> dict[str, list[str]]:
    """A quarter opened by hand and the load test's users; returns who is who."""
    rt = bootstrap(url, actor="load-setup")
    initialise(rt, rt.now())
    org = generate_org(employees, ("sales", "cs"), seed=7, period="2026Q3")
    files = org.write_csv(folder)
    for kind in ("employees", "metrics", "vacancies"):
        with rt.unit_of_work() as session:
            run_import(session, kind, files[kind], rt.now(), rt.actor)
    with rt.unit_of_work() as session:
        steps.run_by_hand(session, CYCLE, rt.now(), rt.actor, milestone="open")
    pairs = max(1, users // 5)
    roles = {
        "reader": [f"reader{i:02d}" for i in range(users - 2 * pairs)],
        "officer": [f"officer{i:02d}" for i in range(pairs)],
        "manager": [f"manager{i:02d}" for i in range(pairs)],
    }
    grant = {"reader": {"viewer", "auditor"}, "officer": {"hr_officer"}, "manager": {"hr_manager"}}
    tokens: dict[str, str] = {}
    now = rt.now()
    with rt.unit_of_work() as session:
        for kind, names in roles.items():
            for name in names:
                accounts.add_user(session, name, PASSWORD, grant[kind], now, "load-setup")
                if kind != "reader":
                    tokens[name] = accounts.create_token(session, name, "load", now, "load-setup")
    with rt.unit_of_work() as session:
        sales = [row["employee_id"] for row in cycle_service.decisions_export(session, CYCLE)]
    rt.engine.dispose()
    roles["tokens"] = [tokens[n] for n in roles["officer"] + roles["manager"]]
    roles["employees"] = sales
    return roles


def reader(base: str, name: str, stop: float, think: float, tally: Tally, seed: int) -> None:
    """Signs in through the form, then browses the pages an HR person reads."""
    rng = random.Random(seed)
    with httpx.Client(base_url=base, timeout=30) as client:
        page = client.get("/login")
        token = CSRF.search(page.text).group(1)
        started = time.perf_counter()
        answer = client.post(
            "/login", data={"username": name, "password": PASSWORD, "csrf_token": token}
        )
        # a sign-in that worked answers 303 (to the dashboard); 200 is the form shown again
        status = answer.status_code
        tally.add("login", status, time.perf_counter() - started, ok=status == 303)
        paths = [
            "/",
            f"/cycles/{CYCLE}",
            f"/cycles/{CYCLE}?outcome=promoted&sort=employee_id",
            f"/cycles/{CYCLE}?page=2",
            "/audit",
            "/overrides",
        ]
        while time.monotonic() < stop:
            path = rng.choice(paths)
            started = time.perf_counter()
            try:
                status = client.get(path).status_code
            except httpx.HTTPError:
                status = 0
            tally.add(f"GET {path.split('?')[0]}", status, time.perf_counter() - started)
            time.sleep(think)


def pair(
    base: str,
    officer_token: str,
    manager_token: str,
    employees: list[str],
    stop: float,
    think: float,
    tally: Tally,
) -> None:
    """An officer proposing set_grade overrides and the manager approving each one."""
    officer = httpx.Client(base_url=base, timeout=30, headers=_bearer(officer_token))
    manager = httpx.Client(base_url=base, timeout=30, headers=_bearer(manager_token))
    turn = 0
    with officer, manager:
        while time.monotonic() < stop:
            employee = employees[turn % len(employees)]
            body = {
                "cycle_id": CYCLE,
                "employee_id": employee,
                "kind": "set_grade",
                "params": {"to_grade": GRADES[turn % 2]},
                "reason": f"{MARKER} {turn}",
            }
            turn += 1
            started = time.perf_counter()
            try:
                answer = officer.post("/api/overrides", json=body)
                status = answer.status_code
            except httpx.HTTPError:
                status = 0
            tally.add("POST /api/overrides", status, time.perf_counter() - started)
            if status != 201:
                time.sleep(think)
                continue
            override_id = answer.json()["id"]
            with tally.lock:
                tally.proposed.append(override_id)
            time.sleep(think)
            started = time.perf_counter()
            try:
                status = manager.post(f"/api/overrides/{override_id}/approve", json={}).status_code
            except httpx.HTTPError:
                status = 0
            tally.add("POST approve", status, time.perf_counter() - started)
            time.sleep(think)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def run_one(url: str, label: str, args: argparse.Namespace) -> dict:
    folder = Path(tempfile.mkdtemp(prefix=f"promoflow-load-{label}-"))
    print(f"[{label}] building a quarter of {args.employees} employees …", flush=True)
    who = build(url, folder, args.employees, args.users)
    port = free_port()
    env = dict(os.environ, PROMOFLOW_DATABASE_URL=url)
    server = subprocess.Popen(
        [sys.executable, "-m", "promoflow", "--db", url, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "serve.log", "wb"),  # noqa: SIM115 - closed with the process
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base)
        rss_start = rss_mib(server.pid)
        tally = Tally()
        stop = time.monotonic() + args.seconds
        threads = [
            threading.Thread(
                target=reader, args=(base, name, stop, args.think, tally, i), daemon=True
            )
            for i, name in enumerate(who["reader"])
        ]
        pairs = len(who["officer"])
        for i in range(pairs):
            mine = who["employees"][i::pairs]
            threads.append(
                threading.Thread(
                    target=pair,
                    args=(
                        base,
                        who["tokens"][i],
                        who["tokens"][pairs + i],
                        mine,
                        stop,
                        args.think,
                        tally,
                    ),
                    daemon=True,
                )
            )
        print(f"[{label}] {len(threads) + pairs} users for {args.seconds} s …", flush=True)
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rss_end = rss_mib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    stored = _stored_once(url, tally.proposed)
    verify = subprocess.run(
        [sys.executable, "-m", "promoflow", "--db", url, "audit", "verify"],
        capture_output=True,
        text=True,
    )
    lat = sorted(tally.latencies)
    result = {
        "db": label,
        "users": len(who["reader"]) + 2 * len(who["officer"]),
        "seconds": args.seconds,
        "requests": len(lat),
        "errors": dict(tally.failures),
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "p50_ms": round(1000 * _pct(lat, 50), 1),
        "p95_ms": round(1000 * _pct(lat, 95), 1),
        "p99_ms": round(1000 * _pct(lat, 99), 1),
        "server_rss_start_mib": rss_start,
        "server_rss_end_mib": rss_end,
        "proposals": len(tally.proposed),
        "proposals_stored_once": stored,
        "audit_verifies": verify.returncode == 0,
        "at": datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    return result


def _pct(values: list[float], pct: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def _wait_for(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"promoflow serve did not answer at {base}")


def _stored_once(url: str, proposed: list[int]) -> bool:
    """Every proposal answered 201 is one row, and no row exists that was not answered."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = (
            conn.execute(select(Override.id).where(Override.reason.like(f"{MARKER} %")))
            .scalars()
            .all()
        )
        total = conn.execute(select(func.count()).select_from(Override)).scalar_one()
    engine.dispose()
    return (
        sorted(rows) == sorted(proposed)
        and len(set(proposed)) == len(proposed)
        and total >= len(rows)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=180)
    parser.add_argument("--think", type=float, default=0.5, help="pause between requests, s")
    parser.add_argument("--employees", type=int, default=2000)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "load.json")
    args = parser.parse_args(argv)
    results = []
    if args.db in ("sqlite", "both"):
        folder = Path(tempfile.mkdtemp(prefix="promoflow-load-db-"))
        results.append(run_one(f"sqlite:///{folder / 'promoflow.db'}", "sqlite", args))
    pg = os.environ.get("PROMOFLOW_TEST_DATABASE_URL")
    if args.db in ("postgresql", "both"):
        if pg:
            results.append(run_one(pg_database(pg), "postgresql", args))
        else:
            print("PROMOFLOW_TEST_DATABASE_URL is not set: PostgreSQL skipped")
    ok = True
    for r in results:
        met = (
            not r["errors"]
            and r["p95_ms"] < 500
            and r["proposals_stored_once"]
            and r["audit_verifies"]
        )
        ok &= met
        print(
            f"{r['db']:<10} users {r['users']}  {r['seconds']} s  requests {r['requests']}  "
            f"errors {r['errors'] or 0}  p50 {r['p50_ms']} ms  p95 {r['p95_ms']} ms  "
            f"p99 {r['p99_ms']} ms  server RSS {r['server_rss_start_mib']} → "
            f"{r['server_rss_end_mib']} MiB  proposals {r['proposals']} stored once: "
            f"{r['proposals_stored_once']}  audit verifies: {r['audit_verifies']}  "
            f"goal {'met' if met else 'NOT met'}"
        )
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
