"""The fast hash path and the plain definition agree: an event hashes as its sorted JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from promoflow.engine.audit.trail import _jsonable, canonical, canonical_text, event_hash, json_text

texts = st.text()  # any unicode: quotes, backslashes, control characters, CJK
maybe_text = st.none() | texts
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=10,
)
payloads = st.none() | st.dictionaries(texts, json_values, max_size=4)


@given(
    seq=st.integers(min_value=1, max_value=2**62),
    actor=texts,
    kind=texts,
    subject=maybe_text,
    employee_id=maybe_text,
    cycle_id=maybe_text,
    case_id=st.none() | st.integers(min_value=-(2**62), max_value=2**62),
    before=payloads,
    after=payloads,
    reason=maybe_text,
)
def test_the_assembled_canonical_form_is_the_sorted_compact_json_of_the_event(
    seq, actor, kind, subject, employee_id, cycle_id, case_id, before, after, reason
):
    at = "2026-10-08T01:00:00+00:00"
    prev = "ab" * 32
    assembled = canonical_text(
        seq, at, actor, kind, subject, employee_id, cycle_id, case_id,
        json_text(before), json_text(after), reason, prev,
    )  # fmt: skip
    fields = {
        "seq": seq, "at": at, "actor": actor, "kind": kind, "subject": subject,
        "employee_id": employee_id, "cycle_id": cycle_id, "case_id": case_id,
        "before": before, "after": after, "reason": reason, "prev_hash": prev,
    }  # fmt: skip
    expected = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert assembled == expected
    assert json.loads(assembled) == fields


def test_a_row_read_back_hashes_like_the_row_written():
    row = {
        "seq": 7,
        "at": datetime(2026, 10, 8, 9, 0, 0, 123456, tzinfo=UTC),
        "actor": "系统",
        "kind": "decision",
        "subject": None,
        "employee_id": "E1",
        "cycle_id": "sales-2026Q3",
        "case_id": 3,
        "before": None,
        "after": _jsonable({"score": Decimal("79.990")}),
        "reason": 'say "why"\n',
        "prev_hash": "0" * 64,
    }
    as_stored_on_sqlite = {**row, "at": "2026-10-08 09:00:00.123456"}
    assert canonical(row) == canonical(as_stored_on_sqlite)
    assert event_hash(row) == event_hash(as_stored_on_sqlite)
    assert b'"after":{"score":"79.990"}' in canonical(row)
