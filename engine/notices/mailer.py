"""Delivering the outbox over SMTP: at least once, and never again once ``sent``.

Each notice is sent and then marked ``sent`` in its own short transaction. A crash between
the SMTP server accepting a message and the commit can send that one message twice (the
at-least-once half); the ``Message-ID`` is derived from the idempotency key so a mail
system can drop the duplicate. A notice already marked ``sent`` is never selected again.
"""

from __future__ import annotations

import hashlib
import smtplib
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from promoflow.engine.audit.trail import record
from promoflow.engine.storage.models import Notice
from promoflow.settings import SmtpSettings

#: a notice that failed this many times stays ``failed`` until HR looks
MAX_ATTEMPTS = 5


@dataclass
class DeliveryReport:
    """What one delivery run did."""

    sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def message_id(key: str) -> str:
    """A stable Message-ID per notice, so a resend is recognisably the same message."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@promoflow>"


def build_message(notice: Notice, sender: str) -> EmailMessage:
    """The e-mail for one outbox row."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = notice.recipient
    msg["Subject"] = notice.subject
    msg["Message-ID"] = message_id(notice.idempotency_key)
    msg["Date"] = format_datetime(notice.created_at)
    msg["X-Promoflow-Key"] = notice.idempotency_key
    msg.set_content(notice.body)
    return msg


def _due(session: Session, limit: int | None) -> list[int]:
    query = (
        select(Notice.id)
        .where(Notice.state.in_(("pending", "failed")), Notice.attempts < MAX_ATTEMPTS)
        .order_by(Notice.id)
    )
    if limit:
        query = query.limit(limit)
    return list(session.scalars(query))


def deliver(
    sessions: sessionmaker[Session],
    smtp: SmtpSettings,
    now: datetime,
    actor: str,
    limit: int | None = None,
) -> DeliveryReport:
    """Send every pending (or earlier failed) notice; commit each one's state as it goes."""
    report = DeliveryReport()
    with sessions() as session:
        ids = _due(session, limit)
    if not ids:
        return report
    client = smtplib.SMTP(smtp.host, smtp.port, timeout=30)
    try:
        if smtp.starttls:
            client.starttls()
        if smtp.user:
            client.login(smtp.user, smtp.password or "")
        for notice_id in ids:
            _deliver_one(sessions, client, smtp, notice_id, now, actor, report)
    finally:
        try:
            client.quit()
        except smtplib.SMTPException:
            client.close()
    return report


def _deliver_one(sessions, client, smtp, notice_id, now, actor, report) -> None:
    with sessions() as session, session.begin():
        notice = session.get(Notice, notice_id)
        if notice is None or notice.state == "sent":
            return
        before_state = notice.state
        try:
            client.send_message(build_message(notice, smtp.sender))
        except (smtplib.SMTPException, OSError) as exc:
            notice.state = "failed"
            notice.attempts += 1
            notice.last_error = str(exc)[:2000]
            report.failed[notice.idempotency_key] = str(exc)
            return
        session.execute(
            update(Notice)
            .where(Notice.id == notice_id, Notice.state != "sent")
            .values(state="sent", sent_at=now, attempts=Notice.attempts + 1, last_error=None)
        )
        record(
            session,
            "notice",
            actor,
            now,
            subject=notice.idempotency_key,
            employee_id=notice.employee_id,
            cycle_id=notice.cycle_id,
            case_id=notice.case_id,
            before={"state": before_state},
            after={"state": "sent", "recipient": notice.recipient},
        )
        report.sent.append(notice.idempotency_key)
