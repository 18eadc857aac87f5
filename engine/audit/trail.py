"""Writing the audit trail: append-only events, each hashing the one before.

Every service records what it changed with :func:`record` (or :func:`record_many` for
bulk work such as 100k decisions) inside the same transaction as the change itself, so a
change and its audit event land together or not at all.

The chain is extended under a lock, so two writers can never both continue from the same
tail: on PostgreSQL a transaction-scoped advisory lock, on SQLite the database write lock
(taken by a no-op write before the tail is read). Both are held until the transaction
ends, so appends of concurrent transactions are serialised in commit order. The head of
the chain (last sequence number and hash, HMAC-signed when an audit key is configured) is
kept in ``audit_head`` and moved in the same transaction, so events cut off the tail are
caught by :func:`promoflow.engine.audit.verify.verify_chain`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import Enum
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Text, cast, column, select, table
from sqlalchemy.orm import Session

from promoflow import settings
from promoflow.engine.storage.bulk import bind_value, insert_tuples
from promoflow.engine.storage.db import driver_cursor, is_sqlite
from promoflow.engine.storage.json_text import ReprFloat, plain_sorted_text, sorted_text
from promoflow.engine.storage.models.audit import AuditEvent, AuditHead
from promoflow.errors import AuthenticationRequired, ConfigError, IntegrityError_
from promoflow.settings import Settings

GENESIS = "0" * 64
#: advisory-lock id that guards the chain on PostgreSQL ("promo" in ASCII)
CHAIN_LOCK_ID = 0x70726F6D6F
HEAD_ID = 1

_EVENTS = AuditEvent.__table__
_HEAD = AuditHead.__table__


@dataclass
class Event:
    """An audit event before it is chained: what happened, to whom, and why."""

    kind: str
    actor: str
    at: datetime
    subject: str | None = None
    employee_id: str | None = None
    cycle_id: str | None = None
    case_id: int | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_NATIVE = (str, int, bool, type(None))


def _jsonable(value: Any) -> Any:
    """A JSON value that reads back equal to itself, so the stored event re-hashes the same."""
    if isinstance(value, _NATIVE):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if type(value) is dict or isinstance(value, Mapping):  # dict first: ABC checks are slow
        return {str(k): v if isinstance(v, _NATIVE) else _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return ReprFloat(value) if math.isfinite(value) else str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} in an audit event: use aware datetimes")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, Enum):
        return _jsonable(value.value)
    if isinstance(value, (set, frozenset)):
        return sorted((_jsonable(v) for v in value), key=str)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


#: JSON string quoting as the encoder does it (ensure_ascii=False), for scalar fields
_QUOTE = json.encoder.encode_basestring
_COLUMNS = (
    "seq", "at", "actor", "kind", "subject", "employee_id", "cycle_id", "case_id",
    "before", "after", "reason", "prev_hash", "hash", "via",
)  # fmt: skip
#: how an actor was identified (``audit_events.via``): asserted on the command line
#: (``--actor`` or its default), a bearer token (API, or the CLI's ``--token``), a
#: browser session, the password of a sign-in, or the product itself (the scheduler)
VIAS = ("cli-asserted", "token", "session", "password", "system")
#: ``session.info`` keys: how the unit of work's actor was identified, and whether it may
#: write at all (a CLI without a token where ``PROMOFLOW_CLI_REQUIRE_TOKEN`` is set)
VIA_KEY = "via"
READ_ONLY_KEY = "read_only"


#: the audit table without column types: bulk writes and verification skip per-row
#: type processing and see exactly the JSON text stored (what the hash covers)
_RAW = table("audit_events", *(column(name) for name in _COLUMNS))


def _full_text(value: Any) -> str | None:
    """:func:`json_text` of any payload: made a JSON value first (:func:`_jsonable`)."""
    return json_text(_jsonable(_object(value)))


def _plain_text(value: Any) -> str | None:
    """:func:`json_text` of a payload declared plain (see :func:`encode_event`); one
    holding anything else (a decimal, a time, a subclass, an int beyond 64 bits, a bare
    value) takes the full walk after all."""
    if value is None:
        return None
    if type(value) is dict:
        try:
            return plain_sorted_text(value)
        except TypeError:
            pass
    return _full_text(value)


def json_text(value: Any) -> str | None:
    """The stored JSON text of a ``before``/``after`` value (None stays SQL NULL)."""
    return None if value is None else sorted_text(value)


def canonical_text(
    seq: int,
    at: str,
    actor: str,
    kind: str,
    subject: str | None,
    employee_id: str | None,
    cycle_id: str | None,
    case_id: int | None,
    before: str | None,
    after: str | None,
    reason: str | None,
    prev_hash: str,
    quote: Callable[[str | None], str] | None = None,
    via: str | None = None,
) -> str:
    """What an event's hash covers: its fields as one sorted, compact JSON object.

    ``at`` is the UTC ISO time; ``before``/``after`` the stored JSON text. Assembled from
    parts so a bulk write encodes each payload once, for the hash and the row alike;
    ``quote`` (by default ``_str``; a bulk append passes a memory of it) writes each
    text as a JSON string. ``via`` is part of the object only when set: events written
    before it existed hash exactly as they always did.
    """
    s, n = quote or _str, _int
    tail = "}" if via is None else f',"via":{s(via)}}}'
    return (
        f'{{"actor":{s(actor)},"after":{after or "null"},"at":{s(at)},'
        f'"before":{before or "null"},"case_id":{n(case_id)},"cycle_id":{s(cycle_id)},'
        f'"employee_id":{s(employee_id)},"kind":{s(kind)},"prev_hash":{s(prev_hash)},'
        f'"reason":{s(reason)},"seq":{n(seq)},"subject":{s(subject)}{tail}'
    )


def _str(value: str | None) -> str:
    return "null" if value is None else _QUOTE(value)


class _Quoted(dict):
    """``_str`` of each text asked for, short ones remembered (within one bulk append):
    kinds, actors, times, cycles, rules and triggers repeat; reasons and hashes do not."""

    def __missing__(self, value: str | None) -> str:
        quoted = _str(value)
        if value is None or len(value) < 64:
            self[value] = quoted
        return quoted


def _int(value: int | None) -> str:
    return "null" if value is None else str(int(value))


def utc_iso(value: datetime | str) -> str:
    """An event time as hashed: UTC ISO 8601 (accepts SQLite's stored text too)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def canonical(row: Mapping[str, Any]) -> bytes:
    """The bytes an event's hash covers, from a row whose ``before``/``after`` are values."""
    return canonical_text(
        row["seq"],
        utc_iso(row["at"]),
        row["actor"],
        row["kind"],
        row["subject"],
        row["employee_id"],
        row["cycle_id"],
        row["case_id"],
        json_text(_jsonable(row["before"])),
        json_text(_jsonable(row["after"])),
        row["reason"],
        row["prev_hash"],
        via=row.get("via"),
    ).encode()


def event_hash(row: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical form of one event."""
    return hashlib.sha256(canonical(row)).hexdigest()


def stored_hash(row: Mapping[str, Any]) -> str:
    """SHA-256 of a row read through :func:`stored_events` (JSON still as stored text)."""
    text_ = canonical_text(
        row["seq"],
        utc_iso(row["at"]),
        row["actor"],
        row["kind"],
        row["subject"],
        row["employee_id"],
        row["cycle_id"],
        row["case_id"],
        row["before"],
        row["after"],
        row["reason"],
        row["prev_hash"],
        via=row.get("via"),
    )
    return hashlib.sha256(text_.encode()).hexdigest()


def stored_events(session: Session, batch: int = 5000):
    """Every stored event in sequence order, as raw rows (JSON as text), streamed."""
    cols = [c for c in _RAW.c if c.name not in ("before", "after")]
    stmt = select(
        *cols, cast(_RAW.c.before, Text).label("before"), cast(_RAW.c.after, Text).label("after")
    ).order_by(_RAW.c.seq)
    for row in session.execute(stmt.execution_options(yield_per=batch)):
        yield row._mapping


def audit_key(config: Settings | None = None) -> bytes | None:
    """The key that signs the head: ``PROMOFLOW_AUDIT_KEY``, else the file in
    ``PROMOFLOW_AUDIT_KEY_FILE``; None when neither is set (head kept unsigned).
    ``config`` defaults to the settings as the environment says now."""
    config = config or settings.current()
    if config.audit_key:
        return config.audit_key.encode()
    path = config.audit_key_file
    if path:
        try:
            data = Path(path).read_bytes().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the audit key file {path!r}: {exc}") from exc
        if not data:
            raise ConfigError(f"the audit key file {path!r} is empty")
        return data
    return None


def head_mac(seq: int, head_hash: str, key: bytes | None) -> str | None:
    """HMAC-SHA256 of the head under ``key`` (None without a key)."""
    if key is None:
        return None
    return hmac.new(key, f"{seq}:{head_hash}".encode(), hashlib.sha256).hexdigest()


def _sql(statement: str, sqlite: bool) -> str:
    return statement.replace("%s", "?") if sqlite else statement


def lock_chain(session: Session) -> None:
    """Take the chain's lock for the rest of this transaction (see the module docstring)."""
    with driver_cursor(session) as cursor:
        if is_sqlite(session):
            # a write as the transaction's first statement waits (busy timeout) for the lock
            cursor.execute("UPDATE audit_head SET seq = seq WHERE id = ?", (HEAD_ID,))
        else:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (CHAIN_LOCK_ID,))


def chain_head(session: Session) -> tuple[int, str, bool]:
    """(last seq, last hash, head row exists) as recorded in ``audit_head``."""
    sqlite = is_sqlite(session)
    with driver_cursor(session) as cursor:
        cursor.execute(_sql("SELECT seq, hash FROM audit_head WHERE id = %s", sqlite), (HEAD_ID,))
        head = cursor.fetchone()
        if head is None:
            cursor.execute("SELECT seq FROM audit_events LIMIT 1")
            orphans = cursor.fetchone() is not None
    if head is not None:
        return int(head[0]), head[1], True
    if orphans:
        raise IntegrityError_(
            "the audit head is missing although events exist: the trail was tampered with; "
            "run `promoflow audit verify`"
        )
    return 0, GENESIS, False


def _move_head(session: Session, seq: int, head_hash: str, at: datetime, exists: bool) -> None:
    sqlite = is_sqlite(session)
    stored = bind_value(_HEAD, "updated_at", at, session.get_bind().dialect)
    mac = head_mac(seq, head_hash, audit_key())
    if exists:
        statement = "UPDATE audit_head SET seq = %s, hash = %s, mac = %s, updated_at = %s "
        statement += "WHERE id = %s"
    else:
        statement = "INSERT INTO audit_head (seq, hash, mac, updated_at, id) "
        statement += "VALUES (%s, %s, %s, %s, %s)"
    with driver_cursor(session) as cursor:
        cursor.execute(_sql(statement, sqlite), (seq, head_hash, mac, stored, HEAD_ID))


def _object(value: Any) -> Any:
    """``before``/``after`` are JSON objects: a bare value is wrapped as ``{"value": …}``
    (SQLite would store a bare number with numeric affinity and not read back its text)."""
    if value is None or type(value) is dict or isinstance(value, Mapping):
        return value
    return {"value": value}


def _check(event: Event) -> None:
    """Refuse an event no one could read back: no kind, no actor, or a naive time."""
    _check_head(event.kind, event.actor, event.at)
    event.subject, event.employee_id, event.cycle_id, event.case_id, event.reason = _tidy(
        event.subject, event.employee_id, event.cycle_id, event.case_id, event.reason
    )


def _check_head(kind: str, actor: str, at: datetime) -> None:
    if not isinstance(kind, str) or not kind or len(kind) > 64:
        raise ValueError(f"audit event kind must be a short non-empty string, not {kind!r}")
    if not isinstance(actor, str) or not actor.strip() or len(actor) > 100:
        raise ValueError(f"audit event actor must be a non-empty name, not {actor!r}")
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise ValueError(f"audit event time must be an aware datetime, not {at!r}")


def _tidy(subject, employee_id, cycle_id, case_id, reason) -> tuple:
    """The varying fields as stored: texts as ``str``, a subject cut to its column, ids
    checked against theirs."""
    if subject is not None:
        if not isinstance(subject, str):
            subject = str(subject)
        if len(subject) > 200:
            subject = subject[:199] + "…"  # a label; the full story is in after/reason
    if employee_id is not None and not isinstance(employee_id, str):
        employee_id = str(employee_id)
    if cycle_id is not None and not isinstance(cycle_id, str):
        cycle_id = str(cycle_id)
    if reason is not None and not isinstance(reason, str):
        reason = str(reason)
    if case_id is not None:
        case_id = int(case_id)
    for name, value in (("employee_id", employee_id), ("cycle_id", cycle_id)):
        if value is not None and len(value) > 64:
            raise ValueError(f"audit event {name} {value[:70]!r}… is longer than 64 characters")
    return subject, employee_id, cycle_id, case_id, reason


class Encoded(NamedTuple):
    """An event checked and encoded, ready to chain (see :func:`encode_event`).

    Bulk work builds these in worker processes; what travels back is the plain tuple of
    these fields in this order (NamedTuples pickle several times slower: see
    :mod:`promoflow.engine.parallel`), which :func:`append_encoded` reads by unpacking.
    """

    kind: str
    actor: str
    at: datetime
    subject: str | None
    employee_id: str | None
    cycle_id: str | None
    case_id: int | None
    #: the stored (and hashed) JSON text of the payloads
    before: str | None
    after: str | None
    reason: str | None


#: builds an :class:`Encoded` from the tuple of its fields in order, for the hot paths
#: (285k events at a 100k open): ``Encoded(…)`` goes through a Python ``__new__`` and
#: cost 0.38 µs more than building the tuple, this 0.14 µs more (timeit)
_encoded = partial(tuple.__new__, Encoded)


def for_case(event: Encoded | tuple, case_id: int | None) -> Encoded:
    """The same event (or the plain tuple of its fields) about ``case_id``, known only
    once the case is written. By unpacking: ``_make`` then ``_replace`` cost five times
    as much (timeit), 47k times in the writing process of a 100k open."""
    kind, actor, at, subject, employee_id, cycle_id, _unknown, before, after, reason = event
    fields = (kind, actor, at, subject, employee_id, cycle_id, case_id, before, after, reason)
    return _encoded(fields)


def encode_event(event: Event, *, plain: bool = False) -> Encoded:
    """Check an event and encode its payloads once, as they will be stored and hashed.

    Pure (no session): bulk work encodes in worker processes and chains here in order.
    ``plain``: the caller built ``before``/``after`` dicts from texts, ints, booleans and
    None (lists and str-keyed dicts of them) — never floats, which orjson would write in
    its own shortest form rather than as ``repr`` — so the walk that turns decimals,
    times and the like into JSON values is skipped: at 100k decisions it was over half
    of encoding.
    """
    _check(event)
    after = {**(event.after or {}), **event.extra} if event.extra else event.after
    payload_text = _plain_text if plain else _full_text
    return _encoded(
        (
            event.kind,
            event.actor,
            event.at,
            event.subject,
            event.employee_id,
            event.cycle_id,
            event.case_id,
            payload_text(event.before),
            payload_text(after),
            event.reason,
        )
    )


class EventEncoder:
    """:func:`encode_event` for many plain events of one kind, actor, time and cycle (a
    milestone's decisions): those are checked once, and no :class:`Event` is built per
    event — at 100k decisions the objects and the repeated checks were measurable."""

    __slots__ = ("actor", "at", "cycle_id", "kind")

    def __init__(self, kind: str, actor: str, at: datetime, cycle_id: str | None) -> None:
        _check_head(kind, actor, at)
        self.cycle_id = _tidy(None, None, cycle_id, None, None)[2]
        self.kind, self.actor, self.at = kind, actor, at

    def __call__(
        self,
        subject: str | None,
        employee_id: str | None,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        reason: str | None = None,
        case_id: int | None = None,
    ) -> Encoded:
        """One event encoded, exactly as ``encode_event(Event(...), plain=True)``."""
        subject, employee_id, _cycle, case_id, reason = _tidy(
            subject, employee_id, None, case_id, reason
        )
        return _encoded((
            self.kind, self.actor, self.at, subject, employee_id, self.cycle_id, case_id,
            _plain_text(before), _plain_text(after), reason,
        ))  # fmt: skip


def record_many(session: Session, events: Iterable[Event], *, plain: bool = False) -> int:
    """Append events to the chain in one bulk statement; returns how many were written.

    Runs inside the caller's transaction (the caller commits); the chain stays locked
    until that transaction ends. ``plain``: see :func:`encode_event`.
    """
    return append_encoded(session, [encode_event(event, plain=plain) for event in events])


def append_encoded(session: Session, encoded: Sequence[Encoded | tuple]) -> int:
    """Chain events already encoded by :func:`encode_event`, in the order given: each an
    :class:`Encoded`, or the plain tuple of its fields that came back from a worker."""
    if not encoded:
        return 0
    via = _via(session)
    lock_chain(session)
    seq, prev, has_head = chain_head(session)
    dialect = session.get_bind().dialect
    rows = []
    times: dict[datetime, tuple[str, datetime | str]] = {}  # bulk events share a few times
    sha256 = hashlib.sha256
    quote = _Quoted().__getitem__  # kinds, actors, cycles, rules, triggers: quoted once
    for kind, actor, at, subject, employee_id, cycle_id, case_id, before, after, reason in encoded:
        seq += 1
        if at not in times:
            times[at] = (at.astimezone(UTC).isoformat(), bind_value(_EVENTS, "at", at, dialect))
        at_iso, at_stored = times[at]
        link = prev
        prev = sha256(
            canonical_text(
                seq, at_iso, actor, kind, subject, employee_id, cycle_id, case_id,
                before, after, reason, link, quote, via,
            ).encode()
        ).hexdigest()  # fmt: skip
        rows.append(
            (
                seq, at_stored, actor, kind, subject, employee_id, cycle_id, case_id,
                before, after, reason, link, prev, via,
            )
        )  # fmt: skip
    # bound already (payloads are the JSON text hashed; ``at`` bound above): to the driver
    insert_tuples(session, _EVENTS, _COLUMNS, rows)
    _move_head(session, seq, prev, Encoded._make(encoded[-1]).at, has_head)
    return len(rows)


def _via(session: Session) -> str:
    """How this unit of work's actor was identified (``session.info``, set by the entry
    point); refuses to write for a command that was let through only to read."""
    if session.info.get(READ_ONLY_KEY):
        raise AuthenticationRequired(
            "this command changes data: give --token (or PROMOFLOW_TOKEN); "
            "PROMOFLOW_CLI_REQUIRE_TOKEN is set"
        )
    via = session.info.get(VIA_KEY) or "system"
    if via not in VIAS:
        raise ValueError(f"unknown audit 'via' {via!r}: one of {', '.join(VIAS)}")
    return via


def record(session: Session, kind: str, actor: str, at: datetime, **fields: Any) -> int:
    """Append one event (see :class:`Event` for the fields); returns its sequence number."""
    record_many(session, [Event(kind=kind, actor=actor, at=at, **fields)])
    return chain_head(session)[0]
