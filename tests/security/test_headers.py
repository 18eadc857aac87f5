"""Security headers on every response, pages without inline script or style, and the
session cookie's ``Secure`` flag from configuration (issue 21, L6).

The Content-Security-Policy allows scripts and styles from our own files only, so the
templates must hold no inline ``<script>``, ``on…=`` handler or ``style`` (checked on the
rendered pages here, and in Chromium, where a violation would be reported, at the end).
"""

from __future__ import annotations

import socket
import threading
import time
import warnings
from html.parser import HTMLParser
from pathlib import Path

import pytest

from promoflow.console.web.app import CONTENT_SECURITY_POLICY
from promoflow.console.web.auth import SESSION_COOKIE
from promoflow.engine.bootstrap import bootstrap
from promoflow.settings import Settings
from tests.functional.web_client import login, make_app, token_for
from tests.functional.web_seed import CYCLE, PASSWORD

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

CASE = "E000004"
#: every page and export of the console, and the API, as the admin-free "manager" sees them
PERSONAL = [
    "/",
    "/cycles",
    f"/cycles/{CYCLE}",
    f"/cycles/{CYCLE}/cases/{CASE}",
    f"/cycles/{CYCLE}/cases/{CASE}/override",
    f"/cycles/{CYCLE}/export.csv",
    f"/cycles/{CYCLE}/export.xlsx",
    "/overrides",
    "/audit",
    "/audit/export.csv",
    "/packs",
    "/results",
]
API = ["/api/cycles", f"/api/cycles/{CYCLE}/cases", "/api/audit/events", "/api/docs"]
STATIC = ["/static/console.css", "/static/vendor/htmx.min.js", "/static/swagger-init.js"]


@pytest.fixture
def app(rt):
    return make_app(rt)


def _directives(policy: str) -> dict[str, list[str]]:
    parts = (d.split() for d in policy.split(";") if d.strip())
    return {p[0]: p[1:] for p in parts}


def _assert_common(response) -> None:
    h = response.headers
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] in ("same-origin", "no-referrer", "strict-origin")
    assert h["x-frame-options"] == "DENY"
    csp = _directives(h["content-security-policy"])
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in h["content-security-policy"]
    assert "'unsafe-eval'" not in h["content-security-policy"]


def test_pages_and_exports_are_never_stored(app):
    client = login(app, "manager")
    for path in PERSONAL:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 200, (path, response.status_code)
        assert response.headers["cache-control"] == "no-store", path
        _assert_common(response)


def test_api_answers_are_never_stored(app, rt):
    client = TestClient(app)
    headers = token_for(rt, "auditor")
    for path in API:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.text)
        assert response.headers["cache-control"] == "no-store", path
        _assert_common(response)
    refused = client.get("/api/cycles")  # errors too: a 401 carries the same headers
    assert refused.status_code == 401
    assert refused.headers["cache-control"] == "no-store"
    _assert_common(refused)


def test_the_login_page_and_errors_carry_the_headers(app):
    client = TestClient(app)
    for path, status in (("/login", 200), ("/no-such-page", 404)):
        response = client.get(path)
        assert response.status_code == status
        assert response.headers["cache-control"] == "no-store"
        _assert_common(response)


def test_our_own_assets_may_be_cached_but_not_sniffed(app):
    client = TestClient(app)
    for path in STATIC:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" not in response.headers.get("cache-control", ""), path
        _assert_common(response)


class _Inline(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would refuse."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = {name for name, _ in attrs}
        if tag == "script":
            self._in_script = "src" not in names
            if self._in_script:
                self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style>")
        self.found += [f"<{tag} {n}=…>" for n in names if n.startswith("on") or n == "style"]
        self.found += [
            f"<{tag} {n}=javascript:…>"
            for n, v in attrs
            if n in ("href", "src", "action", "formaction")
            and (v or "").strip().lower().startswith("javascript:")
        ]

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.found.append(f"inline script {data.strip()[:40]!r}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False


def _inline_of(html: str) -> list[str]:
    parser = _Inline()
    parser.feed(html)
    return parser.found


def test_the_inline_finder_finds_what_the_csp_refuses():
    html = '<p style="x" onclick="y"><script>alert(1)</script><a href="javascript:z">'
    assert len(_inline_of(html)) == 5
    assert _inline_of('<script src="/static/a.js"></script><p class="x">') == []


def test_no_page_holds_inline_script_style_or_handlers(app):
    client = login(app, "manager")
    pages = [p for p in PERSONAL if "export" not in p] + ["/api/docs", "/packs/sales"]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert _inline_of(response.text) == [], path
    assert _inline_of(TestClient(app).get("/login").text) == []


def test_htmx_is_told_not_to_inject_its_inline_style(app):
    html = login(app, "viewer").get("/").text
    assert '"includeIndicatorStyles": false' in html
    assert '<script src="/static/vendor/htmx.min.js"' in html


def _sign_in(app, forwarded_https: bool):
    """Sign in over https://testserver (the client sends Secure cookies back), perhaps with
    a proxy's X-Forwarded-Proto; the session's Set-Cookie and the login page's."""
    client = TestClient(app, base_url="https://testserver")
    page = client.get("/login")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    headers = {"X-Forwarded-Proto": "https"} if forwarded_https else {}
    response = client.post(
        "/login",
        data={"username": "viewer", "password": PASSWORD, "csrf_token": csrf},
        headers=headers,
        follow_redirects=False,
    )
    assert response.status_code == 303
    cookies = response.headers.get_list("set-cookie")
    (session,) = [c for c in cookies if c.startswith(f"{SESSION_COOKIE}=")]
    return session.lower(), [c.lower() for c in page.headers.get_list("set-cookie")]


def test_the_session_cookie_is_not_secure_by_default_whatever_the_request_says(app):
    # a request that looks like HTTPS (the URL, a forwarded header) does not decide it
    session, _ = _sign_in(app, forwarded_https=True)
    assert "secure" not in session.split("; ")
    assert "httponly" in session
    assert "samesite=lax" in session


def test_cookie_secure_setting_marks_every_cookie_secure(db_url, monkeypatch):
    monkeypatch.setenv("PROMOFLOW_COOKIE_SECURE", "1")
    rt = bootstrap(db_url, actor="tester")
    try:
        assert rt.settings.cookie_secure is True
        session, before = _sign_in(make_app(rt), forwarded_https=False)
        assert "secure" in session.split("; ")
        assert before and all("secure" in c.split("; ") for c in before)  # pf_csrf
    finally:
        rt.engine.dispose()


def test_cookie_secure_setting_is_read_from_the_environment():
    assert Settings().cookie_secure is False
    assert Settings(PROMOFLOW_COOKIE_SECURE="true").cookie_secure is True
    assert Settings(PROMOFLOW_COOKIE_SECURE="0").cookie_secure is False


# -- in Chromium: nothing the policy refuses, htmx and Swagger UI still work ----------------

CHROMIUM = Path("/usr/bin/chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live(tmp_path):
    import uvicorn

    from promoflow.engine.storage.db import upgrade

    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: install Debian's chromium (make test does)")
    rt = bootstrap(f"sqlite:///{tmp_path / 'console.db'}", actor="browser-test")
    upgrade(rt.engine)
    app = make_app(rt)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the console did not start within 20 s"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", token_for(rt, "auditor")
    server.should_exit = True
    thread.join(timeout=10)
    rt.engine.dispose()


@pytest.mark.browser
def test_chromium_reports_no_policy_violation_and_htmx_and_swagger_work(live):
    from playwright.sync_api import sync_playwright

    base, _headers = live
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=args, headless=True)
        page = browser.new_page()
        violations: list[str] = []
        page.on(
            "console",
            lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "manager")
        page.fill("input[name=password]", PASSWORD)
        page.click("#login")
        page.wait_for_url(f"{base}/")
        # htmx swaps the case table in place (a search), under the policy
        page.goto(f"{base}/cycles/{CYCLE}")
        page.fill("input[name=q]", CASE)
        page.press("input[name=q]", "Enter")
        page.wait_for_function(
            "() => document.querySelectorAll('#cases tbody tr').length === 1", timeout=10_000
        )
        assert page.evaluate("() => typeof htmx") == "object"
        assert page.evaluate("() => htmx.config.includeIndicatorStyles") is False
        # Swagger UI starts from its static file and lists the operations
        page.goto(f"{base}/api/docs")
        page.wait_for_selector(".opblock", timeout=15_000)
        assert page.locator(".opblock").count() >= 10
        browser.close()
    assert violations == []
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
