"""H1: anyone could exhaust the server's memory through the login form.

The old limiter kept a counter per username tried (answered 429 or not), never dropped
one, and took 1 MB usernames: 300 POSTs grew the server from 120 to 410 MiB, for good.
Now the limiter's table is capped and expires, a lookup creates nothing, fields longer
than an account can have are refused before they are counted, and a pre-sign-in form
posting more than 16 KiB is answered 413 before its body is read.
"""

from __future__ import annotations

import os
import select
import socket
import time
import tracemalloc
import warnings

import httpx
import psutil
from sqlalchemy import func
from sqlalchemy import select as sql_select

from promoflow.console.web.auth import LoginLimiter
from promoflow.console.web.body_limit import SMALL_FORM_LIMIT
from promoflow.engine.storage.models import AuditEvent
from promoflow.engine.storage.models.users import LoginSession
from tests.functional.web_client import csrf_of, make_app
from tests.security.served import serve

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def test_the_limiter_table_stays_capped_after_a_hundred_thousand_usernames():
    limiter = LoginLimiter(max_entries=5000)
    tracemalloc.start()
    try:
        for i in range(100_000):
            name = f"user-{i:06d}-" + "x" * 80
            assert not limiter.blocked(name, "10.0.0.1")
            limiter.failed(name, f"10.0.{i % 250}.{i % 7}")
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(limiter) <= 5000
    # 5000 entries of a 16-byte key and a two-item list: well under 2 MiB
    assert peak < 2 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"


def test_a_lookup_creates_nothing_and_entries_expire():
    clock = [0.0]
    limiter = LoginLimiter(max_failures=2, window=10, clock=lambda: clock[0])
    for i in range(1000):
        assert not limiter.blocked(f"nobody-{i}", "10.0.0.1")
    assert len(limiter) == 0
    limiter.failed("ann", "10.0.0.1")
    limiter.failed("ann", "10.0.0.1")
    assert limiter.blocked("ann", "10.0.0.1")
    clock[0] = 11.0
    assert not limiter.blocked("ann", "10.0.0.1")  # the window is over
    limiter.failed("bob", "10.0.0.2")  # pruning drops what expired
    assert len(limiter) == 3


def _post_login(client: TestClient, username: str, password: str = "whatever-1", **kw):
    token = csrf_of(client.get("/login").text)
    data = {"username": username, "password": password, "csrf_token": token}
    return client.post("/login", data=data, **kw)


def _written(rt) -> tuple[int, int]:
    with rt.unit_of_work() as session:
        events = session.scalar(sql_select(func.count()).select_from(AuditEvent))
        sessions = session.scalar(sql_select(func.count()).select_from(LoginSession))
    return events, sessions


def test_over_long_fields_and_large_bodies_are_refused_before_anything_is_kept(rt):
    limiter = LoginLimiter()
    app = make_app(rt, n=1, limiter=limiter)
    client = TestClient(app)
    before = _written(rt)

    # a 101-character name cannot be an account: refused, not counted
    r = _post_login(client, "a" * 101)
    assert r.status_code == 401
    assert "Wrong username or password" in r.text or "用户名或密码错误" in r.text
    assert len(limiter) == 0

    # a body over 16 KiB, announced by its Content-Length: 413 before it is read
    r = _post_login(client, "a" * (SMALL_FORM_LIMIT + 1))
    assert r.status_code == 413 and r.text == "request body too large"
    assert r.headers["connection"] == "close"

    # the same sent chunked (no length): read up to the cap, then 413
    token = csrf_of(client.get("/login").text)

    def chunks():
        yield f"csrf_token={token}&password=x&username=".encode()
        for _ in range(64):
            yield b"a" * 1024

    r = client.post(
        "/login",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413

    # a 2 KiB password is refused (and counted: the name is a real one's length)
    r = _post_login(client, "viewer", "p" * 2048)
    assert r.status_code == 401
    assert len(limiter) == 3
    assert _written(rt) == before
    # a small, good sign-in still goes through the cap untouched
    r = _post_login(client, "viewer", "pass-word-1", follow_redirects=False)
    assert r.status_code == 303


def _attack(port: int, cookie: str, token: str, i: int) -> int:
    """One sign-in with a distinct 1 MB username over a raw socket: the status code.

    Sends the headers and the first 16 KiB; a server that answers at once (413) gets no
    more; one that waits is sent the whole megabyte."""
    head = f"csrf_token={token}&password=wrong-password&username=u{i:05d}".encode()
    length = len(head) + 1024 * 1024
    request = (
        f"POST /login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Cookie: pf_csrf={cookie}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request + head + b"x" * (16 * 1024 - len(head)))
        readable, _, _ = select.select([sock], [], [], 0.5)
        if not readable:  # no early answer: send it all, as the attacker would
            sock.sendall(b"x" * (1024 * 1024 - 16 * 1024 + len(head)))
        status = sock.recv(64).split(b" ", 2)[1]
    return int(status)


def test_ten_thousand_one_megabyte_logins_leave_the_server_rss_flat(tmp_path):
    with serve(tmp_path) as served:
        with httpx.Client() as client:
            token = served.login_form(client)
            cookie = client.cookies["pf_csrf"]
        rss = psutil.Process(served.process.pid).memory_info
        for i in range(300):  # warm-up: the app, its caches, the socket paths
            assert _attack(served.port, cookie, token, i) == 413
        warm = rss().rss
        started = time.monotonic()
        codes = {_attack(served.port, cookie, token, i) for i in range(10_000)}
        took = time.monotonic() - started
        after = rss().rss
    grown = (after - warm) / 2**20
    print(
        f"RSS after warm-up {warm / 2**20:.1f} MiB, after 10,000: {after / 2**20:.1f} MiB "
        f"(+{grown:.1f}); {took:.1f} s"
    )
    if os.environ.get("PROMOFLOW_SECURITY_REPORT"):
        with open(os.environ["PROMOFLOW_SECURITY_REPORT"], "a") as out:
            out.write(f"h1 rss warm={warm} after={after} seconds={took:.1f}\n")
    assert codes == {413}
    assert grown < 50, f"the server grew by {grown:.1f} MiB"
