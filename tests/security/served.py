"""A real ``promoflow serve`` process over a temporary SQLite database, for attacks over HTTP."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from promoflow.engine.bootstrap import bootstrap
from promoflow.engine.storage.db import upgrade
from promoflow.engine.users import accounts as users

PASSWORD = "correct-horse-1"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    base: str
    port: int
    process: subprocess.Popen

    def login_form(self, client: httpx.Client) -> str:
        """GET /login: the pre-sign-in CSRF token (the client keeps its cookie)."""
        match = CSRF.search(client.get(f"{self.base}/login").text)
        assert match, "login page without a CSRF token"
        return match.group(1)


@contextmanager
def serve(tmp_path, *extra: str) -> Iterator[Served]:
    """Start ``promoflow serve`` with one user ``admin`` (password :data:`PASSWORD`)."""
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    rt = bootstrap(url, actor="setup")
    upgrade(rt.engine)
    with rt.unit_of_work() as session:
        users.add_user(session, "admin", PASSWORD, ["admin"], datetime.now(UTC), "setup")
    rt.engine.dispose()
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")  # a file: a pipe nobody reads fills, stalls
    process = subprocess.Popen(
        [sys.executable, "-m", "promoflow", "--db", url, "serve", "--port", str(port), *extra],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/login", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "serve did not answer within 30 s"
                time.sleep(0.2)
        yield Served(base, port, process)
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()
