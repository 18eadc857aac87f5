"""Collecting every bad row of a file before refusing it, so HR can fix them all at once.

An import is all-or-nothing: validation walks the whole file, notes each problem with its
line and column, and only then refuses the file with one :class:`InputError` that lists
them all. Nothing is written before the collector is empty.
"""

from __future__ import annotations

from promoflow.errors import InputError, Problem


class RowErrors:
    """The problems found in one file, in file order."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []
        self.bad_lines: set[int] = set()
        #: (line, column) cells whose one problem is said already (see :meth:`settle`)
        self.settled: set[tuple[int | None, str | None]] = set()

    def add(self, line: int | None, column: str | None, message: str) -> None:
        """Note that ``column`` of ``line`` is wrong, and why (a plain sentence)."""
        if self.settled and (line, column) in self.settled:
            return
        self.problems.append(Problem(message, file=self.file, line=line, column=column))
        if line is not None:
            self.bad_lines.add(line)

    def settle(self, line: int | None, column: str | None, message: str) -> None:
        """Note the one problem of a cell that nothing else need be said about (a malformed
        employee id is not also an "unknown employee"): later notes on it are dropped."""
        self.add(line, column, message)
        self.settled.add((line, column))

    def __bool__(self) -> bool:
        return bool(self.problems)

    def __len__(self) -> int:
        return len(self.problems)

    def raise_if_any(self) -> None:
        """Refuse the file if anything was noted: nothing of it is written."""
        if not self.problems:
            return
        rows = len(self.bad_lines)
        listed = sorted(self.problems, key=lambda p: p.line or 0)  # stable: columns stay in order
        noun = "row" if rows == 1 else "rows"
        what = f"{rows} bad {noun}" if rows else "a bad header"
        raise InputError(f"{self.file}: {what}; nothing was imported", listed)
