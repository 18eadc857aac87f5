"""The error tree of promoflow: one root, one family per phase.

    PromoflowError                 anything promoflow refuses, with a message for HR
    ├── ConfigError                bad database URL, time zone or settings
    ├── PackError                  a rule pack that fails to parse or validate
    ├── InputError                 an import file with bad rows (nothing was written)
    ├── TransitionError            a case trigger that its state does not allow
    ├── NotFoundError              an unknown cycle, case, employee, user …
    ├── AccessDenied               a role that may not do what was asked
    └── IntegrityError_            the audit trail does not verify

Adapters translate library exceptions into these (``raise PackError(...) from exc``) so
the console can print one clean message and exit with the right status.
"""

from __future__ import annotations

from dataclasses import dataclass


class PromoflowError(Exception):
    """Root of every error promoflow raises on purpose; its message is meant for people."""

    exit_code = 1


class ConfigError(PromoflowError):
    """Configuration (database URL, time zone, SMTP settings) that cannot be used."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is and why, in a plain sentence."""

    message: str
    file: str | None = None
    line: int | None = None
    column: str | None = None
    rule: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column:
            where.append(f"column {self.column}")
        if self.rule:
            where.append(f"rule {self.rule}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class PackError(PromoflowError):
    """A rule pack that cannot be loaded; ``problems`` lists each issue found."""

    exit_code = 2

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.problems = problems or []


class InputError(PromoflowError):
    """An import file with bad rows; nothing of it was written. ``problems`` lists every row."""

    exit_code = 2

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.problems = problems or []


class TransitionError(PromoflowError):
    """A trigger the case's current state does not allow."""

    exit_code = 2


class NotFoundError(PromoflowError):
    """Something named on the command line or in a request does not exist."""

    exit_code = 2


class AccessDenied(PromoflowError):
    """The acting user's roles do not allow the action."""

    exit_code = 3


class AuthenticationRequired(PromoflowError):
    """Who is acting could not be established: a bad, expired or revoked token, or no
    token where the deployment requires one (``PROMOFLOW_CLI_REQUIRE_TOKEN``)."""

    exit_code = 2


class IntegrityError_(PromoflowError):
    """The audit trail failed verification."""

    exit_code = 1
