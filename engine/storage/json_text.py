"""JSON text written fast (orjson), byte for byte what the standard library would write.

Opening a 100k-employee cycle encodes ~500k JSON values (decision columns, audit
payloads); with :mod:`json` that was about a third of the workers' CPU. orjson writes the
same compact text for strings, ints, booleans, null, lists and objects, but formats some
floats differently (``1e-05`` vs ``0.00001``) and refuses integers beyond 64 bits. Audit
hashes cover the exact text, so floats go through :class:`ReprFloat` (written as
``repr`` would) and anything orjson refuses falls back to the standard library.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

#: audit payloads: sorted keys, compact, non-ASCII as UTF-8 (the hashed canonical form)
_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_SUBCLASS
_STD_SORTED = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode
#: column values (SQLAlchemy JSON types): keys as given, compact, non-ASCII as UTF-8
_STD_PLAIN = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class ReprFloat(float):
    """A float that orjson hands back to us, to be written as the standard library does."""


def _fallback(value: Any) -> Any:
    if isinstance(value, float):
        return orjson.Fragment(float.__repr__(value))
    raise TypeError(f"{type(value).__name__} is not JSON")  # → standard library path


def sorted_text(value: Any) -> str:
    """``json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))``."""
    try:
        return orjson.dumps(value, default=_fallback, option=_SORTED).decode()
    except TypeError:  # ints beyond 64 bits, non-string keys, str/int subclasses
        return _STD_SORTED(value)


def plain_sorted_text(value: Any) -> str:
    """:func:`sorted_text` of a value of str, int, bool, None, lists and str-keyed dicts
    only, written without looking at it first; ``TypeError`` on any other type — except
    floats, which orjson writes in its own shortest form, so a caller must not pass them."""
    return orjson.dumps(value, default=_refuse, option=_SORTED).decode()


def _refuse(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not plain JSON")


def column_text(value: Any) -> str:
    """A JSON column's stored text (compact, UTF-8): SQLAlchemy's ``json_serializer``.

    Floats here are whatever orjson writes: they read back as the same float.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return _STD_PLAIN(value)
