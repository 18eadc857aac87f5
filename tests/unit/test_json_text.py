"""The fast JSON text is the standard library's, byte for byte, where hashes depend on it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promoflow.engine.audit.trail import Event, EventEncoder, _jsonable, encode_event, json_text
from promoflow.engine.storage.json_text import column_text

texts = st.text()  # quotes, backslashes, control characters, surrogate-free unicode, CJK
scalars = (
    st.none()
    | st.booleans()
    | st.integers()  # beyond 64 bits too: orjson refuses those, the fallback writes them
    | st.floats(allow_nan=False, allow_infinity=False)  # 1e-05 / 1e+16 as repr writes them
    | texts
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


@given(values.filter(lambda v: v is not None))  # None is SQL NULL, not JSON text
def test_audit_payload_text_is_the_sorted_compact_stdlib_text(value):
    expected = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert json_text(_jsonable(value)) == expected


@given(values)
def test_a_json_column_reads_back_what_was_written(value):
    assert json.loads(column_text(value)) == value


def test_chinese_is_stored_as_utf8_not_escapes():
    assert column_text(["晋升"]) == '["晋升"]'


def test_decimal_in_audit_payload_is_its_exact_text():
    assert json_text(_jsonable({"score": Decimal("79.990"), "n": 1e-05})) == (
        '{"n":1e-05,"score":"79.990"}'
    )


plain_scalars = st.none() | st.booleans() | st.integers() | texts  # what plain callers build
plain_payloads = st.dictionaries(
    texts,
    st.recursive(
        plain_scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
        max_leaves=12,
    ),
    max_size=6,
)


@given(before=plain_payloads | st.none(), after=plain_payloads | st.none())
def test_a_plain_event_encodes_exactly_as_the_full_walk(before, after):
    """The fast path skips the walk, never changes what is stored and hashed."""
    event = dict(kind="decision", actor="bench", at=datetime(2026, 10, 8, tzinfo=UTC))
    full = encode_event(Event(**event, before=before, after=after))
    assert encode_event(Event(**event, before=before, after=after), plain=True) == full


def test_a_plain_event_holding_other_values_still_takes_the_full_walk():
    at = datetime(2026, 10, 8, 9, tzinfo=timezone(timedelta(hours=8)))
    after = {"score": Decimal("79.99"), "when": at, "bare": None}
    plain = encode_event(Event(kind="k", actor="a", at=at, after=after), plain=True)
    assert plain == encode_event(Event(kind="k", actor="a", at=at, after=after))
    assert json.loads(plain[8]) == {
        "bare": None,
        "score": "79.99",
        "when": "2026-10-08T01:00:00+00:00",
    }
    bare = encode_event(Event(kind="k", actor="a", at=at, before=5), plain=True)
    assert bare[7] == '{"value":5}'


maybe_text = st.none() | texts


@given(
    subject=maybe_text,
    employee_id=st.none() | st.text(max_size=64),
    case_id=st.none() | st.integers(-(2**62), 2**62),
    before=plain_payloads | st.none(),
    after=plain_payloads | st.none(),
    reason=maybe_text,
)
def test_the_bulk_event_encoder_encodes_exactly_as_encode_event(
    subject, employee_id, case_id, before, after, reason
):
    """EventEncoder checks the shared fields once; what it returns must not differ."""
    at = datetime(2026, 10, 8, 9, tzinfo=timezone(timedelta(hours=8)))
    fields = dict(subject=subject, employee_id=employee_id, before=before, after=after)
    expected = encode_event(
        Event(kind="decision", actor="bench", at=at, cycle_id="sales-2026Q3", case_id=case_id,
              reason=reason, **fields),
        plain=True,
    )  # fmt: skip
    encode = EventEncoder("decision", "bench", at, "sales-2026Q3")
    assert encode(**fields, reason=reason, case_id=case_id) == expected


def test_the_bulk_event_encoder_refuses_what_encode_event_refuses():
    at = datetime(2026, 10, 8, 9, tzinfo=UTC)
    with pytest.raises(ValueError, match="aware datetime"):
        EventEncoder("decision", "bench", at.replace(tzinfo=None), "sales-2026Q3")
    with pytest.raises(ValueError, match="actor"):
        EventEncoder("decision", " ", at, "sales-2026Q3")
    with pytest.raises(ValueError, match="cycle_id"):
        EventEncoder("decision", "bench", at, "c" * 65)
    encode = EventEncoder("decision", "bench", at, "sales-2026Q3")
    with pytest.raises(ValueError, match="employee_id"):
        encode("rule", "E" * 65, None, None)
    assert encode("通知" * 150, "E1", None, None)[3] == "通知" * 99 + "通" + "…"
