"""Users, roles, passwords and tokens: the service behind ``promoflow user`` and the console."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from promoflow.console.cli import app
from promoflow.engine.storage.models import AuditEvent, User
from promoflow.engine.users import accounts as users
from promoflow.errors import InputError, NotFoundError
from tests.functional.web_seed import use_cheap_hashing

NOW = datetime(2026, 10, 8, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _cheap_hashing():
    use_cheap_hashing()


def test_a_user_authenticates_with_the_right_password_only(session):
    users.add_user(session, "ann", "correct horse", {"hr_officer"}, NOW, "admin")
    session.commit()
    assert users.authenticate(session, "ann", "correct horse").username == "ann"
    assert users.authenticate(session, "ann", "wrong password") is None
    assert users.authenticate(session, "nobody", "correct horse") is None


def test_the_password_is_stored_as_an_argon2_hash(session):
    users.add_user(session, "ann", "correct horse", {"viewer"}, NOW, "admin")
    stored = session.get(User, "ann").password_hash
    assert stored.startswith("$argon2")
    assert "correct horse" not in stored


def test_roles_of_returns_exactly_the_roles_set(session):
    users.add_user(session, "bob", "password1", ["viewer", "auditor"], NOW, "admin")
    assert users.roles_of(session, "bob") == {"viewer", "auditor"}
    users.set_roles(session, "bob", {"hr_manager"}, NOW, "admin")
    assert users.roles_of(session, "bob") == {"hr_manager"}
    assert users.roles_of(session, "nobody") == set()


def test_a_deactivated_user_has_no_roles_and_cannot_log_in(session):
    users.add_user(session, "bob", "password1", ["viewer"], NOW, "admin")
    session.get(User, "bob").active = False
    assert users.roles_of(session, "bob") == set()
    assert users.authenticate(session, "bob", "password1") is None


def test_unknown_roles_short_passwords_and_duplicates_are_refused(session):
    with pytest.raises(InputError, match="unknown role"):
        users.add_user(session, "x", "password1", {"boss"}, NOW, "admin")
    with pytest.raises(InputError, match="too short"):
        users.add_user(session, "x", "short", {"viewer"}, NOW, "admin")
    users.add_user(session, "x", "password1", {"viewer"}, NOW, "admin")
    with pytest.raises(InputError, match="already exists"):
        users.add_user(session, "x", "password2", {"viewer"}, NOW, "admin")
    with pytest.raises(NotFoundError, match="no user 'nobody'"):
        users.set_roles(session, "nobody", {"viewer"}, NOW, "admin")


def test_changing_a_password_ends_login_sessions(session):
    users.add_user(session, "ann", "password1", {"viewer"}, NOW, "admin")
    sid, _ = users.start_session(session, "ann", NOW)
    assert users.session_user(session, sid, NOW)[0].username == "ann"
    users.set_password(session, "ann", "password2", NOW, "admin")
    assert users.session_user(session, sid, NOW) is None
    assert users.authenticate(session, "ann", "password2") is not None


def test_a_login_session_expires(session):
    users.add_user(session, "ann", "password1", {"viewer"}, NOW, "admin")
    sid, csrf = users.start_session(session, "ann", NOW)
    assert users.session_user(session, sid, NOW + timedelta(hours=1))[1] == csrf
    assert users.session_user(session, sid, NOW + users.SESSION_LIFETIME) is None


def test_an_api_token_identifies_its_owner_and_is_stored_only_as_a_digest(session):
    users.add_user(session, "bot", "password1", {"viewer"}, NOW, "admin")
    token = users.create_token(session, "bot", "ci", NOW, "admin")
    assert users.user_for_token(session, token, NOW).username == "bot"
    assert users.user_for_token(session, token + "x", NOW) is None
    rows = session.scalars(select(AuditEvent.after)).all()
    assert all(token not in str(r) for r in rows)


def test_every_user_change_lands_in_the_audit_trail_without_secrets(session):
    users.add_user(session, "ann", "password1", {"viewer"}, NOW, "root")
    users.set_roles(session, "ann", {"auditor"}, NOW, "root")
    users.set_password(session, "ann", "password2", NOW, "root")
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [e.after["action"] for e in events] == ["user_add", "roles_set", "password_set"]
    assert all(e.kind == "user_action" and e.actor == "root" for e in events)
    assert all("password1" not in str(e.after) and "password2" not in str(e.after) for e in events)


def test_the_user_commands_add_change_roles_and_password(db_url):
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["--db", db_url, "user", "add", "carol", "--role", "hr_officer", "--role", "viewer"],
        input="secret-pass\nsecret-pass\n",
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["--db", db_url, "user", "roles", "carol", "hr_manager"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["--db", db_url, "user", "passwd", "carol"], input="other-pass\nother-pass\n"
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["--db", db_url, "user", "list"])
    assert "carol" in result.output and "hr_manager" in result.output
    from promoflow.engine.bootstrap import bootstrap

    rt = bootstrap(db_url)
    with rt.sessions() as s:
        assert users.roles_of(s, "carol") == {"hr_manager"}
        assert users.authenticate(s, "carol", "other-pass") is not None
    rt.engine.dispose()


def test_the_user_command_refuses_an_unknown_role_with_status_2(db_url):
    result = CliRunner().invoke(
        app,
        ["--db", db_url, "user", "add", "dan", "--role", "boss", "--password", "secret-pass"],
    )
    assert isinstance(result.exception, InputError)
    assert result.exception.exit_code == 2
