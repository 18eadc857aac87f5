"""L9: the command line's ``--actor`` is a bare name, and the trail did not say so.

Every event now records how its actor was identified (``via``): ``cli-asserted`` for
``--actor`` or its default, ``token`` for ``--token`` and the API, ``session`` for the
pages, ``password`` for a sign-in, ``system`` for the scheduler service. ``--token`` makes
the CLI act as the token's user; ``PROMOFLOW_CLI_REQUIRE_TOKEN=1`` refuses a changing
command without one. ``audit verify`` holds over events from before ``via`` and after.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime

from sqlalchemy import select

from promoflow.engine.audit import trail
from promoflow.engine.audit.verify import verify_chain
from promoflow.engine.storage.models import AuditEvent
from promoflow.engine.users import accounts as users
from tests.functional.web_client import csrf_of, login, make_app, token_for
from tests.functional.web_seed import CYCLE
from tests.security.cli import events, run

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _token(rt, username: str) -> str:
    return token_for(rt, username)["Authorization"].split(" ", 1)[1]


def test_every_event_says_how_its_actor_was_identified(rt, db_url, capsys, monkeypatch):
    app = make_app(rt, n=4)
    code, _, _ = run(
        capsys, monkeypatch, "--db", db_url, "--actor", "li", "user", "roles", "viewer", "auditor"
    )
    assert code == 0
    token = _token(rt, "manager")
    code, _, err = run(
        capsys, monkeypatch, "--db", db_url, "--token", token, "user", "roles", "auditor", "viewer"
    )
    assert code == 0, err
    browser = login(app, "officer")  # password, then session
    page = browser.get(f"/cycles/{CYCLE}/cases/E000002")
    r = browser.post("/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    api = TestClient(app)
    r = api.post(
        "/api/overrides",
        json={
            "cycle_id": CYCLE,
            "employee_id": "E000004",
            "kind": "block_promotion",
            "reason": "evidence",
        },
        headers=token_for(rt, "officer"),
    )
    assert r.status_code in (200, 201), r.text

    seen = [(e.actor, (e.after or {}).get("action", e.kind), e.via) for e in events(rt)]
    assert ("li", "roles_set", "cli-asserted") in seen
    assert ("manager", "roles_set", "token") in seen
    assert ("officer", "login", "password") in seen
    assert ("officer", "logout", "session") in seen
    assert ("officer", "override_proposed", "token") in seen
    assert all(via is not None for _a, _k, via in seen)
    with rt.unit_of_work() as session:
        assert verify_chain(session).ok


def test_a_bad_token_is_refused_in_one_line_and_nothing_is_written(rt, db_url, capsys, monkeypatch):
    make_app(rt, n=1)
    token = _token(rt, "manager")
    with rt.unit_of_work() as session:
        users.revoke_tokens(session, "test", datetime.now(UTC), "setup", username="manager")
    written = len(events(rt))
    for bad in (token, "pf_not-a-token"):
        code, out, err = run(
            capsys, monkeypatch, "--db", db_url, "--token", bad, "user", "roles", "viewer", "admin"
        )
        assert code == 2 and out == ""
        assert " ".join(err.split()) == (
            "error: the token given (--token or PROMOFLOW_TOKEN) is unknown, expired or revoked"
        )
    # an --actor naming someone else than the token's user is refused too
    good = _token(rt, "officer")
    written = len(events(rt))
    code, _, err = run(
        capsys, monkeypatch, "--db", db_url, "--token", good, "--actor", "admin", "user", "list"
    )
    assert code == 2 and "is not the token's user" in " ".join(err.split())
    assert len(events(rt)) == written
    with rt.unit_of_work() as session:
        assert users.roles_of(session, "viewer") == {"viewer"}


def test_a_deployment_may_require_a_token_for_every_change(rt, db_url, capsys, monkeypatch):
    make_app(rt, n=1)
    token = _token(rt, "admin")
    monkeypatch.setenv("PROMOFLOW_CLI_REQUIRE_TOKEN", "1")
    written = len(events(rt))
    for command in (
        ["user", "roles", "viewer", "admin"],
        ["user", "add", "mallory", "--role", "admin", "--password", "pass-word-9"],
        ["cycle", "advance", CYCLE, "--force"],
    ):
        code, _, err = run(capsys, monkeypatch, "--db", db_url, "--actor", "admin", *command)
        assert code == 2, (command, err)
        assert len(err.strip().splitlines()) <= 3  # one message, wrapped by the terminal
        assert "requires a token" in " ".join(err.split())
    assert len(events(rt)) == written
    with rt.unit_of_work() as session:
        assert users.roles_of(session, "viewer") == {"viewer"}
        assert session.get(users.User, "mallory") is None

    code, out, _ = run(capsys, monkeypatch, "--db", db_url, "user", "list")  # reads still run
    assert code == 0 and "viewer" in out
    code, _, err = run(
        capsys, monkeypatch, "--db", db_url, "--token", token, "user", "roles", "viewer", "auditor"
    )
    assert code == 0, err
    assert events(rt)[-1].via == "token" and events(rt)[-1].actor == "admin"


def test_a_fresh_database_can_be_set_up_where_a_token_is_required(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PROMOFLOW_CLI_REQUIRE_TOKEN", "1")
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    code, _, err = run(capsys, monkeypatch, "--db", url, "init")
    assert code == 0, err
    add = ["--db", url, "user", "add", "root", "--role", "admin", "--password", "pass-word-1"]
    code, _, err = run(capsys, monkeypatch, *add)
    assert code == 0, err
    add[4] = "root2"
    code, _, err = run(capsys, monkeypatch, *add)  # a user exists now: a token is needed
    assert code == 2 and "requires a token" in " ".join(err.split())


def test_verify_holds_over_events_from_before_via_and_after(rt, monkeypatch):
    at = datetime(2026, 10, 8, tzinfo=UTC)
    with monkeypatch.context() as patched:  # as written before migration 0004: no via
        patched.setattr(trail, "_via", lambda session: None)
        with rt.unit_of_work() as session:
            trail.record(session, "user_action", "old", at, after={"action": "x"})
            trail.record(session, "user_action", "old", at, after={"action": "y"})
    with rt.unit_of_work() as session:
        trail.record(session, "user_action", "new", at, after={"action": "z"})
    with rt.unit_of_work() as session:
        rows = session.execute(select(AuditEvent.actor, AuditEvent.via)).all()
        assert sorted(rows) == [("new", "system"), ("old", None), ("old", None)]
        assert verify_chain(session).ok
    # the old canonical form is unchanged: no "via" key when there is none
    text = trail.canonical_text(1, "t", "a", "k", None, None, None, None, None, None, None, "0")
    assert text.endswith('"subject":null}') and '"via"' not in text
    assert trail.canonical_text(
        1, "t", "a", "k", None, None, None, None, None, None, None, "0", via="token"
    ).endswith('"subject":null,"via":"token"}')
