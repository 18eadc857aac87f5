"""M6: anyone could keep ``admin`` locked out, and X-Forwarded-For picked the client.

Five wrong passwords locked a username for everyone, the right password included;
uvicorn believed X-Forwarded-For from 127.0.0.1, so rotating it dodged the per-client
limit. Now a browser that signed in before holds a device cookie and is judged by its own
failures only; untrusted clients are limited per (username, address) and per username;
forwarded headers are believed only from ``--trusted-proxies``.
"""

from __future__ import annotations

import warnings

import httpx

from promoflow.console.commands.serve import proxy_options
from promoflow.console.web.auth import DEVICE_COOKIE, LoginLimiter
from tests.functional.web_client import csrf_of, make_app
from tests.functional.web_seed import PASSWORD
from tests.security.served import PASSWORD as SERVED_PASSWORD
from tests.security.served import serve

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _sign_in(client: TestClient, username: str, password: str):
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def test_an_attacker_cannot_lock_out_a_user_on_a_known_device(rt):
    app = make_app(rt, n=1, limiter=LoginLimiter(max_failures=5, window=300))
    user = TestClient(app)
    assert _sign_in(user, "manager", PASSWORD).status_code == 303
    device = user.cookies[DEVICE_COOKIE]
    user.post("/logout", headers={"x-csrf-token": csrf_of(user.get("/").text)})

    attacker = TestClient(app)  # same address ("testclient"), no device cookie
    for _ in range(5):
        assert _sign_in(attacker, "manager", "guess-guess").status_code == 401
    refused = _sign_in(attacker, "manager", PASSWORD)  # even the right password waits
    assert refused.status_code == 429 and "pf_session" not in refused.cookies
    # a forged or foreign device cookie does not help the attacker
    attacker.cookies.set(DEVICE_COOKIE, device.replace(device[-4:], "AAAA"), path="/login")
    assert _sign_in(attacker, "manager", PASSWORD).status_code == 429

    # the user's own browser is not blocked by the attacker's failures
    assert user.cookies[DEVICE_COOKIE] == device
    assert _sign_in(user, "manager", PASSWORD).status_code == 303


def test_a_device_cookie_is_bound_to_its_username():
    limiter = LoginLimiter()
    cookie = limiter.device_cookie("ann")
    assert limiter.trusted_device(cookie, "ann")
    assert limiter.trusted_device(cookie, "admin") is None
    assert LoginLimiter().trusted_device(cookie, "ann") is None  # another server's secret
    assert limiter.trusted_device("x" * 10_000, "ann") is None


def test_untrusted_clients_are_limited_per_username_across_addresses():
    limiter = LoginLimiter(max_failures=5, max_untrusted_per_user=20)
    for i in range(20):
        client = f"10.0.0.{i}"
        assert not limiter.blocked("admin", client)
        limiter.failed("admin", client)
    assert limiter.blocked("admin", "10.0.0.99")
    device = limiter.trusted_device(limiter.device_cookie("admin"), "admin")
    assert not limiter.blocked("admin", "10.0.0.99", device)


def test_forwarded_headers_are_believed_only_from_trusted_proxies():
    assert proxy_options(None) == {"proxy_headers": False}
    assert proxy_options("") == {"proxy_headers": False}
    assert proxy_options("10.0.0.1, 10.0.0.0/24") == {
        "proxy_headers": True,
        "forwarded_allow_ips": ["10.0.0.1", "10.0.0.0/24"],
    }


def test_rotating_x_forwarded_for_does_not_dodge_the_limit(tmp_path):
    with serve(tmp_path) as served, httpx.Client() as client:
        token = served.login_form(client)
        codes = []
        for i in range(7):
            password = SERVED_PASSWORD if i == 6 else f"wrong-{i}-password"
            r = client.post(
                f"{served.base}/login",
                data={"username": "admin", "password": password, "csrf_token": token},
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
            )
            codes.append(r.status_code)
    assert codes == [401] * 5 + [429, 429]
