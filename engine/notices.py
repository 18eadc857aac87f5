"""Notices: rendered from Jinja2 templates and queued in the outbox, exactly once per key.

A notice is queued in the same transaction as the case move that causes it, so a rolled
back milestone leaves no notice behind and a re-run queues the same ones. The idempotency
key ``{cycle}:{employee}:{kind}`` makes queueing twice a no-op; delivery
(:mod:`promoflow.engine.mailer`) then sends each at least once and never after ``sent``.
Chinese is the default language; ``PROMOFLOW_NOTICE_LANG=en`` switches to English.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from promoflow.engine.audit import Event, record_many
from promoflow.engine.cases import executemany
from promoflow.engine.models import Notice

TEMPLATES = Path(__file__).parent / "templates" / "notices"
KINDS = ("test", "interview", "promotion", "demotion", "probation", "dismissal_review", "rating")
LANGS = ("zh", "en")


@cache
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=select_autoescape(default=False),
        keep_trailing_newline=False,
        # package files, not edited while running: skip the per-notice stat of the file
        auto_reload=False,
    )


def default_lang() -> str:
    """The notice language: ``PROMOFLOW_NOTICE_LANG`` (zh or en), Chinese by default."""
    lang = os.environ.get("PROMOFLOW_NOTICE_LANG", "zh")
    return lang if lang in LANGS else "zh"


def recipient_for(employee_id: str, email: str | None = None) -> str:
    """The employee's address, else ``ID@PROMOFLOW_MAIL_DOMAIN`` (employees.csv has no email)."""
    if email:
        return email
    return f"{employee_id}@{os.environ.get('PROMOFLOW_MAIL_DOMAIN', 'localhost')}"


def render(kind: str, lang: str, params: dict[str, Any]) -> tuple[str, str]:
    """The subject and body of one notice; a missing field fails loudly (StrictUndefined)."""
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    template = _env().get_template(f"{kind}.{lang}.j2")
    context = template.new_context(params)
    subject = "".join(template.blocks["subject"](context)).strip()
    body = "".join(template.blocks["body"](context)).strip() + "\n"
    return subject, body


def idempotency_key(cycle_id: str, employee_id: str, kind: str) -> str:
    """One notice of each kind per employee per cycle, ever."""
    return f"{cycle_id}:{employee_id}:{kind}"


@dataclass
class Outgoing:
    """A notice to queue: who, which kind, and the values its template needs."""

    cycle_id: str
    employee_id: str
    case_id: int | None
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    email: str | None = None


def queue(session: Session, notices: list[Outgoing], now: datetime, actor: str) -> int:
    """Render and insert the notices not queued before; returns how many were new."""
    if not notices:
        return 0
    lang = default_lang()
    keys = [idempotency_key(n.cycle_id, n.employee_id, n.kind) for n in notices]
    existing: set[str] = set()
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        existing.update(
            session.scalars(select(Notice.idempotency_key).where(Notice.idempotency_key.in_(chunk)))
        )
    rows, events = [], []
    for key, n in zip(keys, notices, strict=True):
        if key in existing:
            continue
        existing.add(key)
        params = {
            k: str(v) if v is not None and not isinstance(v, list) else v
            for k, v in n.params.items()
        }
        subject, body = render(n.kind, lang, params)
        recipient = recipient_for(n.employee_id, n.email)
        rows.append(
            {
                "idempotency_key": key,
                "cycle_id": n.cycle_id,
                "employee_id": n.employee_id,
                "case_id": n.case_id,
                "kind": n.kind,
                "lang": lang,
                "recipient": recipient,
                "subject": subject,
                "body": body,
                "params": params,
                "state": "pending",
                "attempts": 0,
                "created_at": now,
            }
        )
        events.append(
            Event(
                kind="notice",
                actor=actor,
                at=now,
                subject=key,
                employee_id=n.employee_id,
                cycle_id=n.cycle_id,
                case_id=n.case_id,
                after={"notice": n.kind, "state": "pending", "recipient": recipient},
            )
        )
    if rows:
        executemany(session, insert(Notice.__table__), rows)
        record_many(session, events)
    return len(rows)
