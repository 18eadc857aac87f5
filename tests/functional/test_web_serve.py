"""``promoflow serve`` starts the console: a real process answering on the given port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx

from promoflow.engine.storage.db import make_engine, upgrade


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_with_the_login_page_and_its_own_htmx(tmp_path):
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "promoflow", "--db", url, "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"{base}/login", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read().decode()
                assert time.monotonic() < deadline, "serve did not answer within 30 s"
                time.sleep(0.2)
        assert response.status_code == 200 and "csrf_token" in response.text
        assert httpx.get(f"{base}/static/vendor/htmx.min.js").status_code == 200
        assert httpx.get(f"{base}/api/cycles").status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=15)
