"""How long free text may be, and what an employee id may look like: one place for both.

Everything a person types that is stored (an override's reason and parameters, a decision
note, a forced milestone's reason, a display name, a token name, an interview place, an
import file's name and free-text columns) is bounded here; the services check it before
they write, so the CLI, the API and the console refuse the same input with the same
one-line :class:`~promoflow.errors.InputError` (exit 2, HTTP 422, the form shown again).

Employee ids are ASCII letters and digits, then also ``.``, ``_`` and ``-``, at most 64
characters (the column's width). The first character is a letter or digit, so no id is
``.``/``..`` (a path segment of the case page), starts like a formula (``=1+1``,
``-2``) or like an option. ASCII only: the HR systems' ids (``E0001``, ``E000001``) are
ASCII, and look-alike Unicode letters would let two ids that read the same differ.

This module imports only :mod:`promoflow.errors`, so every layer may use it.
"""

from __future__ import annotations

import re

from promoflow.errors import InputError

#: an override's reason, a rejection's or approval's note, a forced milestone's reason
REASON = 2000
NOTE = 2000
#: a user's display name (the column is 200 wide)
DISPLAY_NAME = 200
#: an API token's name
TOKEN_NAME = 100
#: an import file's name, as recorded (the upload form keeps 120 of a name)
FILE_NAME = 255
#: a cycle's interview place (the column is 300 wide)
PLACE = 300
#: an override parameter: a grade or a stage result value (grades are 64 wide, results 100)
PARAM = 100
#: the longest employee id
EMPLOYEE_ID = 64

#: free-text columns of the import files, by column name: the widths of their columns
IMPORT_COLUMNS = {"name": 200, "org_unit": 100, "position": 100, "value": 100}

_EMPLOYEE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class TooLong(InputError):
    """Text longer than its field allows (the console words it in the user's language)."""

    def __init__(self, field: str, length: int, limit: int):
        super().__init__(f"{field} is too long: {length:,} characters, at most {limit:,}")
        self.field, self.length, self.limit = field, length, limit


def too_long(value: str, field: str, limit: int) -> str | None:
    """Why ``value`` is too long for ``field``, in one line; None when it fits."""
    if len(value) <= limit:
        return None
    return f"{field} is too long: {len(value):,} characters, at most {limit:,}"


def bounded_text(value: str | None, field: str, limit: int) -> str | None:
    """``value`` unchanged when it fits in ``limit`` characters (None stays None); else
    :class:`TooLong` (an :class:`InputError`) naming ``field`` and the limit, never
    echoing the text."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{field} must be text, not {type(value).__name__}")
    if len(value) > limit:
        raise TooLong(field, len(value), limit)
    return value


def employee_id_problem(value: str) -> str | None:
    """Why ``value`` is not a valid employee id, in one line; None when it is one."""
    if len(value) > EMPLOYEE_ID:
        return f"employee_id is too long: {len(value):,} characters, at most {EMPLOYEE_ID}"
    if not _EMPLOYEE_ID.fullmatch(value):
        shown = value if len(value) <= 40 else value[:39] + "…"
        return (
            f"invalid employee_id {shown!r}: "
            "ASCII letters, digits and . _ - only, a letter or digit first"
        )
    return None


def check_employee_id(value: str) -> str:
    """``value`` when it is a valid employee id; else an :class:`InputError` saying why."""
    if not isinstance(value, str):
        raise InputError(f"employee_id must be text, not {type(value).__name__}")
    problem = employee_id_problem(value)
    if problem:
        raise InputError(problem)
    return value
