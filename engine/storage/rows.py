"""Rows bound once, inserted at driver speed: for milestones writing 100k rows at a time.

SQLAlchemy's executemany runs every value of every row through the column types' bind
processors inside the statement's execution, in the writing process. Here the binding is a
separate, pure step (:func:`binder`, the same processors SQLAlchemy would apply, so stored
values read back identically through the ORM) that worker processes can run; the bound
tuples then go to the driver with :func:`promoflow.engine.storage.bulk.insert_tuples`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect


def binder(table: Table, keys: Sequence[str], dialect: Dialect) -> Callable[[Sequence], tuple]:
    """A function turning values in ``keys`` order into the tuple the driver receives."""
    processors = [table.c[key].type._cached_bind_processor(dialect) for key in keys]
    pairs = [(i, _memo(p) if table.c[key].type.hashable else p) for i, (key, p) in
             enumerate(zip(keys, processors, strict=True)) if p is not None]  # fmt: skip
    if not pairs:
        return tuple

    def bind(values: Sequence) -> tuple:
        out = list(values)
        for i, process in pairs:
            out[i] = process(out[i])
        return tuple(out)

    return bind


def _memo(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``process`` remembering its answers: a chunk repeats a few values (the time, flags)
    thousands of times, and binding a datetime is a strftime each time."""
    memo: dict[Any, Any] = {}

    def bind(value: Any) -> Any:
        try:
            return memo[value]
        except KeyError:
            if len(memo) < 4096:
                memo[value] = bound = process(value)
                return bound
            return process(value)

    return bind
