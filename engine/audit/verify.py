"""Checking the audit trail: every event re-hashed, every link and the head compared.

The chain proves three things together. Each event's hash covers its contents and its
sequence number, so an edited or renumbered (reordered) event no longer matches its hash.
Each event stores the hash of the one before, so a deleted, inserted or replaced event
breaks a link. The head (``audit_head``, moved in the same transaction as every append and
HMAC-signed when an audit key is configured) records where the chain ends, so events cut
off the tail — or appended behind the writer's back — are caught too.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from promoflow.engine.audit.trail import (
    GENESIS,
    HEAD_ID,
    audit_key,
    head_mac,
    stored_events,
    stored_hash,
)
from promoflow.engine.storage.models.audit import AuditEvent, AuditHead

_EVENTS = AuditEvent.__table__
_HEAD = AuditHead.__table__
BATCH = 5000


@dataclass(frozen=True)
class Finding:
    """The first place the chain breaks: which event, what kind of break, in words."""

    seq: int
    problem: str  # edited | deleted | inserted | reordered | replaced | truncated | head
    message: str


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of a verification: how many events were checked and the first break."""

    events: int
    head_seq: int | None
    signed: bool
    finding: Finding | None

    @property
    def ok(self) -> bool:
        """Whether the whole trail verified."""
        return self.finding is None


def _seq_of_hash(session: Session, value: str) -> int | None:
    return session.scalar(select(_EVENTS.c.seq).where(_EVENTS.c.hash == value))


def _link_break(session: Session, row) -> Finding:
    """Why an event's own hash is fine or not while its link to the previous one is broken."""
    seq = row["seq"]
    if stored_hash(row) == row["hash"]:
        return Finding(
            seq - 1,
            "replaced",
            f"event #{seq - 1} was replaced or inserted: event #{seq} was chained to a "
            "different predecessor",
        )
    origin = _seq_of_hash(session, row["prev_hash"]) if row["prev_hash"] != GENESIS else 0
    if origin is not None and origin + 1 != seq:
        return Finding(
            seq,
            "reordered",
            f"event #{seq} is out of order: it was written right after event #{origin}, "
            f"not after event #{seq - 1}",
        )
    return Finding(
        seq, "edited", f"event #{seq} was altered: neither its contents nor its link match"
    )


def _walk(session: Session) -> tuple[int, int, str, Finding | None]:
    """Check every stored event in order: (count, last seq, last hash, first break)."""
    expected, prev, count = 1, GENESIS, 0
    for row in stored_events(session, BATCH):
        count += 1
        seq = row["seq"]
        if seq < expected:
            return (
                count,
                seq,
                prev,
                Finding(
                    seq, "inserted", f"event #{seq} lies before the start of the chain (inserted)"
                ),
            )
        if seq > expected:
            return (
                count,
                seq,
                prev,
                Finding(
                    expected,
                    "deleted",
                    f"event #{expected} is missing (deleted): the next stored event is #{seq}",
                ),
            )
        if row["prev_hash"] != prev:
            return count, seq, prev, _link_break(session, row)
        if stored_hash(row) != row["hash"]:
            return (
                count,
                seq,
                prev,
                Finding(
                    seq, "edited", f"event #{seq} was edited: its contents no longer match its hash"
                ),
            )
        prev = row["hash"]
        expected += 1
    return count, expected - 1, prev, None


def _check_head(session: Session, last_seq: int, last_hash: str, key: bytes | None):
    head = session.execute(select(_HEAD).where(_HEAD.c.id == HEAD_ID)).first()
    if head is None:
        if last_seq == 0:
            return None, None
        return None, Finding(1, "head", "the audit head is missing although events exist (deleted)")
    head = head._mapping
    if key is not None:
        expected = head_mac(head["seq"], head["hash"], key)
        if head["mac"] is None or not hmac.compare_digest(head["mac"], expected):
            return head["seq"], Finding(
                head["seq"],
                "head",
                "the audit head's signature does not verify under the audit key: "
                "the head was rewritten (or the key is wrong)",
            )
    if last_seq < head["seq"]:
        return head["seq"], Finding(
            last_seq + 1,
            "truncated",
            f"events #{last_seq + 1}…#{head['seq']} are missing (truncated): "
            f"the head records the chain ending at #{head['seq']}",
        )
    if last_seq > head["seq"]:
        return head["seq"], Finding(
            head["seq"] + 1,
            "inserted",
            f"event #{head['seq'] + 1} lies beyond the recorded end of the chain "
            f"(#{head['seq']}): inserted",
        )
    if head["hash"] != last_hash:
        return head["seq"], Finding(
            last_seq,
            "replaced",
            f"event #{last_seq} does not match the hash the head records: replaced",
        )
    return head["seq"], None


def verify_chain(session: Session, key: bytes | None = None) -> VerifyReport:
    """Verify the whole trail; ``key`` defaults to the configured audit key."""
    key = audit_key() if key is None else key
    count, last_seq, last_hash, finding = _walk(session)
    head_seq, head_finding = _check_head(session, last_seq, last_hash, key)
    if finding is None:
        finding = head_finding
    return VerifyReport(count, head_seq, key is not None, finding)
