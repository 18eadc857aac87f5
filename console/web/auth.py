"""Who is asking: browser sessions, API tokens, CSRF tokens and the login rate limit.

Pages authenticate by the ``pf_session`` cookie (HttpOnly, SameSite=Lax; its value is a
random id whose digest is stored, so logging out or changing the password ends it at
once). Every state-changing form carries the session's CSRF token. The API accepts only
``Authorization: Bearer <token>``; anything else is 401.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request

from promoflow.console.web.i18n import pick
from promoflow.console.web.permissions import allowed
from promoflow.engine.audit.trail import VIA_KEY
from promoflow.engine.bootstrap import Session
from promoflow.engine.users import accounts as users

SESSION_COOKIE = "pf_session"
LANG_COOKIE = "pf_lang"
PRE_CSRF_COOKIE = "pf_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
DEVICE_COOKIE = "pf_device"
#: a device cookie longer than this is not even looked at (usernames are ≤ 100 characters)
DEVICE_COOKIE_MAX = 300


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


class LoginLimiter:
    """Backoff for failed sign-ins that an attacker cannot turn against the real user.

    After OWASP's *device cookie* design: a browser that signed in as a user gets a signed
    ``pf_device`` cookie bound to that username (:meth:`device_cookie`). Its failures are
    counted on that device alone, so it is never blocked by anyone else's. Failures from
    clients without a valid device cookie for the username (*untrusted*) are counted per
    (username, client address), per username over every untrusted client, and per client
    address over every username (password spraying); any of them over its limit answers
    429 for ``window`` seconds.

    Memory is bounded whatever is sent: a lookup creates nothing, keys are fixed-size
    digests, entries expire after ``window`` and the table holds at most ``max_entries``
    (the least recently failed are dropped first). The device secret lives in the process:
    a restart forgets the counters and makes every device untrusted again.
    """

    def __init__(
        self,
        max_failures: int = 5,
        window: float = 300.0,
        *,
        max_untrusted_per_user: int | None = None,
        max_per_client: int | None = None,
        max_entries: int = 20_000,
        secret: bytes | None = None,
        clock=time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.max_untrusted_per_user = max_untrusted_per_user or 4 * max_failures
        self.max_per_client = max_per_client or 10 * max_failures
        self.max_entries = max_entries
        self._secret = secret or secrets.token_bytes(32)
        self._clock = clock
        self._lock = threading.Lock()
        #: key digest → [failures, time of the first failure in the window]
        self._failures: OrderedDict[bytes, list] = OrderedDict()

    # -- device cookies -------------------------------------------------------------------

    def _sign(self, username: str, nonce: str) -> str:
        mac = hmac.new(self._secret, f"{username}\0{nonce}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()[:18]).decode()

    def device_cookie(self, username: str) -> str:
        """A new device cookie value for a browser that just signed in as ``username``."""
        nonce = secrets.token_urlsafe(12)
        name = base64.urlsafe_b64encode(username.encode()).decode().rstrip("=")
        return f"{name}.{nonce}.{self._sign(username, nonce)}"

    def trusted_device(self, cookie: str | None, username: str) -> str | None:
        """The device id of a valid device cookie for ``username``, else None."""
        if not cookie or len(cookie) > DEVICE_COOKIE_MAX:
            return None
        name, _, rest = cookie.partition(".")
        nonce, _, mac = rest.partition(".")
        expected = base64.urlsafe_b64encode(username.encode()).decode().rstrip("=")
        if not nonce or not hmac.compare_digest(name, expected):
            return None
        if not hmac.compare_digest(mac, self._sign(username, nonce)):
            return None
        return nonce

    # -- counters -------------------------------------------------------------------------

    def _keys(self, username: str, client: str, device: str | None) -> list[tuple[bytes, int]]:
        def key(*parts: str) -> bytes:
            return hashlib.blake2b("\0".join(parts).encode(), digest_size=16).digest()

        if device is not None:
            return [(key("d", username, device), self.max_failures)]
        return [
            (key("uc", username, client), self.max_failures),
            (key("u", username), self.max_untrusted_per_user),
            (key("c", client), self.max_per_client),
        ]

    def _live(self, key: bytes, now: float) -> list | None:
        entry = self._failures.get(key)
        if entry is not None and now - entry[1] >= self.window:
            del self._failures[key]
            return None
        return entry

    def blocked(self, username: str, client: str, device: str | None = None) -> bool:
        """Whether this attempt must wait (creates no entry)."""
        now = self._clock()
        with self._lock:
            for key, limit in self._keys(username, client, device):
                entry = self._live(key, now)
                if entry is not None and entry[0] >= limit:
                    return True
        return False

    def failed(self, username: str, client: str, device: str | None = None) -> None:
        """Count one failed attempt."""
        now = self._clock()
        with self._lock:
            for key, _limit in self._keys(username, client, device):
                entry = self._live(key, now)
                if entry is None:
                    self._failures[key] = [1, now]
                else:
                    entry[0] += 1
                    self._failures.move_to_end(key)
            self._prune(now)

    def succeeded(self, username: str, client: str, device: str | None = None) -> None:
        """A good sign-in clears the counter it was judged by (its device, or its
        username from its address); the per-username count of others' failures stays."""
        with self._lock:
            self._failures.pop(self._keys(username, client, device)[0][0], None)

    def _prune(self, now: float) -> None:
        failures = self._failures
        while len(failures) > self.max_entries:
            key, entry = next(iter(failures.items()))
            del failures[key]  # expired or not: the least recently failed goes first
        # drop what expired at the old end, a few per call (amortised)
        for _ in range(8):
            if not failures:
                break
            key, entry = next(iter(failures.items()))
            if now - entry[1] < self.window:
                break
            del failures[key]

    def __len__(self) -> int:
        return len(self._failures)


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
    session.info[VIA_KEY] = "session"  # what this request records, it records as signed in
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
        user = users.user_for_token(
            session, token.strip(), runtime.now(), runtime.settings.token_days
        )
        if user is None:
            raise HTTPException(
                401, "invalid, expired or revoked token", {"WWW-Authenticate": "Bearer"}
            )
        return _principal(session, user, None)


def api_require(permission: str):
    """An API dependency: a valid token whose owner holds ``permission`` (else 403)."""

    def dependency(principal: Principal = Depends(api_user), session: Session = DB) -> Principal:
        if not principal.can(permission):
            raise HTTPException(403, f"your roles do not allow {permission!r}")
        session.info[VIA_KEY] = "token"  # the handler's unit of work (the same, cached)
        return principal

    return dependency


def language_of(request: Request, principal: Principal | None) -> str:
    """The UI language of this request."""
    return pick(
        principal.language if principal else None,
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )
