"""Every route × every role, from the app's own route table (issue 21).

The routes are read from ``create_app(...).routes`` (including the API mounted at
``/api`` and the static mounts), so a route added without a line in :data:`ROUTES` fails
:func:`test_every_route_is_in_the_table`. Each line names the permission of
``console/web/permissions.py`` the route needs (or :data:`PUBLIC`, or :data:`SIGNED_IN`
for "any signed-in user"), a concrete URL with values from the seeded database, and the
request to send. Then, for each role and for anonymous, each route is requested — pages
through a signed-in session (POSTs with the session's CSRF token), the API with a bearer
token — and the status must be what the permission table says:

- allowed: neither 401 nor 403 (nor the sign-in redirect);
- refused, signed in: 403 (pages and API alike);
- anonymous: a page redirects to ``/login``, the API answers 401.

Each role gets a fresh seeded database (``rt`` is per test), so what one role's allowed
POSTs change (an approval, a language) cannot change what the next role sees.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.routing import Mount

from promoflow.console.web.app import create_app
from promoflow.console.web.permissions import PERMISSIONS, allowed
from promoflow.engine.overrides import service as override_service
from tests.functional.web_client import csrf_of, login, make_app, token_for
from tests.functional.web_seed import CYCLE, NOW, PASSWORD, SALES_VERSION, USERS

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PUBLIC = "public"
SIGNED_IN = "signed_in"
#: a user per role of permissions.py (web_seed.USERS), and anonymous (None)
ROLE_USERS = {"viewer": "viewer", "hr_officer": "officer", "hr_manager": "manager"}
ROLE_USERS |= {"auditor": "auditor", "admin": "admin"}
ROLES = [*ROLE_USERS, None]
CASE = "E000004"
#: set when the fixture proposes an override (its id goes in the URLs below)
OVERRIDE = "{override}"
RESULTS_CSV = ("results.csv", b"employee_id,stage,value\n", "text/csv")


@dataclass(frozen=True)
class Route:
    """What a route needs and how to call it."""

    permission: str
    url: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: the request ends the session it is sent with (sign out): give it a session of its own
    own_session: bool = False


def _form(**values: str) -> dict[str, Any]:
    return {"data": values}


#: (method, route path) → what it needs; "MOUNT" lines are static folders
ROUTES: dict[tuple[str, str], Route] = {
    # our own assets and the sign-in pages: open to anyone
    ("GET", "/static/vendor/htmx.min.js"): Route(PUBLIC, "/static/vendor/htmx.min.js"),
    ("MOUNT", "/static/vendor/swagger-ui"): Route(
        PUBLIC, "/static/vendor/swagger-ui/swagger-ui.css"
    ),
    ("MOUNT", "/static"): Route(PUBLIC, "/static/console.css"),
    ("GET", "/login"): Route(PUBLIC, "/login"),
    ("POST", "/login"): Route(PUBLIC, "/login"),  # sent by _login_post: credentials + token
    ("POST", "/lang"): Route(PUBLIC, "/lang", _form(lang="zh", next="/")),
    ("POST", "/logout"): Route(SIGNED_IN, "/logout", own_session=True),
    ("GET", "/api/openapi.json"): Route(PUBLIC, "/api/openapi.json"),
    ("GET", "/api/docs"): Route(PUBLIC, "/api/docs"),
    # pages
    ("GET", "/"): Route("read", "/"),
    ("GET", "/cycles"): Route("read", "/cycles"),
    ("GET", "/cycles/{cycle_id}"): Route("read", f"/cycles/{CYCLE}"),
    ("GET", "/cycles/{cycle_id}/export.{fmt}"): Route("export", f"/cycles/{CYCLE}/export.csv"),
    ("GET", "/cycles/{cycle_id}/cases/{employee_id}"): Route(
        "read", f"/cycles/{CYCLE}/cases/{CASE}"
    ),
    ("POST", "/cycles/advance"): Route(
        "cycle_run", "/cycles/advance", _form(cycle_id="sales-2099Q1")
    ),
    ("GET", "/cycles/{cycle_id}/cases/{employee_id}/override"): Route(
        "override_propose", f"/cycles/{CYCLE}/cases/{CASE}/override"
    ),
    ("POST", "/cycles/{cycle_id}/cases/{employee_id}/override"): Route(
        "override_propose",
        f"/cycles/{CYCLE}/cases/{CASE}/override",
        _form(kind="block_promotion", reason=""),  # refused for want of a reason: no write
    ),
    ("GET", "/overrides"): Route("read", "/overrides"),
    ("POST", "/overrides/{override_id}/{verdict}"): Route(
        "override_decide", f"/overrides/{OVERRIDE}/reject", _form(note="matrix")
    ),
    ("GET", "/audit"): Route("audit_read", "/audit"),
    ("GET", "/audit/export.{fmt}"): Route("audit_read", "/audit/export.csv"),
    ("GET", "/packs"): Route("read", "/packs"),
    ("GET", "/packs/{pack_id}"): Route("read", "/packs/sales"),
    ("GET", "/packs/{pack_id}/diff"): Route(
        "read", f"/packs/sales/diff?a={SALES_VERSION}&b={SALES_VERSION}"
    ),
    ("POST", "/packs/{pack_id}/whatif"): Route(
        "whatif", "/packs/sales/whatif", _form(version=SALES_VERSION, cycle_id=CYCLE)
    ),
    ("GET", "/results"): Route("read", "/results"),
    ("POST", "/results"): Route(
        "results_upload", "/results", {"data": {"kind": "results"}, "files": {"file": RESULTS_CSV}}
    ),
    # the API
    ("GET", "/api/me"): Route("read", "/api/me"),
    ("GET", "/api/cycles"): Route("read", "/api/cycles"),
    ("GET", "/api/cycles/{cycle_id}"): Route("read", f"/api/cycles/{CYCLE}"),
    ("POST", "/api/cycles/{cycle_id}/advance"): Route(
        "cycle_run", "/api/cycles/sales-2099Q1/advance", {"json": {}}
    ),
    ("GET", "/api/cycles/{cycle_id}/cases"): Route("read", f"/api/cycles/{CYCLE}/cases"),
    ("GET", "/api/cycles/{cycle_id}/cases/{employee_id}"): Route(
        "read", f"/api/cycles/{CYCLE}/cases/{CASE}"
    ),
    ("GET", "/api/cycles/{cycle_id}/decisions"): Route("read", f"/api/cycles/{CYCLE}/decisions"),
    ("GET", "/api/overrides"): Route("read", "/api/overrides?status=all"),
    ("POST", "/api/overrides"): Route(
        "override_propose",
        "/api/overrides",
        {"json": {"cycle_id": CYCLE, "employee_id": CASE, "kind": "nope", "reason": "matrix"}},
    ),
    ("POST", "/api/overrides/{override_id}/approve"): Route(
        "override_decide", f"/api/overrides/{OVERRIDE}/approve", {"json": {}}
    ),
    ("POST", "/api/overrides/{override_id}/reject"): Route(
        "override_decide", f"/api/overrides/{OVERRIDE}/reject", {"json": {}}
    ),
    ("GET", "/api/audit/events"): Route("audit_read", "/api/audit/events"),
    ("GET", "/api/audit/verify"): Route("audit_read", "/api/audit/verify"),
    ("GET", "/api/imports"): Route("read", "/api/imports"),
    ("POST", "/api/imports/{kind}"): Route(
        "results_upload", "/api/imports/results", {"files": {"file": RESULTS_CSV}}
    ),
}


def app_routes(routes, prefix: str = ""):
    """(method, path) of every route, through included routers and mounted apps; a mount
    without routes of its own (a static folder) is ("MOUNT", path)."""
    for route in routes:
        if hasattr(route, "effective_route_contexts"):  # FastAPI's included router (0.16x)
            for context in route.effective_route_contexts():
                yield from app_routes([context.original_route], prefix + context.frontend_prefix)
        elif isinstance(route, Mount):
            inner = getattr(route.app, "routes", None)
            if inner is None:
                yield ("MOUNT", prefix + route.path)
            else:
                yield from app_routes(inner, prefix + route.path)
        else:
            for method in sorted(getattr(route, "methods", None) or ()):
                if method != "HEAD":
                    yield (method, prefix + route.path)


def test_every_route_is_in_the_table_and_every_line_is_a_route():
    found = set(app_routes(create_app(None).routes))  # the route table reads no database
    assert len(found) > 40
    assert sorted(found - set(ROUTES)) == [], "routes without a permission line in ROUTES"
    assert sorted(set(ROUTES) - found) == [], "lines in ROUTES for routes that do not exist"
    for key, route in ROUTES.items():
        assert route.permission in (*PERMISSIONS, PUBLIC, SIGNED_IN), key


def test_the_table_agrees_with_what_each_route_depends_on():
    """Each guarded route's dependency (require/act/api_require) names its permission: read
    it back, so the table cannot drift from the code, and a public line is really open."""
    app = create_app(None)
    named = {}
    for context_route in _endpoints(app.routes):
        path, methods, dependant = context_route
        for method in methods:
            for name in _permissions_of(dependant):
                named.setdefault((method, path), set()).add(name)
    for key, permissions in named.items():
        assert {ROUTES[key].permission} == permissions, (key, permissions)
    guarded = {key for key, route in ROUTES.items() if route.permission in PERMISSIONS}
    assert set(named) == guarded


def _endpoints(routes, prefix: str = ""):
    for route in routes:
        if hasattr(route, "effective_route_contexts"):
            for context in route.effective_route_contexts():
                yield from _endpoints([context.original_route], prefix + context.frontend_prefix)
        elif isinstance(route, Mount):
            yield from _endpoints(getattr(route.app, "routes", None) or [], prefix + route.path)
        elif getattr(route, "dependant", None) is not None:
            methods = sorted(m for m in route.methods if m != "HEAD")
            yield prefix + route.path, methods, route.dependant


def _permissions_of(dependant) -> set[str]:
    found = set()
    for dep in dependant.dependencies:
        call = dep.call
        closure = getattr(call, "__closure__", None) or ()
        found |= {c.cell_contents for c in closure if isinstance(c.cell_contents, str)} & set(
            PERMISSIONS
        )
        found |= _permissions_of(dep)
    return found


@pytest.fixture
def world(rt):
    """A fresh seeded console with one proposed override (by the officer)."""
    app = make_app(rt)
    with rt.sessions() as session, session.begin():
        row = override_service.propose(
            session,
            now=NOW,
            actor="officer",
            cycle_id=CYCLE,
            employee_id=CASE,
            kind="block_promotion",
            params={},
            reason="route matrix",
        )
        override_id = row.id
    return app, rt, override_id


def _login_post(client: TestClient):
    form = client.get("/login")
    return client.post(
        "/login",
        data={"username": "viewer", "password": PASSWORD, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )


def _send(app, rt, role: str | None, method: str, route: Route, override_id: int, cache):
    url = route.url.replace(OVERRIDE, str(override_id))
    kwargs = {k: (dict(v) if isinstance(v, dict) else v) for k, v in route.kwargs.items()}
    username = ROLE_USERS.get(role) if role else None
    if url.startswith("/api/") and route.permission != PUBLIC:
        client = cache.setdefault("api", TestClient(app))
        headers = token_for(rt, username) if username else {}
        return client.request(method, url, headers=headers, follow_redirects=False, **kwargs)
    if method == "POST" and url == "/login":
        return _login_post(TestClient(app))  # a sign-in of its own (keeps this session's user)
    if username is None:
        client = TestClient(app)
    elif route.own_session:
        client = login(app, username)
    else:
        client = cache.get("session") or cache.setdefault("session", login(app, username))
    if method == "POST" and username is not None:
        csrf = csrf_of(client.get("/").text)
        kwargs.setdefault("data", {})["csrf_token"] = csrf
    return client.request(method, url, follow_redirects=False, **kwargs)


def _allowed(role: str | None, permission: str) -> bool:
    if permission == PUBLIC:
        return True
    if permission == SIGNED_IN:
        return role is not None
    return role is not None and allowed({role}, permission)


@pytest.mark.parametrize("role", ROLES, ids=[r or "anonymous" for r in ROLES])
def test_each_route_answers_each_role_as_the_permissions_say(world, role):
    app, rt, override_id = world
    cache: dict[str, TestClient] = {}
    wrong = []
    for (method, path), route in ROUTES.items():
        response = _send(
            app, rt, role, "GET" if method == "MOUNT" else method, route, override_id, cache
        )
        status = response.status_code
        # the sign-in redirect carries the page asked for (signing out goes to plain /login)
        to_login = status == 303 and response.headers["location"].startswith("/login?next=")
        if _allowed(role, route.permission):
            ok = status not in (401, 403) and not to_login and status < 500
        elif role is None:
            ok = status == 401 if route.url.startswith("/api/") else to_login
        else:
            ok = status == 403
        if not ok:
            wrong.append(f"{method} {path} as {role or 'anonymous'}: {status}")
    assert wrong == [], "\n".join(wrong)


def test_the_api_ignores_a_session_cookie(world):
    app, _rt, _id = world
    client = login(app, "admin")  # signed in to the pages, but no bearer token
    assert client.get("/api/cycles").status_code == 401
    assert client.get("/").status_code == 200


def test_the_roles_are_those_of_the_seed():
    assert {role for roles in USERS.values() for role in roles} == set(ROLE_USERS)
    assert set(ROLE_USERS) == {r for members in PERMISSIONS.values() for r in members}
