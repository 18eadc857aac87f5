"""The REST API: every route × every role — allowed, forbidden, unauthenticated."""

from __future__ import annotations

import pytest

from promoflow.console.web import api
from promoflow.console.web.permissions import PERMISSIONS
from promoflow.engine.overrides import service as override_service
from tests.functional.web_client import TestClient, make_app, token_for
from tests.functional.web_seed import CYCLE, EVIL, USERS

RESULTS_CSV = b"employee_id,cycle,stage,value\nE000001,sales-2026Q3,interview,pass\n"

#: (method, path, permission, request kwargs)
ROUTES = [
    ("GET", "/api/me", "read", {}),
    ("GET", "/api/cycles", "read", {}),
    ("GET", f"/api/cycles/{CYCLE}", "read", {}),
    ("GET", f"/api/cycles/{CYCLE}/cases", "read", {}),
    ("POST", "/api/cycles/sales-2026Q4/advance", "cycle_run", {}),
    ("GET", f"/api/cycles/{CYCLE}/cases/E000001", "read", {}),
    ("GET", f"/api/cycles/{CYCLE}/decisions", "read", {}),
    ("GET", "/api/overrides", "read", {}),
    (
        "POST",
        "/api/overrides",
        "override_propose",
        {
            "json": {
                "cycle_id": CYCLE,
                "employee_id": "E000001",
                "kind": "block_promotion",
                "reason": "test",
            }
        },
    ),
    ("POST", "/api/overrides/999/approve", "override_decide", {"json": {}}),
    ("POST", "/api/overrides/999/reject", "override_decide", {"json": {}}),
    ("GET", "/api/audit/events", "audit_read", {}),
    ("GET", "/api/audit/verify", "audit_read", {}),
    ("GET", "/api/imports", "read", {}),
    (
        "POST",
        "/api/imports/results",
        "results_upload",
        {"files": {"file": ("results.csv", RESULTS_CSV, "text/csv")}},
    ),
]


@pytest.fixture
def world(rt):
    app = make_app(rt)
    tokens = {name: token_for(rt, name) for name in USERS}
    return TestClient(app), tokens


def _call(client, method, path, headers=None, **kwargs):
    return client.request(method, path, headers=headers or {}, **kwargs)


@pytest.mark.parametrize(("method", "path", "permission", "kwargs"), ROUTES)
def test_every_route_refuses_anonymous_callers_with_401(world, method, path, permission, kwargs):
    client, _ = world
    response = _call(client, method, path, **kwargs)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    bad = _call(client, method, path, headers={"Authorization": "Bearer pf_nonsense"}, **kwargs)
    assert bad.status_code == 401


@pytest.mark.parametrize(("method", "path", "permission", "kwargs"), ROUTES)
def test_every_route_lets_exactly_the_allowed_roles_in(world, method, path, permission, kwargs):
    client, tokens = world
    for username, roles in USERS.items():
        response = _call(client, method, path, headers=tokens[username], **kwargs)
        if roles & PERMISSIONS[permission]:
            assert response.status_code not in (401, 403), (username, response.text)
        else:
            assert response.status_code == 403, (username, response.status_code)


def test_the_case_listing_filters_sorts_and_pages(world):
    client, tokens = world
    body = client.get(
        f"/api/cycles/{CYCLE}/cases",
        params={"outcome": "pending", "per_page": 3, "sort": "employee_id", "desc": "true"},
        headers=tokens["viewer"],
    ).json()
    assert body["total"] == 7 and body["pages"] == 3  # pending: i % 4 == 3 for i in 1..30
    assert [r["employee_id"] for r in body["rows"]] == ["E000027", "E000023", "E000019"]


def test_the_case_detail_keeps_decimals_exact_and_names_as_given(world):
    client, tokens = world
    body = client.get(f"/api/cycles/{CYCLE}/cases/E000002", headers=tokens["viewer"]).json()
    assert body["employee"]["name"] == EVIL
    assert body["decision"]["facts"]["score_2026Q3"] == "86.5"


def test_an_unknown_cycle_is_404(world):
    client, tokens = world
    assert client.get("/api/cycles/sales-1999Q1", headers=tokens["viewer"]).status_code == 404


def test_audit_events_page_newest_first(world):
    client, tokens = world
    body = client.get("/api/audit/events", params={"kind": "decision"}, headers=tokens["auditor"])
    rows = body.json()["rows"]
    assert rows and all(r["kind"] == "decision" for r in rows)
    assert [r["seq"] for r in rows] == sorted((r["seq"] for r in rows), reverse=True)


def test_the_openapi_document_lists_the_routes(world):
    client, _ = world
    document = client.get("/api/openapi.json").json()
    assert document["servers"] == [{"url": "/api"}]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    paths = {"/api" + p for p in document["paths"]}
    for _method, path, _perm, _kw in ROUTES:
        template = path.replace(CYCLE, "{cycle_id}").replace("E000001", "{employee_id}")
        template = template.replace("sales-2026Q4", "{cycle_id}")
        template = template.replace("/999/", "/{override_id}/").replace("/results", "/{kind}")
        assert template in paths, template


def test_a_manager_opens_a_new_cycle_through_the_api(world):
    """The clock reads today (2026-12 or later): whether sales-2026Q4 may open by its
    calendar (2027-01-08) depends on the day, so the API is asked to force it, with a
    reason; the calendar guard itself is tested in test_calendar_guard.py."""
    client, tokens = world
    response = client.post(
        "/api/cycles/sales-2026Q4/advance",
        headers=tokens["manager"],
        json={"force": True, "reason": "year-end freeze: open early"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["milestone"] == "open" and response.json()["ran"] is True
    cycles = client.get("/api/cycles", headers=tokens["viewer"]).json()
    opened = next(c for c in cycles if c["cycle_id"] == "sales-2026Q4")
    assert opened["decisions"] == 30


def test_the_documented_override_kinds_are_the_services_kinds():
    assert sorted(api.KINDS) == sorted(override_service.KINDS)
