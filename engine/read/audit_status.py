"""The audit trail's verification as the console's badge and the API show it.

Nothing here changes data: it runs :func:`~promoflow.engine.audit.verify.verify_chain`
and reduces its report to plain fields.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from promoflow.engine.audit.verify import verify_chain


def verify_status(session: Session) -> dict[str, Any]:
    """Whether the hash chain holds, how many events (and signed heads) were checked, and
    the first problem found, if any."""
    report = verify_chain(session)
    finding = report.finding
    return {
        "ok": report.ok,
        "events": report.events,
        "signed": report.signed,
        "problem": None if finding is None else finding.problem,
        "message": None if finding is None else finding.message,
        "seq": None if finding is None else finding.seq,
    }
