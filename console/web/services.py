"""The other engineers' services as the console calls them, looked up when first used.

The console never re-implements a service: it calls the same functions as the CLI. A
service whose module is not installed yet raises :class:`ServiceUnavailable`, which the
pages show as a notice (and the API as 503) instead of failing at import.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any


class ServiceUnavailable(Exception):
    """The service module or function the console needs is not there."""


#: where each service the console names lives since the engine became feature packages
MODULES = {
    "cycles": "cycles.service",
    "steps": "cycles.steps",
    "imports": "imports",
    "whatif": "cycles.whatif",
    "overrides": "overrides.service",
    "audit_verify": "audit.verify",
}


def service(module: str, name: str) -> Any:
    """``promoflow.engine.<module>.<name>``, or ServiceUnavailable."""
    try:
        found = getattr(import_module(f"promoflow.engine.{MODULES[module]}"), name)
    except (ImportError, AttributeError) as exc:
        raise ServiceUnavailable(f"promoflow.engine.{module}.{name}") from exc
    return found


def verify_status(session) -> dict[str, Any]:
    """The audit trail's verification, for the visible badge on the audit page."""
    report = service("audit_verify", "verify_chain")(session)
    return {
        "ok": report.ok,
        "events": report.events,
        "signed": report.signed,
        "problem": None if report.finding is None else report.finding.problem,
        "message": None if report.finding is None else report.finding.message,
        "seq": None if report.finding is None else report.finding.seq,
    }
