"""``promoflow serve [--host --port]``: the web console and API, via uvicorn."""

from __future__ import annotations

import typer
import uvicorn

from promoflow.console.commands._context import console, runtime
from promoflow.console.web.app import create_app


def proxy_options(trusted_proxies: str | None) -> dict:
    """uvicorn's proxy settings: forwarded headers are read only from the proxies listed.

    uvicorn by default believes ``X-Forwarded-For`` from 127.0.0.1, so anyone on the
    machine (or a proxy that passes the header through) could pick the client address the
    login limiter counts by. Off unless ``--trusted-proxies`` names the proxies.
    """
    listed = [p.strip() for p in (trusted_proxies or "").split(",") if p.strip()]
    if not listed:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": listed}


def register(app: typer.Typer) -> None:
    """Add ``serve``."""

    @app.command("serve")
    def serve(
        ctx: typer.Context,
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
        port: int = typer.Option(8000, "--port", help="Port to listen on."),
        trusted_proxies: str | None = typer.Option(
            None,
            "--trusted-proxies",
            metavar="LIST",
            help="Comma-separated addresses (or networks) of reverse proxies whose "
            "X-Forwarded-For / X-Forwarded-Proto are believed; default: none, the peer's "
            "own address is the client.",
        ),
    ) -> None:
        """Run the HR console (pages at /, API at /api, API docs at /api/docs)."""
        rt = runtime(ctx)
        console.print(f"promoflow console on http://{host}:{port}/  (API docs: /api/docs)")
        uvicorn.run(
            create_app(rt), host=host, port=port, log_level="info", **proxy_options(trusted_proxies)
        )
