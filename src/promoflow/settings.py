"""Settings read from the environment, in one place, so every entry point agrees.

The database URL is chosen as INTERCHANGE.md fixes it: ``--db URL`` on the command line,
else ``PROMOFLOW_DATABASE_URL``, else a SQLite file in the working folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from promoflow.errors import ConfigError

DEFAULT_SQLITE_FILE = "promoflow.db"
DEFAULT_TIMEZONE = "Asia/Shanghai"


def database_url(cli_value: str | None = None) -> str:
    """Resolve the database URL: command line, then environment, then ./promoflow.db."""
    url = (
        cli_value or os.environ.get("PROMOFLOW_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_FILE}"
    )
    return normalise_url(url)


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs (SQLAlchemy would pick psycopg2)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if not (url.startswith("sqlite") or url.startswith("postgresql+")):
        raise ConfigError(f"unsupported database URL {url!r}: use sqlite:///FILE or postgresql://…")
    return url


def timezone() -> ZoneInfo:
    """The organisation's time zone (``PROMOFLOW_TIMEZONE``, default Asia/Shanghai)."""
    name = os.environ.get("PROMOFLOW_TIMEZONE", DEFAULT_TIMEZONE)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown time zone {name!r} in PROMOFLOW_TIMEZONE") from exc


@dataclass(frozen=True)
class SmtpSettings:
    """Where notices are mailed; absent host means notices stay in the outbox."""

    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = None
    starttls: bool = False


def smtp_settings() -> SmtpSettings | None:
    """SMTP from the PROMOFLOW_SMTP_HOST/_PORT/_FROM/_USER/_PASSWORD/_STARTTLS variables."""
    host = os.environ.get("PROMOFLOW_SMTP_HOST")
    if not host:
        return None
    try:
        port = int(os.environ.get("PROMOFLOW_SMTP_PORT", "25"))
    except ValueError as exc:
        raise ConfigError("PROMOFLOW_SMTP_PORT must be a number") from exc
    return SmtpSettings(
        host=host,
        port=port,
        sender=os.environ.get("PROMOFLOW_SMTP_FROM", "promoflow@localhost"),
        user=os.environ.get("PROMOFLOW_SMTP_USER"),
        password=os.environ.get("PROMOFLOW_SMTP_PASSWORD"),
        starttls=os.environ.get("PROMOFLOW_SMTP_STARTTLS", "") in ("1", "true", "yes"),
    )
