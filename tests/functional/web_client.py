"""Console test clients: an app over a seeded database, and signing in as a role."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime

from promoflow.console.web.app import create_app
from promoflow.console.web.auth import LoginLimiter
from promoflow.engine.users import accounts as users
from tests.functional.web_seed import PASSWORD, add_users, seed_cycle

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_app(rt, n: int = 30, limiter: LoginLimiter | None = None):
    """The console over a fresh database holding one user per role and one cycle."""
    with rt.sessions() as session, session.begin():
        add_users(session)
        seed_cycle(session, n)
    return create_app(rt, login_limiter=limiter)


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    match = CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(app, username: str, password: str = PASSWORD) -> TestClient:
    """A client signed in as ``username``."""
    client = TestClient(app)
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def token_for(rt, username: str) -> dict[str, str]:
    """Authorization headers with a fresh API token of ``username``."""
    with rt.sessions() as session, session.begin():
        # issued now, not at NOW: a token expires (90 days) and the server checks the clock
        token = users.create_token(session, username, "test", datetime.now(UTC), "setup")
    return {"Authorization": f"Bearer {token}"}
