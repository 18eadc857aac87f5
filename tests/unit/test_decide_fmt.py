"""The fast ways decide() writes values (fmt, _show) give exactly what fmt always gave.

``reference_fmt`` is fmt as it was before it read values off their text: every value the
strategies draw (long decimals, odd exponents, negative zero, ints, bools, floats, in every
fact type) must come out the same, or fail the same way.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promoflow.rules.decide import _show, fmt


def reference_fmt(value: object, ftype: str = "decimal") -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if ftype == "percent" and isinstance(value, Decimal | int):
        return reference_fmt(Decimal(value) * 100) + "%"
    if isinstance(value, Decimal):
        if value.as_tuple().exponent < -4:
            shown = value.quantize(Decimal(1).scaleb(-4))
            return "≈" + format(shown.normalize(), "f")
        return format(value.normalize(), "f")
    return str(value)


def _stored(value: object) -> str:
    """The fact's text as decide() stores it (what it hands _show)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


FTYPES = st.sampled_from(["decimal", "percent", "int", "bool"])
TUPLES = st.builds(
    lambda sign, digits, exp: Decimal((sign, tuple(digits), exp)),
    st.integers(0, 1),
    st.lists(st.integers(0, 9), min_size=1, max_size=34),
    st.integers(-40, 12),
)
#: coefficients around the context's 28 digits, where normalize() and * 100 round
LONG = st.builds(
    lambda sign, digits, exp: Decimal((sign, tuple(digits), exp)),
    st.integers(0, 1),
    st.lists(st.integers(0, 9), min_size=26, max_size=34),
    st.integers(-36, 6),
)
VALUES = st.one_of(
    TUPLES,
    LONG,
    st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**15), max_value=10**15),
    st.builds(lambda n, d: Decimal(n) / Decimal(d), st.integers(-300, 300), st.integers(1, 300)),
    st.integers(-(10**30), 10**30),
    st.booleans(),
    st.floats(allow_nan=False),
)


def _outcome(fn, *args):
    try:
        return ("ok", fn(*args))
    except Exception as exc:  # failing the same way is part of "the same"
        return ("raised", type(exc))


@settings(max_examples=1500, deadline=None)
@given(VALUES, FTYPES)
def test_fmt_and_show_write_every_value_as_before(value, ftype):
    want = _outcome(reference_fmt, value, ftype)
    assert _outcome(fmt, value, ftype) == want
    assert _outcome(_show, value, ftype, _stored(value)) == want


@pytest.mark.parametrize(
    ("value", "ftype", "text"),
    [
        (Decimal("80"), "decimal", "80"),
        (Decimal("80.00"), "decimal", "80"),
        (Decimal("79.99"), "decimal", "79.99"),
        (Decimal("80.00000"), "decimal", "≈80"),
        (Decimal("79.99995"), "decimal", "≈80"),
        (Decimal("79.999949"), "decimal", "≈79.9999"),
        (Decimal("8E+1"), "decimal", "80"),
        (Decimal("1E-9"), "decimal", "≈0"),
        (Decimal("-0"), "decimal", "-0"),
        (Decimal("0.8"), "percent", "80%"),
        (Decimal("0.8001"), "percent", "80.01%"),
        (Decimal("0.7999"), "percent", "79.99%"),
        (Decimal("0.80001"), "percent", "≈80.001%"),
        (Decimal(2) / 3, "percent", "≈66.6667%"),
        (1, "percent", "100%"),
        (3, "int", "3"),
        (True, "bool", "是"),
        (None, "decimal", "—"),
        (Decimal("123456789012345678901234567890"), "decimal", "123456789012345678901234567900"),
    ],
)
def test_fmt_writes_values_as_hr_does(value, ftype, text):
    assert reference_fmt(value, ftype) == text
    assert fmt(value, ftype) == text
    if value is not None:
        assert _show(value, ftype, _stored(value)) == text


def test_values_the_context_cannot_quantize_fail_as_before():
    huge = Decimal("1" * 30 + ".12345")
    with pytest.raises(Exception, match="InvalidOperation") as before:
        reference_fmt(huge)
    same = re.escape(str(before.value))
    with pytest.raises(before.type, match=same):
        fmt(huge)
    with pytest.raises(before.type, match=same):
        _show(huge, "decimal", str(huge))


class _Exact(Decimal):
    """A Decimal of another class (fmt's general path, not the plain-Decimal shortcut)."""


@pytest.mark.parametrize(
    "text, ftype, shown",
    [
        ("79.50", "decimal", "79.5"),
        ("80", "decimal", "80"),
        ("1E+2", "decimal", "100"),
        ("0.1234", "decimal", "0.1234"),
        ("0.12345", "decimal", "≈0.1234"),
        ("0.123456", "decimal", "≈0.1235"),
        ("100.00001", "decimal", "≈100"),
        ("80.5", "decimal", "80.5"),
        ("0.805", "percent", "80.5%"),
    ],
)
def test_a_decimal_of_another_class_is_written_as_the_decimal(text, ftype, shown):
    value = _Exact(text)
    assert fmt(value, ftype) == shown == reference_fmt(Decimal(text), ftype)
    assert _show(value, ftype, text) == shown


@pytest.mark.parametrize("text", ["Infinity", "-Infinity", "NaN"])
@pytest.mark.parametrize("ftype", ["decimal", "percent"])
def test_values_that_are_not_finite_fail_as_before(text, ftype):
    value = Decimal(text)
    assert _outcome(fmt, value, ftype) == _outcome(reference_fmt, value, ftype)
    assert _outcome(_show, value, ftype, text) == _outcome(reference_fmt, value, ftype)
    assert _outcome(fmt, value, ftype)[0] == "raised"
