"""``promoflow serve [--host --port]``: the web console and API, via uvicorn."""

from __future__ import annotations

import typer
import uvicorn

from promoflow.console.commands._context import console, runtime
from promoflow.console.web.app import create_app


def register(app: typer.Typer) -> None:
    """Add ``serve``."""

    @app.command("serve")
    def serve(
        ctx: typer.Context,
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
        port: int = typer.Option(8000, "--port", help="Port to listen on."),
    ) -> None:
        """Run the HR console (pages at /, API at /api, API docs at /api/docs)."""
        rt = runtime(ctx)
        console.print(f"promoflow console on http://{host}:{port}/  (API docs: /api/docs)")
        uvicorn.run(create_app(rt), host=host, port=port, log_level="info")
