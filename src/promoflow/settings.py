"""Settings read from the environment, in one place, so every entry point agrees.

Every ``PROMOFLOW_*`` variable the product reads is a field of :class:`Settings`, parsed
and checked here; a bad value is a :class:`~promoflow.errors.ConfigError` naming the
variable. :func:`promoflow.engine.bootstrap.bootstrap` reads them once and passes them
down; code reached without a runtime (a worker, a test calling one function) asks
:func:`current`, which reads the environment again only when a variable changed.

The database URL is chosen as INTERCHANGE.md fixes it: ``--db URL`` on the command line,
else ``PROMOFLOW_DATABASE_URL``, else a SQLite file in the working folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from promoflow.errors import ConfigError

ENV_PREFIX = "PROMOFLOW_"
DEFAULT_SQLITE_FILE = "promoflow.db"
DEFAULT_TIMEZONE = "Asia/Shanghai"
NOTICE_LANGS = ("zh", "en")
SQLITE_JOURNAL_MODES = ("wal", "delete", "truncate", "persist")
#: the page sizes SQLite accepts: 512 … 65536 bytes
SQLITE_PAGE_SIZES = tuple(2**k for k in range(9, 17))

SMTP_PORT_ENV = "PROMOFLOW_SMTP_PORT"
TIMEZONE_ENV = "PROMOFLOW_TIMEZONE"
CACHE_ENV = "PROMOFLOW_SQLITE_CACHE_MIB"
PAGE_SIZE_ENV = "PROMOFLOW_SQLITE_PAGE_SIZE"
JOURNAL_ENV = "PROMOFLOW_SQLITE_JOURNAL"
WORKERS_ENV = "PROMOFLOW_WORKERS"


def _env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


@dataclass(frozen=True)
class SmtpSettings:
    """Where notices are mailed; absent host means notices stay in the outbox."""

    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = None
    starttls: bool = False


class Settings(BaseSettings):
    """Every ``PROMOFLOW_*`` variable, parsed: the field ``sqlite_page_size`` is
    ``PROMOFLOW_SQLITE_PAGE_SIZE``. Empty means unset where the product always said so
    (the URL, the SMTP host, the worker count, the audit key and the fault hook)."""

    model_config = SettingsConfigDict(
        alias_generator=_env_name,
        populate_by_name=True,
        case_sensitive=True,
        frozen=True,
        arbitrary_types_allowed=True,
    )

    database_url: str | None = None
    timezone: ZoneInfo = ZoneInfo(DEFAULT_TIMEZONE)
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "promoflow@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    #: the language notices are written in (anything but ``en`` is Chinese)
    notice_lang: str = "zh"
    #: the domain of ``ID@domain``, for employees without an address
    mail_domain: str = "localhost"
    #: seconds a SQLite writer waits for another
    sqlite_busy_timeout: float = 30.0
    sqlite_cache_mib: int = 64
    #: the page size a new SQLite database is created with (an existing one keeps its own)
    sqlite_page_size: int = 32768
    sqlite_journal: str = "wal"
    #: worker processes for per-employee work; None: the CPU count (at most 4)
    workers: int | None = None
    audit_key: str | None = None
    audit_key_file: str | None = None
    #: days an API token issued without ``--days`` stays valid (``PROMOFLOW_TOKEN_DAYS``)
    token_days: int = 90
    #: the command line may change data only with ``--token`` (``PROMOFLOW_CLI_REQUIRE_TOKEN``)
    cli_require_token: bool = False
    #: test hook: write the step's name to this file mid-step, then sleep (to be killed)
    fault_pause: str | None = None
    #: the step the hook pauses in (None: every step)
    fault_step: str | None = None
    fault_seconds: float = 60.0
    #: the console's cookies carry ``Secure`` (set it when the console is served over HTTPS,
    #: directly or behind a proxy); off by default for http://127.0.0.1
    cookie_secure: bool = False

    @field_validator(
        "database_url", "smtp_host", "workers", "audit_key", "fault_pause", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("timezone", mode="before")
    @classmethod
    def _zone(cls, value: Any) -> ZoneInfo:
        if isinstance(value, ZoneInfo):
            return value
        try:
            return ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} in {TIMEZONE_ENV}") from exc

    @field_validator("smtp_port", mode="before")
    @classmethod
    def _port(cls, value: Any) -> int:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{SMTP_PORT_ENV} must be a number") from None

    @field_validator("token_days", mode="before")
    @classmethod
    def _token_days(cls, value: Any) -> int:
        try:
            days = int(value)
        except (TypeError, ValueError):
            days = 0
        if not 1 <= days <= 3650:
            raise ValueError(f"PROMOFLOW_TOKEN_DAYS={value!r}: give a whole number of days, 1–3650")
        return days

    @field_validator("cli_require_token", mode="before")
    @classmethod
    def _require_token(cls, value: Any) -> bool:
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")

    @field_validator("smtp_starttls", "cookie_secure", mode="before")
    @classmethod
    def _starttls(cls, value: Any) -> bool:
        return value if isinstance(value, bool) else value in ("1", "true", "yes")

    @field_validator("notice_lang", mode="before")
    @classmethod
    def _lang(cls, value: Any) -> str:
        return value if value in NOTICE_LANGS else "zh"

    @field_validator("sqlite_busy_timeout", "fault_seconds", mode="before")
    @classmethod
    def _seconds(cls, value: Any, info) -> float:
        try:
            return float(value)
        except (TypeError, ValueError):
            name = _env_name(info.field_name)
            raise ValueError(f"{name}={value!r}: give a number of seconds") from None

    @field_validator("sqlite_cache_mib", mode="before")
    @classmethod
    def _cache(cls, value: Any) -> int:
        try:
            mib = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{CACHE_ENV}={value!r}: give a whole number of MiB") from None
        if mib < 1:
            raise ValueError(f"{CACHE_ENV}={value!r}: give at least 1 MiB")
        return mib

    @field_validator("sqlite_page_size", mode="before")
    @classmethod
    def _page_size(cls, value: Any) -> int:
        try:
            size = int(value)
        except (TypeError, ValueError):
            size = 0
        if size not in SQLITE_PAGE_SIZES:
            raise ValueError(
                f"{PAGE_SIZE_ENV}={value!r}: give a power of two from 512 to 65536 (bytes)"
            )
        return size

    @field_validator("sqlite_journal", mode="before")
    @classmethod
    def _journal(cls, value: Any) -> str:
        mode = str(value).strip().lower()
        if mode not in SQLITE_JOURNAL_MODES:
            modes = ", ".join(SQLITE_JOURNAL_MODES)
            raise ValueError(f"{JOURNAL_ENV}={mode!r}: use one of {modes}")
        return mode

    @field_validator("workers", mode="before")
    @classmethod
    def _workers(cls, value: Any) -> int | None:
        if value is None:
            return None
        try:
            return max(1, int(value))
        except (TypeError, ValueError):
            return 1  # a garbled count runs everything in this process, never fails

    def database_url_for(self, cli_value: str | None = None) -> str:
        """The database URL: command line, then ``PROMOFLOW_DATABASE_URL``, then
        ./promoflow.db, normalised (:func:`normalise_url`)."""
        url = cli_value or self.database_url or f"sqlite:///{DEFAULT_SQLITE_FILE}"
        return normalise_url(url)

    def smtp(self) -> SmtpSettings | None:
        """Where notices are mailed, or None when ``PROMOFLOW_SMTP_HOST`` is unset."""
        if not self.smtp_host:
            return None
        return SmtpSettings(
            host=self.smtp_host,
            port=self.smtp_port,
            sender=self.smtp_from,
            user=self.smtp_user,
            password=self.smtp_password,
            starttls=self.smtp_starttls,
        )


#: the variables :class:`Settings` reads, in field order (what :func:`current` compares)
ENV_NAMES = tuple(_env_name(name) for name in Settings.model_fields)


def load() -> Settings:
    """Read every ``PROMOFLOW_*`` variable now; a bad value is a :class:`ConfigError`
    with the message its check gave (it names the variable)."""
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        cause = error.get("ctx", {}).get("error")
        raise ConfigError(str(cause) if cause is not None else str(exc)) from None


_current: tuple[tuple[str | None, ...], Settings] | None = None


def current() -> Settings:
    """The settings as the environment says now, for code reached without a runtime.

    Loading costs about a millisecond, so the loaded settings are kept until one of the
    variables changes (comparing them costs microseconds).
    """
    global _current
    raw = tuple(os.environ.get(name) for name in ENV_NAMES)
    if _current is None or _current[0] != raw:
        _current = (raw, load())
    return _current[1]


def database_url(cli_value: str | None = None) -> str:
    """Resolve the database URL: command line, then environment, then ./promoflow.db."""
    return current().database_url_for(cli_value)


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
    return current().timezone


def smtp_settings() -> SmtpSettings | None:
    """SMTP from the PROMOFLOW_SMTP_HOST/_PORT/_FROM/_USER/_PASSWORD/_STARTTLS variables."""
    return current().smtp()
