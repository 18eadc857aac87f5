"""Who is asking: browser sessions, API tokens, CSRF tokens and the login rate limit.

Pages authenticate by the ``pf_session`` cookie (HttpOnly, SameSite=Lax; its value is a
random id whose digest is stored, so logging out or changing the password ends it at
once). Every state-changing form carries the session's CSRF token. The API accepts only
``Authorization: Bearer <token>``; anything else is 401.
"""

from __future__ import annotations

import secrets
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from fastapi import Depends, HTTPException, Request

from promoflow.console.web.i18n import pick
from promoflow.console.web.permissions import allowed
from promoflow.engine.bootstrap import Session
from promoflow.engine.users import accounts as users

SESSION_COOKIE = "pf_session"
LANG_COOKIE = "pf_lang"
PRE_CSRF_COOKIE = "pf_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass
class Principal:
    """The signed-in user of one request, with roles and the CSRF token of the session."""

    username: str
    display_name: str
    roles: frozenset[str]
    language: str
    csrf: str | None = None

    def can(self, permission: str) -> bool:
        """Whether this user's roles grant ``permission``."""
        return allowed(self.roles, permission)


class LoginRequired(Exception):
    """Raised by page dependencies when no one is signed in (becomes a redirect to /login)."""


class Forbidden(Exception):
    """Raised when the signed-in user's roles do not allow the page or action."""


class CsrfFailed(Exception):
    """Raised when a form's CSRF token is missing or wrong."""


@dataclass
class LoginLimiter:
    """At most ``max_failures`` failed sign-ins per username and per client in ``window`` s."""

    max_failures: int = 5
    window: float = 300.0
    _failures: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))

    def _recent(self, key: str, now: float) -> deque:
        entries = self._failures[key]
        while entries and entries[0] <= now - self.window:
            entries.popleft()
        return entries

    def blocked(self, username: str, client: str) -> bool:
        """Whether another attempt for this name or from this client must wait."""
        now = time.monotonic()
        return any(
            len(self._recent(key, now)) >= self.max_failures
            for key in (f"u:{username}", f"c:{client}")
        )

    def failed(self, username: str, client: str) -> None:
        """Count one failed attempt."""
        now = time.monotonic()
        for key in (f"u:{username}", f"c:{client}"):
            self._recent(key, now).append(now)

    def succeeded(self, username: str) -> None:
        """A good sign-in clears that username's failures."""
        self._failures.pop(f"u:{username}", None)


def unit_of_work(request: Request) -> Iterator[Session]:
    """The request's unit of work (:meth:`~promoflow.engine.bootstrap.Runtime.unit_of_work`).

    Committed when the handler returns, before the response is sent (``scope="function"``
    below), so a redirect never reaches the browser ahead of its data; rolled back when
    the handler raises. The handler and its sign-in dependency share it.
    """
    with request.app.state.runtime.unit_of_work() as session:
        yield session


#: a handler's session: ``session: Session = DB``
DB = Depends(unit_of_work, scope="function")


def _principal(session: Session, user: users.User, csrf: str | None) -> Principal:
    return Principal(
        username=user.username,
        display_name=user.display_name,
        roles=frozenset(users.roles_of(session, user.username)),
        language=user.language,
        csrf=csrf,
    )


def optional_user(request: Request, session: Session = DB) -> Principal | None:
    """The signed-in user, or None."""
    sid = request.cookies.get(SESSION_COOKIE)
    if not sid:
        return None
    found = users.session_user(session, sid, request.app.state.runtime.now())
    if found is None:
        return None
    user, csrf = found
    return _principal(session, user, csrf)


def page_user(principal: Principal | None = Depends(optional_user)) -> Principal:
    """The signed-in user of a page; redirects to the login page when there is none."""
    if principal is None:
        raise LoginRequired()
    return principal


def require(permission: str):
    """A page dependency: the signed-in user, who must hold ``permission``."""

    def dependency(principal: Principal = Depends(page_user)) -> Principal:
        if not principal.can(permission):
            raise Forbidden(permission)
        return principal

    return dependency


async def check_csrf(request: Request, principal: Principal = Depends(page_user)) -> Principal:
    """For state-changing pages: the form's (or htmx header's) token must match the session's."""
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        form = await request.form()
        sent = form.get(CSRF_FIELD)
    if not sent or not principal.csrf or not secrets.compare_digest(str(sent), principal.csrf):
        raise CsrfFailed()
    return principal


def act(permission: str):
    """A POST-page dependency: signed in, CSRF token valid, and ``permission`` held."""

    def dependency(principal: Principal = Depends(check_csrf)) -> Principal:
        if not principal.can(permission):
            raise Forbidden(permission)
        return principal

    return dependency


def api_user(request: Request) -> Principal:
    """The API caller named by a bearer token; 401 when absent or not valid.

    The token's ``last_used_at`` is its own unit of work: kept even when the call fails.
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "authentication required", {"WWW-Authenticate": "Bearer"})
    runtime = request.app.state.runtime
    with runtime.unit_of_work() as session:
        user = users.user_for_token(session, token.strip(), runtime.now())
        if user is None:
            raise HTTPException(401, "invalid or revoked token", {"WWW-Authenticate": "Bearer"})
        return _principal(session, user, None)


def api_require(permission: str):
    """An API dependency: a valid token whose owner holds ``permission`` (else 403)."""

    def dependency(principal: Principal = Depends(api_user)) -> Principal:
        if not principal.can(permission):
            raise HTTPException(403, f"your roles do not allow {permission!r}")
        return principal

    return dependency


def language_of(request: Request, principal: Principal | None) -> str:
    """The UI language of this request."""
    return pick(
        principal.language if principal else None,
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )
