"""Console users: accounts, roles, passwords, API tokens and login sessions.

One service for the CLI (``promoflow user …``), the web console and the API. Other
services ask :func:`roles_of` before letting someone act (the four-eyes override rule
needs it). Every change is written to the audit trail as a ``user_action`` event; no
password or token ever reaches the trail.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from promoflow.engine.audit.trail import VIA_KEY, record
from promoflow.engine.storage.models.users import ApiToken, LoginSession, User, UserRole
from promoflow.errors import InputError, NotFoundError
from promoflow.limits import DISPLAY_NAME, TOKEN_NAME, bounded_text

ROLES = ("viewer", "hr_officer", "hr_manager", "auditor", "admin")
LANGUAGES = ("zh", "en")
MIN_PASSWORD = 8
#: the longest username (the column's width); the sign-in form refuses longer ones unread
MAX_USERNAME = 100
#: the longest password accepted (argon2 hashes any length: a bound keeps a sign-in cheap)
MAX_PASSWORD = 1024
SESSION_LIFETIME = timedelta(hours=12)
#: days a token lives when its issuer does not say (``PROMOFLOW_TOKEN_DAYS`` overrides it)
TOKEN_DAYS = 90
#: the longest a token may be issued for (ten years)
MAX_TOKEN_DAYS = 3650
#: ``promoflow user token revoke …`` is the revoking form: no user may be called this
RESERVED_NAMES = ("revoke",)

_hasher = PasswordHasher()
#: verified against when a username is unknown, so a wrong name costs as long as a wrong password
_DUMMY_HASH = _hasher.hash("promoflow-dummy-password")


def digest(secret: str) -> str:
    """SHA-256 hex of a random secret (token or session id): what the database keeps."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_roles(roles: set[str] | list[str] | tuple[str, ...]) -> set[str]:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise InputError(f"unknown role(s) {', '.join(unknown)}: use {', '.join(ROLES)}")
    return set(roles)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"password too short: at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InputError(f"password too long: at most {MAX_PASSWORD} characters")


def get_user(session: Session, username: str) -> User:
    """The user called ``username``; NotFoundError if there is none."""
    user = session.get(User, username)
    if user is None:
        raise NotFoundError(f"no user {username!r}")
    return user


def roles_of(session: Session, username: str) -> set[str]:
    """The roles an active user holds (empty for unknown or deactivated users)."""
    user = session.get(User, username)
    if user is None or not user.active:
        return set()
    return set(session.scalars(select(UserRole.role).where(UserRole.username == username)))


def may_change_grades(session: Session, username: str) -> bool:
    """Whether ``username`` may change a grade alone through an employees file: an
    ``hr_manager``, or the HR system's feed — a name that is no stored user, acting from a
    shell (``via`` cli-asserted or system; docs/security.md says what that trusts)."""
    if "hr_manager" in roles_of(session, username):
        return True
    via = session.info.get(VIA_KEY) or "system"
    return via in ("cli-asserted", "system") and session.get(User, username) is None


def list_users(session: Session) -> list[dict]:
    """Every user with roles, for the admin page and ``promoflow user list``."""
    roles: dict[str, set[str]] = {}
    for name, role in session.execute(select(UserRole.username, UserRole.role)):
        roles.setdefault(name, set()).add(role)
    return [
        {
            "username": u.username,
            "display_name": u.display_name,
            "language": u.language,
            "active": u.active,
            "roles": sorted(roles.get(u.username, set())),
        }
        for u in session.scalars(select(User).order_by(User.username))
    ]


def add_user(
    session: Session,
    username: str,
    password: str,
    roles: set[str] | list[str] | tuple[str, ...],
    now: datetime,
    actor: str,
    display_name: str | None = None,
    language: str = "zh",
) -> User:
    """Create a user with a hashed password and roles; the caller commits."""
    username = username.strip()
    if not username or len(username) > MAX_USERNAME or any(c.isspace() for c in username):
        raise InputError(f"username must be 1–{MAX_USERNAME} characters without spaces")
    if username in RESERVED_NAMES:
        raise InputError(f"{username!r} is reserved by the command line: choose another name")
    if session.get(User, username) is not None:
        raise InputError(f"user {username!r} already exists")
    if language not in LANGUAGES:
        raise InputError(f"language must be one of {', '.join(LANGUAGES)}")
    bounded_text(display_name, "display name", DISPLAY_NAME)
    wanted = _check_roles(roles)
    _check_password(password)
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=_hasher.hash(password),
        language=language,
        active=True,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.add_all(UserRole(username=username, role=r) for r in sorted(wanted))
    session.flush()
    record(
        session,
        "user_action",
        actor,
        now,
        subject=f"user:{username}",
        after={"action": "user_add", "username": username, "roles": sorted(wanted)},
    )
    return user


def has_users(session: Session) -> bool:
    """Whether any account exists (a database being set up has none)."""
    return session.scalar(select(User.username).limit(1)) is not None


def set_password(
    session: Session,
    username: str,
    password: str,
    now: datetime,
    actor: str,
    keep_tokens: bool = False,
) -> int:
    """Replace a user's password, end every login session of theirs and, unless
    ``keep_tokens``, revoke their live API tokens; returns how many were revoked."""
    user = get_user(session, username)
    _check_password(password)
    user.password_hash = _hasher.hash(password)
    user.updated_at = now
    sessions = _end_sessions(session, username)
    revoked = 0 if keep_tokens else len(_revoke_all(session, username, now))
    record(
        session,
        "user_action",
        actor,
        now,
        subject=f"user:{username}",
        after={
            "action": "password_set",
            "username": username,
            "sessions_ended": sessions,
            "tokens_revoked": revoked,
            "keep_tokens": keep_tokens,
        },
    )
    return revoked


def _end_sessions(session: Session, username: str) -> int:
    result = session.execute(delete(LoginSession).where(LoginSession.username == username))
    return result.rowcount or 0


def _revoke_all(session: Session, username: str, now: datetime) -> list[ApiToken]:
    live = list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.username == username, ApiToken.revoked.is_(False))
            .order_by(ApiToken.id)
        )
    )
    for row in live:
        row.revoked, row.revoked_at = True, now
    return live


def set_active(session: Session, username: str, active: bool, now: datetime, actor: str) -> dict:
    """Deactivate a user (sign-in refused, login sessions ended, API tokens revoked) or
    reactivate one (signing in works again; revoked tokens stay revoked: issue new ones).
    Returns what was ended. Refused when the user already is in that state."""
    user = get_user(session, username)
    if user.active == active:
        state = "active" if active else "inactive"
        raise InputError(f"user {username!r} is already {state}")
    user.active = active
    user.updated_at = now
    ended = {"sessions_ended": 0, "tokens_revoked": 0}
    if not active:
        ended["sessions_ended"] = _end_sessions(session, username)
        ended["tokens_revoked"] = len(_revoke_all(session, username, now))
    record(
        session,
        "user_action",
        actor,
        now,
        subject=f"user:{username}",
        before={"active": not active},
        after={
            "action": "user_reactivate" if active else "user_deactivate",
            "username": username,
            **ended,
        },
    )
    return ended


def set_roles(
    session: Session,
    username: str,
    roles: set[str] | list[str] | tuple[str, ...],
    now: datetime,
    actor: str,
) -> set[str]:
    """Replace a user's roles with exactly ``roles``; returns them."""
    user = get_user(session, username)
    wanted = _check_roles(roles)
    before = roles_of(session, username)
    session.execute(delete(UserRole).where(UserRole.username == username))
    session.add_all(UserRole(username=username, role=r) for r in sorted(wanted))
    user.updated_at = now
    session.flush()
    record(
        session,
        "user_action",
        actor,
        now,
        subject=f"user:{username}",
        before={"roles": sorted(before)},
        after={"action": "roles_set", "username": username, "roles": sorted(wanted)},
    )
    return wanted


def set_language(session: Session, username: str, language: str, now: datetime) -> None:
    """Remember a user's UI language (a preference, not an audited change)."""
    if language not in LANGUAGES:
        raise InputError(f"language must be one of {', '.join(LANGUAGES)}")
    user = get_user(session, username)
    user.language = language
    user.updated_at = now


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user whose password matches, else None (same cost either way)."""
    user = session.get(User, username)
    if user is None or not user.active:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return user


def create_token(
    session: Session,
    username: str,
    name: str,
    now: datetime,
    actor: str,
    days: int = TOKEN_DAYS,
) -> str:
    """Issue an API token for ``username`` valid ``days`` days; the plain token is
    returned once, never stored (only its digest)."""
    user = get_user(session, username)
    if not user.active:
        raise InputError(f"user {username!r} is inactive: reactivate them first")
    if not name.strip():
        raise InputError("a token needs a name: say what it is for")
    bounded_text(name, "token name", TOKEN_NAME)
    if not isinstance(days, int) or not 1 <= days <= MAX_TOKEN_DAYS:
        raise InputError(f"a token lives 1–{MAX_TOKEN_DAYS} days, not {days!r}")
    token = "pf_" + secrets.token_urlsafe(32)
    expires = now + timedelta(days=days)
    row = ApiToken(
        username=username,
        name=name,
        digest=digest(token),
        created_at=now,
        expires_at=expires,
        revoked=False,
    )
    session.add(row)
    session.flush()
    record(
        session,
        "user_action",
        actor,
        now,
        subject=f"user:{username}",
        after={
            "action": "token_create",
            "username": username,
            "token_id": row.id,
            "token_name": name,
            "expires_at": expires,
        },
    )
    return token


def token_expiry(row: ApiToken, default_days: int = TOKEN_DAYS) -> datetime:
    """When a token stops working (one from before expiry existed: ``default_days`` after
    it was issued)."""
    return row.expires_at or row.created_at + timedelta(days=default_days)


def user_for_token(
    session: Session, token: str, now: datetime, default_days: int = TOKEN_DAYS
) -> User | None:
    """The active owner of a live API token (not revoked, not expired), or None."""
    row = session.scalar(select(ApiToken).where(ApiToken.digest == digest(token)))
    if row is None or row.revoked or token_expiry(row, default_days) <= now:
        return None
    user = session.get(User, row.username)
    if user is None or not user.active:
        return None
    row.last_used_at = now
    return user


def list_tokens(session: Session, username: str, default_days: int = TOKEN_DAYS) -> list[dict]:
    """A user's tokens, oldest first: id, name, created, expires, last use, revoked."""
    get_user(session, username)
    rows = session.scalars(
        select(ApiToken).where(ApiToken.username == username).order_by(ApiToken.id)
    )
    return [
        {
            "id": row.id,
            "name": row.name,
            "created_at": row.created_at,
            "expires_at": token_expiry(row, default_days),
            "last_used_at": row.last_used_at,
            "revoked": row.revoked,
            "revoked_at": row.revoked_at,
        }
        for row in rows
    ]


def revoke_tokens(
    session: Session,
    target: str,
    now: datetime,
    actor: str,
    username: str | None = None,
) -> list[int]:
    """Revoke a token by its id (all digits), or every live token called ``target`` of
    ``username`` (a name needs the user: names repeat). Returns the ids revoked; a target
    that matches no live token is refused."""
    query = select(ApiToken).where(ApiToken.revoked.is_(False))
    if target.isdigit():
        query = query.where(ApiToken.id == int(target))
        if username is not None:
            query = query.where(ApiToken.username == username)
        what = f"token #{target}"
    else:
        if username is None:
            raise InputError(f"token names repeat: say whose token {target!r} is (--user NAME)")
        get_user(session, username)
        query = query.where(ApiToken.username == username, ApiToken.name == target)
        what = f"token {target!r} of {username}"
    rows = list(session.scalars(query.order_by(ApiToken.id)))
    if not rows:
        raise NotFoundError(f"no live {what} (unknown, or revoked already)")
    for row in rows:
        row.revoked, row.revoked_at = True, now
        record(
            session,
            "user_action",
            actor,
            now,
            subject=f"user:{row.username}",
            after={
                "action": "token_revoke",
                "username": row.username,
                "token_id": row.id,
                "token_name": row.name,
            },
        )
    return [row.id for row in rows]


def start_session(session: Session, username: str, now: datetime) -> tuple[str, str]:
    """Open a login session: returns (cookie value, CSRF token) for the browser."""
    sid = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            digest=digest(sid),
            username=username,
            csrf=csrf,
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    return sid, csrf


def session_user(session: Session, sid: str, now: datetime) -> tuple[User, str] | None:
    """The user and CSRF token of a live login session, or None if unknown or expired."""
    row = session.get(LoginSession, digest(sid))
    if row is None or row.expires_at <= now:
        return None
    user = session.get(User, row.username)
    if user is None or not user.active:
        return None
    return user, row.csrf


def end_session(session: Session, sid: str) -> None:
    """Log a browser out (its cookie stops working at once)."""
    session.execute(delete(LoginSession).where(LoginSession.digest == digest(sid)))
