"""Running ``promoflow`` in this process as a person would: exit status, stdout, stderr."""

from __future__ import annotations

import sys

from sqlalchemy import select

from promoflow.console.cli import main
from promoflow.engine.storage.models import AuditEvent


def run(capsys, monkeypatch, *args: str) -> tuple[int, str, str]:
    """``promoflow ARGS…`` through its entry point (errors printed, exit status kept)."""
    monkeypatch.setattr(sys, "argv", ["promoflow", *args])
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code or 0
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def events(rt) -> list[AuditEvent]:
    """Every audit event, in order."""
    with rt.unit_of_work() as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
