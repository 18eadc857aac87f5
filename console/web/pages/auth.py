"""Signing in and out, and switching the UI language."""

from __future__ import annotations

import secrets
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from promoflow.console.web.auth import (
    DB,
    DEVICE_COOKIE,
    LANG_COOKIE,
    PRE_CSRF_COOKIE,
    SESSION_COOKIE,
    CsrfFailed,
    Principal,
    check_csrf,
    optional_user,
)
from promoflow.console.web.i18n import LANGUAGES
from promoflow.console.web.render import render
from promoflow.engine.audit.trail import VIA_KEY, record
from promoflow.engine.bootstrap import Session
from promoflow.engine.users import accounts as users

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after sign-in (no open redirect)."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _pre_csrf(request: Request) -> None:
    token = request.cookies.get(PRE_CSRF_COOKIE)
    if not token:
        token = secrets.token_urlsafe(32)
        request.state.pre_csrf_new = True
    request.state.pre_csrf = token


#: how long a browser stays a known device for its user (the server's secret may end it sooner)
DEVICE_COOKIE_DAYS = 90


def _refused(request: Request, next: str, status: int, error: str) -> Response:
    return render(request, "login.html", None, status_code=status, next=next, error=error)


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    """The sign-in form."""
    _pre_csrf(request)
    return render(request, "login.html", None, next=_safe_next(next), error=None)


@router.post("/login")
def login(
    request: Request,
    username: str = Form(...),
    password: str = Form(...),
    csrf_token: str = Form(""),
    next: str = Form("/"),
    session: Session = DB,
) -> Response:
    """Check the password (rate-limited), open a session, set the cookies.

    Fields longer than any account could have are refused before anything is looked up
    or counted; the limiter judges a browser with a valid device cookie for this username
    by its own failures only (see :class:`~promoflow.console.web.auth.LoginLimiter`).
    """
    cookie = request.cookies.get(PRE_CSRF_COOKIE)
    if not cookie or not secrets.compare_digest(cookie, csrf_token):
        raise CsrfFailed()
    _pre_csrf(request)
    if len(username) > users.MAX_USERNAME:
        return _refused(request, next, 401, "login.failed")
    limiter = request.app.state.login_limiter
    client = request.client.host if request.client else "?"
    device = limiter.trusted_device(request.cookies.get(DEVICE_COOKIE), username)
    if limiter.blocked(username, client, device):
        return _refused(request, next, 429, "login.limited")
    user = None
    if len(password) <= users.MAX_PASSWORD:
        user = users.authenticate(session, username, password)
    if user is None:
        limiter.failed(username, client, device)
        return _refused(request, next, 401, "login.failed")
    limiter.succeeded(username, client, device)
    now = request.app.state.runtime.now()
    sid, _csrf = users.start_session(session, user.username, now)
    session.info[VIA_KEY] = "password"
    record(
        session,
        "user_action",
        user.username,
        now,
        subject=f"user:{user.username}",
        after={"action": "login", "client": client},
    )
    response = RedirectResponse(_safe_next(next), status_code=303)
    secure = request.app.state.runtime.settings.cookie_secure
    response.set_cookie(
        SESSION_COOKIE,
        sid,
        httponly=True,
        samesite="lax",
        secure=secure,
        max_age=int(users.SESSION_LIFETIME.total_seconds()),
        path="/",
    )
    response.set_cookie(
        DEVICE_COOKIE,
        limiter.device_cookie(user.username),
        httponly=True,
        samesite="lax",
        secure=secure,
        max_age=DEVICE_COOKIE_DAYS * 86400,
        path="/login",
    )
    response.delete_cookie(PRE_CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(
    request: Request,
    principal: Principal = Depends(check_csrf),
    session: Session = DB,
) -> Response:
    """End the session (the cookie stops working at once)."""
    users.end_session(session, request.cookies.get(SESSION_COOKIE, ""))
    record(
        session,
        "user_action",
        principal.username,
        request.app.state.runtime.now(),
        subject=f"user:{principal.username}",
        after={"action": "logout"},
    )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/lang")
async def switch_language(
    request: Request,
    session: Session = DB,
    principal: Principal | None = Depends(optional_user),
) -> Response:
    """Switch the UI language: saved on the user when signed in, else in a cookie."""
    form = await request.form()
    language = str(form.get("lang", ""))
    if language not in LANGUAGES:
        language = "zh"
    if principal is not None:
        sent = request.headers.get("x-csrf-token") or form.get("csrf_token")
        if not sent or not secrets.compare_digest(str(sent), principal.csrf or ""):
            raise CsrfFailed()
        users.set_language(session, principal.username, language, request.app.state.runtime.now())
    response = RedirectResponse(_safe_next(str(form.get("next", "/"))), status_code=303)
    response.set_cookie(
        LANG_COOKIE,
        language,
        httponly=True,
        samesite="lax",
        secure=request.app.state.runtime.settings.cookie_secure,
        path="/",
    )
    return response
