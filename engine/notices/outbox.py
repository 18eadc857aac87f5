"""Notices: rendered from Jinja2 templates and queued in the outbox, exactly once per key.

A notice is queued in the same transaction as the case move that causes it, so a rolled
back milestone leaves no notice behind and a re-run queues the same ones. The idempotency
key ``{cycle}:{employee}:{kind}`` makes queueing twice a no-op; delivery
(:mod:`promoflow.engine.notices.mailer`) then sends each at least once and never after ``sent``.
Chinese is the default language; ``PROMOFLOW_NOTICE_LANG=en`` switches to English.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

from jinja2 import Environment, FileSystemLoader, StrictUndefined, nodes, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from promoflow import settings
from promoflow.engine.audit.trail import Encoded, EventEncoder, append_encoded, for_case
from promoflow.engine.storage.bulk import binder, insert_rows, insert_tuples
from promoflow.engine.storage.db import driver_cursor
from promoflow.engine.storage.models import Notice
from promoflow.settings import Settings

TEMPLATES = Path(__file__).parent / "templates"
KINDS = (
    "test",
    "interview",
    "promotion",
    "demotion",
    "probation",
    "dismissal_review",
    "rating",
    "hr_grade",
    "retained",
    "dismissed",
)
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


def default_lang(config: Settings | None = None) -> str:
    """The notice language: ``PROMOFLOW_NOTICE_LANG`` (zh or en), Chinese by default;
    ``config`` defaults to the settings as the environment says now."""
    return (config or settings.current()).notice_lang


def recipient_for(employee_id: str, email: str | None = None, domain: str | None = None) -> str:
    """The employee's address, else ``ID@PROMOFLOW_MAIL_DOMAIN`` (employees.csv has no email)."""
    if email:
        return email
    return f"{employee_id}@{domain or default_domain()}"


def render(kind: str, lang: str, params: dict[str, Any]) -> tuple[str, str]:
    """The subject and body of one notice; a missing field fails loudly (StrictUndefined)."""
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    plain = _plain_blocks(kind, lang)
    if plain is not None and plain[0] <= params.keys():
        subject, body = (
            "".join([text if name is None else str(params[name]) for text, name in parts])
            for parts in plain[1:]
        )
    else:
        template, base, keys = _template(kind, lang)
        # what ``template.new_context(params)`` builds, without walking the template's
        # globals (a ChainMap) twice for every notice: the same names resolve the same way
        context = template.environment.context_class(
            template.environment, {**base, **params}, template.name, template.blocks
        )
        context.globals_keys = keys
        subject = "".join(template.blocks["subject"](context))
        body = "".join(template.blocks["body"](context))
    return subject.strip(), body.strip() + "\n"


@cache
def _template(kind: str, lang: str):
    """A notice template, its globals as a plain dict and their names (never reloaded)."""
    template = _env().get_template(f"{kind}.{lang}.j2")
    return template, dict(template.globals), frozenset(template.globals)


@cache
def _plain_blocks(kind: str, lang: str):
    """(names used, subject parts, body parts) when both blocks only print variables.

    Such a block renders as its text with ``str(value)`` in place of each ``{{ name }}``
    (no autoescape, no finalize), which is what Jinja's compiled block does; joining the
    parts directly skips building a template context per notice. A part is ``(text,
    None)`` or ``(None, name)``. None when a template has anything more (a loop, a filter,
    inheritance): those render through Jinja.
    """
    env = _env()
    name = f"{kind}.{lang}.j2"
    if env.finalize is not None or env.autoescape is True:
        return None
    if callable(env.autoescape) and env.autoescape(name):
        return None
    source = env.loader.get_source(env, name)[0]
    tree = env.parse(source, name)
    if tree.find(nodes.Extends) is not None:
        return None
    blocks: dict[str, tuple] = {}
    for block in tree.find_all(nodes.Block):
        parts: list[tuple[str | None, str | None]] = []
        for node in block.body:
            if not isinstance(node, nodes.Output):
                return None
            for child in node.nodes:
                if isinstance(child, nodes.TemplateData):
                    parts.append((child.data, None))
                elif isinstance(child, nodes.Name) and child.ctx == "load":
                    parts.append((None, child.name))
                else:
                    return None
        blocks[block.name] = tuple(parts)
    if set(blocks) != {"subject", "body"}:
        return None
    names = frozenset(n for parts in blocks.values() for _, n in parts if n is not None)
    return names, blocks["subject"], blocks["body"]


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


def _queued(session: Session, keys: list[str]) -> set[str]:
    """Which of ``keys`` are in the outbox already (read at driver level: 100k keys)."""
    dialect = session.get_bind().dialect
    existing: set[str] = set()
    if dialect.name not in ("sqlite", "postgresql"):
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            existing.update(
                session.scalars(
                    select(Notice.idempotency_key).where(Notice.idempotency_key.in_(chunk))
                )
            )
        return existing
    table = dialect.identifier_preparer.format_table(Notice.__table__)
    with driver_cursor(session) as cursor:
        if dialect.name == "postgresql":
            cursor.execute(
                f"SELECT idempotency_key FROM {table} WHERE idempotency_key = ANY(%s)", (keys,)
            )
            existing.update(key for (key,) in cursor.fetchall())
            return existing
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            cursor.execute(
                f"SELECT idempotency_key FROM {table} WHERE idempotency_key IN ({marks})", chunk
            )
            existing.update(key for (key,) in cursor.fetchall())
    return existing


class PreparedNotice(NamedTuple):
    """A notice rendered by :func:`prepare`, ready for :func:`queue_prepared`."""

    #: its idempotency key (:func:`idempotency_key`)
    key: str
    #: the outbox row: a dict, or the tuple :func:`row_binder` bound (in :data:`ROW_KEYS` order)
    row: dict[str, Any] | tuple
    #: its ``notice`` audit event (a plain tuple of the fields after a worker sent it back)
    event: Encoded | tuple

    def plain(self) -> tuple:
        """The notice as plain tuples, to travel back from a worker process (NamedTuples
        pickle several times slower: :mod:`promoflow.engine.parallel`); :func:`with_case`
        makes it whole again."""
        return (self.key, self.row, tuple(self.event))


def prepare(
    n: Outgoing,
    lang: str,
    now: datetime,
    actor: str,
    encode: EventEncoder | None = None,
    domain: str | None = None,
) -> PreparedNotice:
    """One notice rendered: its idempotency key, outbox row and audit event encoded.

    Pure (no session), so large milestones render in worker processes; :func:`queue_prepared`
    writes the result. A case id unknown yet (None) can be filled in later with
    :func:`with_case`. ``encode`` (an :class:`~promoflow.engine.audit.trail.EventEncoder` of
    ``notice`` events by ``actor`` at ``now`` in the notice's cycle) is shared by a
    milestone's many notices; without it one is made for this notice. ``domain`` is
    ``PROMOFLOW_MAIL_DOMAIN`` read once by the caller (else read for this notice).
    """
    key = idempotency_key(n.cycle_id, n.employee_id, n.kind)
    params = {
        k: str(v) if v is not None and not isinstance(v, list) else v for k, v in n.params.items()
    }
    subject, body = render(n.kind, lang, params)
    recipient = recipient_for(n.employee_id, n.email, domain)
    row = {
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
    after = {"notice": n.kind, "state": "pending", "recipient": recipient}
    if encode is None:
        encode = EventEncoder("notice", actor, now, n.cycle_id)
    elif (encode.kind, encode.actor, encode.at, encode.cycle_id) != (
        "notice", actor, now, n.cycle_id,
    ):  # fmt: skip
        raise ValueError("a notice's event encoder is for another cycle, actor or time")
    return PreparedNotice(key, row, encode(key, n.employee_id, None, after, None, n.case_id))


#: the outbox columns :func:`prepare` fills, in the order of a bound row (:func:`row_binder`)
ROW_KEYS = (
    "idempotency_key", "cycle_id", "employee_id", "case_id", "kind", "lang", "recipient",
    "subject", "body", "params", "state", "attempts", "created_at",
)  # fmt: skip
_CASE_AT = ROW_KEYS.index("case_id")


def row_binder(dialect) -> Callable[[dict], tuple]:
    """Turns the row of a prepared notice into the tuple the driver receives, bound as
    SQLAlchemy would bind it. Pure, for worker processes: a tuple travels back cheaper
    than a dict of 13 keys, and is written with no per-row work in the writing process."""
    bind = binder(Notice.__table__, ROW_KEYS, dialect)
    get = itemgetter(*ROW_KEYS)
    return lambda row: bind(get(row))


def with_case(prepared: PreparedNotice | tuple, case_id: int | None) -> PreparedNotice:
    """A prepared notice (or its :meth:`~PreparedNotice.plain` form; row as a dict, or
    bound) whose case id became known after it was rendered."""
    key, row, event = prepared
    if isinstance(row, tuple):
        row = (*row[:_CASE_AT], case_id, *row[_CASE_AT + 1 :])
    else:
        row = {**row, "case_id": case_id}
    return PreparedNotice(key, row, for_case(event, case_id))


def default_domain(config: Settings | None = None) -> str:
    """The domain of ``ID@domain`` addresses: ``PROMOFLOW_MAIL_DOMAIN``, else localhost;
    ``config`` defaults to the settings as the environment says now."""
    return (config or settings.current()).mail_domain


def queue(session: Session, notices: list[Outgoing], now: datetime, actor: str) -> int:
    """Render and insert the notices not queued before; returns how many were new."""
    if not notices:
        return 0
    config = settings.current()
    lang, domain = default_lang(config), default_domain(config)
    keys = [idempotency_key(n.cycle_id, n.employee_id, n.kind) for n in notices]
    existing = _queued(session, keys)
    prepared = []
    for key, n in zip(keys, notices, strict=True):
        if key not in existing:
            existing.add(key)
            prepared.append(prepare(n, lang, now, actor, domain=domain))
    return _insert(session, prepared)


def queue_prepared(session: Session, prepared: list[PreparedNotice]) -> int:
    """Insert notices rendered by :func:`prepare` (rows as dicts, or bound by
    :func:`row_binder`), except those queued before."""
    if not prepared:
        return 0
    existing = _queued(session, [item.key for item in prepared])
    fresh = []
    for item in prepared:
        if item.key not in existing:
            existing.add(item.key)
            fresh.append(item)
    return _insert(session, fresh)


def _insert(session: Session, prepared: list[PreparedNotice]) -> int:
    if prepared:
        rows = [item.row for item in prepared]
        if isinstance(rows[0], tuple):  # bound by row_binder
            insert_tuples(session, Notice.__table__, ROW_KEYS, rows)
        else:
            insert_rows(session, Notice.__table__, rows)
        append_encoded(session, [item.event for item in prepared])
    return len(prepared)
