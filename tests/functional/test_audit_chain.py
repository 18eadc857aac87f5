"""The audit trail is a hash chain that `audit verify` checks end to end.

Tampering is done with raw SQL, as an intruder with database access would. On PostgreSQL
the append-only triggers refuse that SQL, so the tampering helper first switches triggers
off for its session (``session_replication_role = replica``, superuser only) to show that
verify catches even a superuser.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from promoflow.engine.audit.trail import GENESIS, Event, event_hash, record, record_many
from promoflow.engine.audit.verify import verify_chain
from promoflow.engine.storage.models import AuditEvent, AuditHead
from promoflow.errors import IntegrityError_

T0 = datetime(2026, 10, 8, 9, 0, tzinfo=UTC)


def write_events(rt, n: int, start: int = 0) -> None:
    with rt.sessions() as s, s.begin():
        record_many(
            s,
            [
                Event(
                    kind="decision",
                    actor="system",
                    at=T0 + timedelta(seconds=start + i),
                    employee_id=f"E{start + i:04d}",
                    cycle_id="sales-2026Q3",
                    after={"outcome": "promoted", "score": Decimal("86.50")},
                    reason=f"score 86.50 ≥ 80 ({start + i})",
                )
                for i in range(n)
            ],
        )


def tamper(rt, *statements: str) -> None:
    with rt.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for statement in statements:
            conn.exec_driver_sql(statement)


def verify(rt, key=None):
    with rt.sessions() as s:
        return verify_chain(s, key=key)


def test_an_untouched_trail_verifies(rt):
    write_events(rt, 5)
    write_events(rt, 3, start=5)
    report = verify(rt)
    assert report.ok
    assert report.events == 8
    assert report.head_seq == 8


def test_an_empty_trail_verifies(rt):
    report = verify(rt)
    assert report.ok and report.events == 0


def test_each_event_links_to_the_hash_of_the_one_before(rt):
    write_events(rt, 4)
    with rt.sessions() as s:
        rows = s.execute(select(AuditEvent.__table__).order_by(AuditEvent.seq)).all()
        head = s.get(AuditHead, 1)
    prev = GENESIS
    for row in rows:
        assert row.prev_hash == prev
        assert event_hash(row._mapping) == row.hash
        prev = row.hash
    assert (head.seq, head.hash) == (4, prev)


def test_decimals_and_times_survive_storage_exactly(rt):
    with rt.sessions() as s, s.begin():
        record(
            s,
            "metric_revision",
            "importer",
            T0,
            before={"value": Decimal("79.999")},
            after={"value": Decimal("80.000"), "when": T0},
        )
    with rt.sessions() as s:
        row = s.scalars(select(AuditEvent)).one()
    assert row.before == {"value": "79.999"}
    assert row.after == {"value": "80.000", "when": "2026-10-08T09:00:00+00:00"}
    assert verify(rt).ok


def test_an_edited_field_is_named_by_verify(rt):
    write_events(rt, 6)
    tamper(rt, "UPDATE audit_events SET reason = 'score 70' WHERE seq = 3")
    report = verify(rt)
    assert not report.ok
    assert (report.finding.seq, report.finding.problem) == (3, "edited")
    assert "#3" in report.finding.message


def test_an_edited_json_value_is_caught(rt):
    write_events(rt, 4)
    tamper(
        rt,
        """UPDATE audit_events SET "after" = '{"outcome": "demoted", "score": "86.50"}'
                  WHERE seq = 2""",
    )
    report = verify(rt)
    assert (report.finding.seq, report.finding.problem) == (2, "edited")


def test_a_deleted_event_is_named_by_verify(rt):
    write_events(rt, 6)
    tamper(rt, "DELETE FROM audit_events WHERE seq = 4")
    report = verify(rt)
    assert (report.finding.seq, report.finding.problem) == (4, "deleted")


def test_deleting_the_first_event_is_caught(rt):
    write_events(rt, 3)
    tamper(rt, "DELETE FROM audit_events WHERE seq = 1")
    assert (verify(rt).finding.seq, verify(rt).finding.problem) == (1, "deleted")


def test_an_inserted_event_with_renumbering_is_caught(rt):
    write_events(rt, 5)
    # make room at #3 by moving #3…#5 up one, then forge a well-formed #3 chained to #2
    tamper(
        rt,
        "UPDATE audit_events SET seq = seq + 100 WHERE seq >= 3",
        "UPDATE audit_events SET seq = seq - 99 WHERE seq >= 100",
    )
    with rt.sessions() as s:
        prev = s.scalar(select(AuditEvent.hash).where(AuditEvent.seq == 2))
    forged = {
        "seq": 3,
        "at": T0,
        "actor": "intruder",
        "kind": "override_approved",
        "subject": None,
        "employee_id": "E9999",
        "cycle_id": "sales-2026Q3",
        "case_id": None,
        "before": None,
        "after": None,
        "reason": "forged",
        "prev_hash": prev,
    }
    forged_hash = event_hash(forged)
    tamper(
        rt,
        "INSERT INTO audit_events (seq, at, actor, kind, employee_id, cycle_id, reason, "
        f"prev_hash, hash) VALUES (3, '{T0.replace(tzinfo=None)}', 'intruder', "
        f"'override_approved', 'E9999', 'sales-2026Q3', 'forged', '{prev}', '{forged_hash}')",
    )
    report = verify(rt)
    assert not report.ok
    assert report.finding.seq in (3, 4)
    assert report.finding.problem in ("inserted", "replaced", "reordered", "edited")


def test_a_replaced_event_that_is_self_consistent_is_caught_by_its_successor(rt):
    write_events(rt, 5)
    with rt.sessions() as s:
        prev = s.scalar(select(AuditEvent.hash).where(AuditEvent.seq == 2))
    forged = {
        "seq": 3,
        "at": T0,
        "actor": "intruder",
        "kind": "decision",
        "subject": None,
        "employee_id": "E0002",
        "cycle_id": "sales-2026Q3",
        "case_id": None,
        "before": None,
        "after": None,
        "reason": "forged",
        "prev_hash": prev,
    }
    tamper(
        rt,
        "DELETE FROM audit_events WHERE seq = 3",
        "INSERT INTO audit_events (seq, at, actor, kind, employee_id, cycle_id, reason, "
        f"prev_hash, hash) VALUES (3, '{T0.replace(tzinfo=None)}', 'intruder', 'decision', "
        f"'E0002', 'sales-2026Q3', 'forged', '{prev}', '{event_hash(forged)}')",
    )
    report = verify(rt)
    assert (report.finding.seq, report.finding.problem) == (3, "replaced")


def test_reordered_events_are_named_by_verify(rt):
    write_events(rt, 6)
    tamper(
        rt,
        "UPDATE audit_events SET seq = 1000 WHERE seq = 3",
        "UPDATE audit_events SET seq = 3 WHERE seq = 4",
        "UPDATE audit_events SET seq = 4 WHERE seq = 1000",
    )
    report = verify(rt)
    assert (report.finding.seq, report.finding.problem) == (3, "reordered")
    assert "after event #4" in report.finding.message


def test_a_truncated_tail_is_caught_by_the_head(rt):
    write_events(rt, 6)
    tamper(rt, "DELETE FROM audit_events WHERE seq >= 5")
    report = verify(rt)
    assert (report.finding.seq, report.finding.problem) == (5, "truncated")
    assert "#5…#6" in report.finding.message


def test_a_wholly_emptied_trail_is_caught(rt):
    write_events(rt, 3)
    tamper(rt, "DELETE FROM audit_events")
    report = verify(rt)
    assert (report.finding.seq, report.finding.problem) == (1, "truncated")


def test_an_event_appended_behind_the_writers_back_is_caught(rt):
    write_events(rt, 3)
    with rt.sessions() as s:
        prev = s.scalar(select(AuditEvent.hash).where(AuditEvent.seq == 3))
    forged = {
        "seq": 4,
        "at": T0,
        "actor": "intruder",
        "kind": "decision",
        "subject": None,
        "employee_id": None,
        "cycle_id": None,
        "case_id": None,
        "before": None,
        "after": None,
        "reason": None,
        "prev_hash": prev,
    }
    tamper(
        rt,
        "INSERT INTO audit_events (seq, at, actor, kind, prev_hash, hash) VALUES "
        f"(4, '{T0.replace(tzinfo=None)}', 'intruder', 'decision', '{prev}', "
        f"'{event_hash(forged)}')",
    )
    report = verify(rt)
    assert (report.finding.seq, report.finding.problem) == (4, "inserted")


def test_a_deleted_head_is_caught_and_blocks_further_writes(rt):
    write_events(rt, 2)
    tamper(rt, "DELETE FROM audit_head")
    assert verify(rt).finding.problem == "head"
    with rt.sessions() as s, s.begin(), pytest.raises(IntegrityError_, match="head is missing"):
        record(s, "user_action", "admin", T0)


def test_a_rewritten_head_fails_its_signature_when_a_key_is_set(rt, monkeypatch):
    monkeypatch.setenv("PROMOFLOW_AUDIT_KEY", "s3cret-audit-key")
    write_events(rt, 4)
    assert verify(rt).ok and verify(rt).signed
    # cut the tail and move the head back to match: only the signature can tell
    with rt.sessions() as s:
        h3 = s.scalar(select(AuditEvent.hash).where(AuditEvent.seq == 3))
    tamper(
        rt,
        "DELETE FROM audit_events WHERE seq = 4",
        f"UPDATE audit_head SET seq = 3, hash = '{h3}'",
    )
    report = verify(rt)
    assert report.finding.problem == "head"
    monkeypatch.delenv("PROMOFLOW_AUDIT_KEY")
    assert verify(rt).ok  # without the key the rewrite is invisible: that is why keys exist


def test_the_key_can_come_from_a_file(rt, monkeypatch, tmp_path):
    key = tmp_path / "audit.key"
    key.write_text("file-key\n")
    monkeypatch.setenv("PROMOFLOW_AUDIT_KEY_FILE", str(key))
    write_events(rt, 2)
    assert verify(rt).ok
    assert not verify(rt, key=b"another key").ok


def test_appends_continue_from_the_head_so_a_truncation_stays_visible(rt):
    write_events(rt, 4)
    tamper(rt, "DELETE FROM audit_events WHERE seq = 4")
    write_events(rt, 1, start=10)
    with rt.sessions() as s:
        assert s.scalar(select(func.max(AuditEvent.seq))) == 5
    report = verify(rt)
    assert (report.finding.seq, report.finding.problem) == (4, "deleted")


def test_a_rolled_back_transaction_leaves_no_event_and_no_head_move(rt):
    write_events(rt, 2)
    with rt.sessions() as s:
        s.begin()
        record(s, "decision", "system", T0)
        s.rollback()
    report = verify(rt)
    assert report.ok and report.events == 2 and report.head_seq == 2


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": ""},
        {"actor": " "},
        {"at": datetime(2026, 10, 8, 9, 0)},
    ],
)
def test_events_without_kind_actor_or_aware_time_are_refused(rt, bad):
    fields = {"kind": "decision", "actor": "system", "at": T0, **bad}
    refused = r"^audit event (kind|actor|time) must be "
    with rt.sessions() as s, s.begin(), pytest.raises(ValueError, match=refused):
        record(s, fields.pop("kind"), fields.pop("actor"), fields.pop("at"))


def test_postgresql_refuses_update_delete_and_truncate_of_audit_events(rt):
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("the database-level guard exists on PostgreSQL only")
    write_events(rt, 3)
    for statement in (
        "UPDATE audit_events SET reason = 'x' WHERE seq = 1",
        "DELETE FROM audit_events WHERE seq = 3",
        "TRUNCATE audit_events",
        "DELETE FROM audit_head",
        "UPDATE audit_head SET seq = 1",
    ):
        with (
            pytest.raises(Exception, match=r"append-only|only moves forward"),
            rt.engine.begin() as c,
        ):
            c.execute(text(statement))
    report = verify(rt)
    assert report.ok and report.events == 3


def test_a_bulk_write_reads_back_through_the_model_exactly(rt):
    """Large batches take the driver's fast path (COPY on PostgreSQL); nothing may differ."""
    write_events(rt, 300)
    with rt.sessions() as s:
        first, last = (
            s.get(AuditEvent, 1),
            s.get(AuditEvent, 300),
        )
    assert first.at == T0 and last.at == T0 + timedelta(seconds=299)
    assert last.after == {"outcome": "promoted", "score": "86.50"}
    assert last.reason == "score 86.50 ≥ 80 (299)" and last.before is None
    report = verify(rt)
    assert report.ok and report.events == 300


def test_appends_work_on_a_connection_an_earlier_read_left_streaming(rt):
    """Bulk readers may set ``yield_per`` on the session's connection; appends must not care."""
    with rt.sessions() as s, s.begin():
        s.connection().execution_options(yield_per=100)
        record(s, "decision", "system", T0, employee_id="E1")
        record_many(s, [Event("decision", "system", T0, employee_id=f"E{i}") for i in range(60)])
    assert verify(rt).ok and verify(rt).events == 61


@pytest.mark.slow
def test_a_hundred_thousand_events_append_in_bulk_and_verify(rt):
    """The trail must not be the bottleneck of a 100k-employee cycle (docs/audit.md)."""
    import time

    if rt.engine.dialect.name != "sqlite":
        pytest.skip("one backend is enough for the scale check; bulk COPY is covered above")
    events = [
        Event("decision", "system", T0, employee_id=f"E{i:06d}", cycle_id="sales-2026Q3",
              after={"outcome": "unchanged", "facts": {"score_q": Decimal("79.99")}})
        for i in range(100_000)
    ]  # fmt: skip
    started = time.perf_counter()
    with rt.sessions() as s, s.begin():
        assert record_many(s, events) == 100_000
    written = time.perf_counter() - started
    report = verify(rt)
    assert report.ok and report.events == 100_000
    assert written < 60, f"100k events took {written:.1f} s to append"


@pytest.mark.parametrize("value", [5, 1e16, "text", [1, 2]])
def test_a_bare_before_or_after_value_is_kept_as_an_object_and_verifies(rt, value):
    with rt.sessions() as s, s.begin():
        record(s, "user_action", "admin", T0, before=value, after=value)
    with rt.sessions() as s:
        row = s.get(AuditEvent, 1)
    assert row.before == {"value": value} and row.after == {"value": value}
    assert verify(rt).ok


def test_a_long_subject_is_shortened_to_fit_and_still_verifies(rt):
    with rt.sessions() as s, s.begin():
        record(s, "notice", "system", T0, subject="通知" * 150)
    with rt.sessions() as s:
        subject = s.get(AuditEvent, 1).subject
    assert len(subject) == 200 and subject.endswith("…")
    assert verify(rt).ok


def test_bulk_appended_texts_of_every_shape_verify(rt):
    """The bulk append assembles each event's canonical form itself, quoting repeated
    texts from memory: quotes, backslashes, control characters, CJK, short and long
    reasons, and absent fields must hash exactly as verify re-reads them."""
    awkward = ['"quoted"', "back\\slash", "tab\tnew\nline\x01", "晋升 ≥ 80", "", None]
    events = [
        Event(
            kind=("decision", "case_transition", 'k"ind')[i % 3],
            actor=("system", 'HR "Li"')[i % 2],
            at=T0 + timedelta(seconds=i % 4),
            subject=awkward[i % 6],
            employee_id=awkward[(i + 1) % 6],
            cycle_id=awkward[(i + 2) % 6],
            case_id=None if i % 5 else i,
            after={"text": awkward[i % 5]},
            reason=(awkward[i % 6] or "") * (1 if i % 2 else 40) or None,
        )
        for i in range(60)
    ]
    with rt.sessions() as s, s.begin():
        assert record_many(s, events, plain=True) == 60
    report = verify(rt)
    assert report.ok and report.events == 60
    with rt.sessions() as s:
        rows = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert all(row.hash == event_hash(row.__dict__) for row in rows)
