"""Concurrent writers, threads or processes, leave one unforked, verifiable chain."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime

from sqlalchemy import func, select

from promoflow.engine.audit.trail import Event, record, record_many
from promoflow.engine.audit.verify import verify_chain
from promoflow.engine.bootstrap import bootstrap
from promoflow.engine.storage.models import AuditEvent

T0 = datetime(2026, 10, 8, 9, 0, tzinfo=UTC)
WRITERS = 4
ROUNDS = 15


def _writer(url: str, name: str, errors: list) -> None:
    rt = bootstrap(url, actor=name)
    try:
        for i in range(ROUNDS):
            with rt.sessions() as s, s.begin():
                record(s, "user_action", name, T0, subject=f"{name}:{i}")
                # a second append in the same transaction continues its own tail
                record_many(s, [Event("notice", name, T0, subject=f"{name}:{i}:n")])
    except Exception as exc:  # pragma: no cover - reported by the assertion below
        errors.append(exc)
    finally:
        rt.engine.dispose()


def _count_and_verify(rt):
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent)), verify_chain(s)


def test_threads_writing_at_once_leave_a_valid_chain(rt, db_url):
    errors: list = []
    threads = [
        threading.Thread(target=_writer, args=(db_url, f"t{n}", errors)) for n in range(WRITERS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    count, report = _count_and_verify(rt)
    assert count == WRITERS * ROUNDS * 2
    assert report.ok, report.finding


SCRIPT = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from promoflow.engine.audit.trail import record
    from promoflow.engine.bootstrap import bootstrap

    url, name, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rt = bootstrap(url, actor=name)
    for i in range(rounds):
        with rt.sessions() as s, s.begin():
            record(s, "user_action", name, datetime.now(UTC), subject=f"{name}:{i}")
            record(s, "notice", name, datetime.now(UTC), subject=f"{name}:{i}:n")
    """
)


def test_processes_writing_at_once_leave_a_valid_chain(rt, db_url):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, db_url, f"p{n}", str(ROUNDS)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(WRITERS)
    ]
    failures = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    assert all(code == 0 for code, _ in failures), failures
    count, report = _count_and_verify(rt)
    assert count == WRITERS * ROUNDS * 2
    assert report.ok, report.finding
