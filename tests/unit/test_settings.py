"""The settings model: every PROMOFLOW_* variable parsed in one place, bad values named."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest

from promoflow import settings
from promoflow.engine import parallel
from promoflow.engine.audit.trail import audit_key
from promoflow.engine.bootstrap import bootstrap
from promoflow.engine.notices.outbox import default_domain, default_lang, recipient_for
from promoflow.engine.storage.db import journal_mode
from promoflow.errors import ConfigError
from promoflow.settings import Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No PROMOFLOW_* variable of the machine running the tests leaks into them."""
    for name in settings.ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


def test_the_defaults_are_the_products():
    config = settings.load()
    assert config.database_url_for() == "sqlite:///promoflow.db"
    assert config.timezone == ZoneInfo("Asia/Shanghai")
    assert config.smtp() is None
    assert (config.notice_lang, config.mail_domain) == ("zh", "localhost")
    assert (config.sqlite_busy_timeout, config.sqlite_cache_mib) == (30.0, 64)
    assert (config.sqlite_page_size, config.sqlite_journal) == (32768, "wal")
    assert (config.workers, config.audit_key, config.fault_pause) == (None, None, None)


def test_every_field_is_read_from_its_prefixed_variable(monkeypatch):
    values = {
        "PROMOFLOW_DATABASE_URL": "postgresql://u@h/db",
        "PROMOFLOW_TIMEZONE": "Europe/Paris",
        "PROMOFLOW_SMTP_HOST": "mail.example.test",
        "PROMOFLOW_SMTP_PORT": "2525",
        "PROMOFLOW_SMTP_FROM": "hr@example.test",
        "PROMOFLOW_SMTP_USER": "hr",
        "PROMOFLOW_SMTP_PASSWORD": "pw",
        "PROMOFLOW_SMTP_STARTTLS": "yes",
        "PROMOFLOW_NOTICE_LANG": "en",
        "PROMOFLOW_MAIL_DOMAIN": "example.test",
        "PROMOFLOW_SQLITE_BUSY_TIMEOUT": "2.5",
        "PROMOFLOW_SQLITE_CACHE_MIB": "8",
        "PROMOFLOW_SQLITE_PAGE_SIZE": "4096",
        "PROMOFLOW_SQLITE_JOURNAL": " Delete ",
        "PROMOFLOW_WORKERS": "3",
        "PROMOFLOW_AUDIT_KEY": "k",
        "PROMOFLOW_AUDIT_KEY_FILE": "/nowhere",
        "PROMOFLOW_FAULT_PAUSE": "/tmp/marker",
        "PROMOFLOW_FAULT_STEP": "open",
        "PROMOFLOW_FAULT_SECONDS": "1.5",
        "PROMOFLOW_TOKEN_DAYS": "30",
        "PROMOFLOW_CLI_REQUIRE_TOKEN": "1",
        "PROMOFLOW_COOKIE_SECURE": "true",
    }
    assert set(values) == set(settings.ENV_NAMES)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    config = settings.load()
    assert config.database_url_for() == "postgresql+psycopg://u@h/db"
    assert config.database_url_for("sqlite:///x.db") == "sqlite:///x.db"  # --db wins
    assert config.timezone == ZoneInfo("Europe/Paris")
    assert config.smtp() == settings.SmtpSettings(
        "mail.example.test", 2525, "hr@example.test", "hr", "pw", starttls=True
    )
    assert (config.notice_lang, config.mail_domain) == ("en", "example.test")
    assert (config.sqlite_busy_timeout, config.sqlite_cache_mib) == (2.5, 8)
    assert (config.sqlite_page_size, config.sqlite_journal) == (4096, "delete")
    assert (config.workers, config.audit_key, config.audit_key_file) == (3, "k", "/nowhere")
    assert (config.fault_pause, config.fault_step, config.fault_seconds) == (
        "/tmp/marker",
        "open",
        1.5,
    )
    assert (config.token_days, config.cli_require_token) == (30, True)
    assert config.cookie_secure is True


def test_lowercase_names_are_not_read(monkeypatch):
    monkeypatch.setenv("promoflow_notice_lang", "en")
    assert settings.load().notice_lang == "zh"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PROMOFLOW_TIMEZONE", "Mars/Olympus", "unknown time zone 'Mars/Olympus' in {name}"),
        ("PROMOFLOW_SMTP_PORT", "twenty-five", "{name} must be a number"),
        ("PROMOFLOW_SQLITE_CACHE_MIB", "lots", "{name}='lots': give a whole number of MiB"),
        ("PROMOFLOW_SQLITE_CACHE_MIB", "0", "{name}='0': give at least 1 MiB"),
        ("PROMOFLOW_SQLITE_PAGE_SIZE", "1000", "{name}='1000': give a power of two from 512"),
        ("PROMOFLOW_SQLITE_JOURNAL", "MEMORY", "{name}='memory': use one of wal, delete"),
        ("PROMOFLOW_SQLITE_BUSY_TIMEOUT", "soon", "{name}='soon': give a number of seconds"),
        ("PROMOFLOW_FAULT_SECONDS", "x", "{name}='x': give a number of seconds"),
        ("PROMOFLOW_TOKEN_DAYS", "0", "{name}='0': give a whole number of days, 1–3650"),
    ],
)
def test_a_bad_value_is_a_config_error_naming_its_variable(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="^" + re.escape(message.format(name=name))):
        settings.load()


def test_lenient_values_keep_their_old_meaning(monkeypatch):
    for name, value in {
        "PROMOFLOW_NOTICE_LANG": "fr",  # an unknown language: Chinese
        "PROMOFLOW_WORKERS": "many",  # a garbled count: everything in this process
        "PROMOFLOW_SMTP_STARTTLS": "on",  # only 1, true and yes switch it on
        "PROMOFLOW_DATABASE_URL": "",  # empty: unset
        "PROMOFLOW_SMTP_HOST": "",
        "PROMOFLOW_AUDIT_KEY": "",
    }.items():
        monkeypatch.setenv(name, value)
    config = settings.load()
    assert (config.notice_lang, config.workers, config.smtp_starttls) == ("zh", 1, False)
    assert config.database_url_for() == "sqlite:///promoflow.db"
    assert (config.smtp(), config.audit_key) == (None, None)
    monkeypatch.setenv("PROMOFLOW_WORKERS", "0")
    assert settings.load().workers == 1


def test_current_follows_the_environment_and_keeps_what_did_not_change(monkeypatch):
    first = settings.current()
    assert settings.current() is first  # nothing changed: not read again
    monkeypatch.setenv("PROMOFLOW_MAIL_DOMAIN", "example.test")
    assert settings.current().mail_domain == "example.test"
    assert default_domain() == "example.test"
    assert recipient_for("E1") == "E1@example.test"


def test_the_engine_takes_the_settings_it_is_given_over_the_environment(monkeypatch):
    monkeypatch.setenv("PROMOFLOW_NOTICE_LANG", "en")
    given = Settings(
        notice_lang="zh",
        mail_domain="given.test",
        workers=3,
        audit_key="k",
        sqlite_journal="delete",
    )
    assert (default_lang(), default_lang(given)) == ("en", "zh")
    assert recipient_for("E1", domain=given.mail_domain) == "E1@given.test"
    assert parallel.workers(given) == 3
    assert audit_key(given) == b"k"
    assert journal_mode("sqlite:///x.db", given) == "delete"
    assert journal_mode("sqlite://", given) is None  # in memory: no journal to choose


def test_the_audit_key_file_is_read_and_checked(tmp_path):
    key = tmp_path / "audit.key"
    key.write_text("file-key\n")
    assert audit_key(Settings(audit_key_file=str(key))) == b"file-key"
    key.write_text("\n")
    with pytest.raises(ConfigError, match=r"the audit key file '.*audit\.key' is empty"):
        audit_key(Settings(audit_key_file=str(key)))
    with pytest.raises(ConfigError, match=r"cannot read the audit key file '.*missing\.key'"):
        audit_key(Settings(audit_key_file=str(tmp_path / "missing.key")))


def test_bootstrap_reads_the_settings_once_and_keeps_them(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMOFLOW_TIMEZONE", "UTC")
    monkeypatch.setenv("PROMOFLOW_SQLITE_CACHE_MIB", "3")
    rt = bootstrap(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        assert rt.tz == ZoneInfo("UTC") and rt.settings.sqlite_cache_mib == 3
        with rt.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -3 * 1024
    finally:
        rt.engine.dispose()
