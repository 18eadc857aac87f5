"""H6: API tokens never expired and could not be revoked; a password change left them working.

Now tokens expire (90 days by default, ``PROMOFLOW_TOKEN_DAYS``, ``--days``), can be
revoked by id or name, are listed with their dates, end with a password reset (unless
``--keep-tokens``) and with deactivation; every change is a ``user_action`` event with no
secret in it.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from promoflow.engine.storage.models.users import ApiToken
from promoflow.engine.users import accounts as users
from tests.functional.web_client import login, make_app
from tests.functional.web_seed import PASSWORD
from tests.security.cli import events, run

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _issue(capsys, monkeypatch, db_url, *args) -> str:
    code, out, err = run(capsys, monkeypatch, "--db", db_url, "user", "token", *args)
    assert code == 0, err
    return out.strip()


def test_a_revoked_token_is_refused_and_the_trail_holds_no_secret(rt, db_url, capsys, monkeypatch):
    app = make_app(rt, n=1)
    api = TestClient(app)
    token = _issue(capsys, monkeypatch, db_url, "officer", "--name", "hr-sync")
    assert token.startswith("pf_")
    assert api.get("/api/me", headers=_bearer(token)).status_code == 200

    code, out, _ = run(capsys, monkeypatch, "--db", db_url, "user", "tokens", "officer")
    assert code == 0
    header, line = out.splitlines()
    assert header == "id\tname\tcreated\texpires\tlast used\tstate"
    token_id, name, _created, expires, last_used, state = line.split("\t")
    assert (name, state) == ("hr-sync", "live") and last_used != "-"
    assert expires.startswith((datetime.now(UTC) + timedelta(days=90)).strftime("%Y-%m-%d")[:7])

    code, out, _ = run(capsys, monkeypatch, "--db", db_url, "user", "token", "revoke", token_id)
    assert code == 0 and f"#{token_id}" in out
    r = api.get("/api/me", headers=_bearer(token))
    assert r.status_code == 401 and "revoked" in r.text

    # revoking it again is refused, and writes nothing
    written = len(events(rt))
    code, _, err = run(capsys, monkeypatch, "--db", db_url, "user", "token", "revoke", token_id)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "no live token" in err
    assert len(events(rt)) == written

    trail = events(rt)
    revoke = [e for e in trail if e.after and e.after.get("action") == "token_revoke"]
    assert revoke and revoke[0].after["token_id"] == int(token_id)
    assert all(token not in repr((e.before, e.after, e.reason)) for e in trail)


def test_a_token_revoked_by_name_needs_its_user(rt, db_url, capsys, monkeypatch):
    make_app(rt, n=1)
    token = _issue(capsys, monkeypatch, db_url, "officer", "--name", "ci")
    code, _, err = run(capsys, monkeypatch, "--db", db_url, "user", "token", "revoke", "ci")
    assert code == 2 and "--user" in err
    code, _, _ = run(
        capsys, monkeypatch, "--db", db_url, "user", "token", "revoke", "ci", "--user", "officer"
    )
    assert code == 0
    with rt.unit_of_work() as session:
        assert users.user_for_token(session, token, datetime.now(UTC)) is None


def test_tokens_expire(rt, db_url, capsys, monkeypatch):
    app = make_app(rt, n=1)
    api = TestClient(app)
    token = _issue(capsys, monkeypatch, db_url, "officer", "--days", "1")
    assert api.get("/api/me", headers=_bearer(token)).status_code == 200
    issued = datetime.now(UTC) - timedelta(days=1, minutes=1)  # as if a day and a minute ago
    with rt.unit_of_work() as session:
        session.execute(
            update(ApiToken).values(created_at=issued, expires_at=issued + timedelta(days=1))
        )
    assert api.get("/api/me", headers=_bearer(token)).status_code == 401
    # a token from before expiry existed lives PROMOFLOW_TOKEN_DAYS from its issue
    old = _issue(capsys, monkeypatch, db_url, "officer", "--name", "legacy")
    with rt.unit_of_work() as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.name == "legacy")
            .values(expires_at=None, created_at=datetime.now(UTC) - timedelta(days=91))
        )
    assert api.get("/api/me", headers=_bearer(old)).status_code == 401
    _code, out, _ = run(capsys, monkeypatch, "--db", db_url, "user", "tokens", "officer")
    assert [line.rsplit("\t", 1)[1] for line in out.splitlines()[1:]] == ["expired", "expired"]


def test_a_password_reset_ends_tokens_unless_kept(rt, db_url, capsys, monkeypatch):
    app = make_app(rt, n=1)
    api = TestClient(app)
    token = _issue(capsys, monkeypatch, db_url, "officer")
    args = ("--db", db_url, "user", "passwd", "officer", "--password", "new-pass-word")
    code, out, _ = run(capsys, monkeypatch, *args, "--keep-tokens")
    assert code == 0 and "kept" in out
    assert api.get("/api/me", headers=_bearer(token)).status_code == 200
    code, out, _ = run(capsys, monkeypatch, *args)
    assert code == 0 and "1 API token(s) revoked" in out
    assert api.get("/api/me", headers=_bearer(token)).status_code == 401
    last = events(rt)[-1].after
    assert last["action"] == "password_set" and last["tokens_revoked"] == 1
    assert "new-pass-word" not in repr([e.after for e in events(rt)])


def test_deactivation_ends_sessions_and_tokens(rt, db_url, capsys, monkeypatch):
    app = make_app(rt, n=1)
    browser = login(app, "officer")
    api = TestClient(app)
    token = _issue(capsys, monkeypatch, db_url, "officer")
    code, out, _ = run(capsys, monkeypatch, "--db", db_url, "user", "deactivate", "officer")
    assert code == 0 and "1 session(s) ended, 1 API token(s) revoked" in out
    assert browser.get("/", follow_redirects=False).status_code == 303  # back to /login
    assert api.get("/api/me", headers=_bearer(token)).status_code == 401
    fresh = TestClient(app)
    assert fresh.get("/login").status_code == 200
    code, _, err = run(capsys, monkeypatch, "--db", db_url, "user", "token", "officer")
    assert code == 2 and "inactive" in err

    code, _, _ = run(capsys, monkeypatch, "--db", db_url, "user", "reactivate", "officer")
    assert code == 0
    assert api.get("/api/me", headers=_bearer(token)).status_code == 401  # stays revoked
    login(app, "officer", PASSWORD)
    actions = [e.after["action"] for e in events(rt) if e.kind == "user_action"]
    assert "user_deactivate" in actions and actions[-2:] == ["user_reactivate", "login"]
