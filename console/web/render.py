"""Rendering pages: one Jinja environment (autoescaping on), translated per request.

Every value reaches HTML through Jinja's escaping, so an employee named ``<script>`` is
printed as text. Only the SVG charts are marked safe, and they escape their own labels.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from promoflow.console.web.auth import PRE_CSRF_COOKIE, Principal, language_of
from promoflow.console.web.i18n import label, translator

TEMPLATES = Path(__file__).parent / "templates"


def _when(value: Any, tz=None) -> str:
    if isinstance(value, datetime):
        return (value.astimezone(tz) if tz else value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def _jsonish(value: Any) -> str:
    def default(o: Any) -> str:
        if isinstance(o, (Decimal, datetime, date)):
            return str(o)
        return repr(o)

    return json.dumps(value, ensure_ascii=False, default=default, sort_keys=True)


def build_environment() -> Environment:
    """The template environment (HTML and XML autoescaped)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml", "svg"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["jsonish"] = _jsonish
    return env


def query_with(request: Request, **changes: Any) -> str:
    """The current query string with some parameters replaced (for sort and page links)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return "?" + urlencode(params)


def render(
    request: Request,
    template: str,
    principal: Principal | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` in the request's language, with the user and CSRF token at hand."""
    env: Environment = request.app.state.templates
    language = language_of(request, principal)
    tz = request.app.state.runtime.tz
    csrf = principal.csrf if principal else getattr(request.state, "pre_csrf", None)
    html = env.get_template(template).render(
        request=request,
        user=principal,
        lang=language,
        t=translator(language),
        tr=lambda prefix, value: label(prefix, value, language),
        csrf=csrf,
        when=lambda v: _when(v, tz),
        query_with=lambda **kw: query_with(request, **kw),
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    if principal is None and getattr(request.state, "pre_csrf_new", False):
        response.set_cookie(
            PRE_CSRF_COOKIE,
            request.state.pre_csrf,
            httponly=True,
            samesite="lax",
            secure=request.app.state.runtime.settings.cookie_secure,
            path="/",
        )
    return response
