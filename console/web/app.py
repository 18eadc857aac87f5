"""The console's FastAPI application: pages under ``/``, the JSON API under ``/api``.

:func:`create_app` takes a bootstrapped :class:`~promoflow.engine.bootstrap.Runtime`, so
the CLI (``promoflow serve``), tests and any ASGI host build the same app. Every asset is
served by the app: our CSS from ``static/``, htmx and Swagger UI from the Python packages
that ship them (installed with promoflow; no CDN).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import HTTPException as FastAPIHTTPException
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from swagger_ui_bundle import swagger_ui_path

from promoflow.console.web import api
from promoflow.console.web.auth import (
    CsrfFailed,
    Forbidden,
    LoginLimiter,
    LoginRequired,
    optional_user,
)
from promoflow.console.web.body_limit import SmallBodies
from promoflow.console.web.pages import audit, auth, cycles, dashboard, overrides, packs, results
from promoflow.console.web.render import build_environment, render
from promoflow.engine.bootstrap import Runtime
from promoflow.errors import NotFoundError

STATIC = Path(__file__).parent / "static"

#: scripts and styles only from our own files (no inline script, style or handler: htmx is
#: told not to inject its indicator style, Swagger UI starts from a static file), nothing
#: from another site, no framing; images may be data: URIs (Swagger UI's icons)
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

#: sent with every response (pages, API, assets)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"package {name!r} is not installed (pip install -e .)")
    return Path(next(iter(spec.submodule_search_locations)))


def htmx_path() -> Path:
    """htmx.min.js as shipped by the installed ``django-js-lib-htmx`` package."""
    return _package_dir("js_lib_htmx") / "static" / "htmx" / "htmx.min.js"


def swagger_dir() -> Path:
    """The Swagger UI distribution shipped by the installed ``swagger-ui-bundle`` package."""
    return Path(str(swagger_ui_path))


def _error_page(request: Request, status: int, message_key: str) -> Response:
    with request.app.state.runtime.unit_of_work() as session:
        try:
            principal = optional_user(request, session)
        except Exception:  # a broken session cookie must not hide the real error
            principal = None
    return render(request, "error.html", principal, status_code=status, message_key=message_key)


def create_app(runtime: Runtime, login_limiter: LoginLimiter | None = None) -> FastAPI:
    """The console and API for one database; ``login_limiter`` overrides the default limit."""
    app = FastAPI(title="promoflow console", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.runtime = runtime
    app.state.templates = build_environment()
    app.state.login_limiter = LoginLimiter() if login_limiter is None else login_limiter
    # the forms anyone may post before signing in are small: a larger body is refused unread
    app.add_middleware(SmallBodies)

    htmx = htmx_path()

    @app.get("/static/vendor/htmx.min.js", include_in_schema=False)
    def htmx_js() -> FileResponse:
        return FileResponse(htmx, media_type="text/javascript")

    app.mount("/static/vendor/swagger-ui", StaticFiles(directory=swagger_dir()), name="swagger")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    for module in (auth, dashboard, cycles, overrides, audit, packs, results):
        app.include_router(module.router)
    app.mount("/api", api.create_api(runtime))

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> Response:
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, _exc: Forbidden) -> Response:
        return _error_page(request, 403, "error.forbidden")

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, _exc: CsrfFailed) -> Response:
        return _error_page(request, 403, "error.csrf")

    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, _exc: NotFoundError) -> Response:
        return _error_page(request, 404, "error.not_found")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: FastAPIHTTPException) -> Response:
        if exc.status_code == 404:
            return _error_page(request, 404, "error.not_found")
        return Response(str(exc.detail), status_code=exc.status_code)

    @app.middleware("http")
    async def _security_headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static/"):
            # pages, exports and API answers carry personal data: never kept by a browser
            # or a proxy (our own CSS, htmx and Swagger UI may be cached)
            response.headers["Cache-Control"] = "no-store"
        return response

    return app
