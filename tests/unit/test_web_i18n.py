"""Every key the console's templates and pages use exists in Chinese and in English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from promoflow.console.web import i18n

WEB = Path(i18n.__file__).parent
KEY = re.compile(r"""t\(\s*['"]([a-z_]+\.[a-z_.]+)['"]""")
DYNAMIC = re.compile(r"""t\(\s*['"]([a-z_]+)\.['"]\s*~""")


def _used_keys() -> set[str]:
    keys: set[str] = set()
    for path in [*WEB.glob("templates/*.html"), *WEB.glob("**/*.py")]:
        text = path.read_text("utf-8")
        keys |= set(KEY.findall(text))
        quoted = re.findall(r'"((?:error|login|override|common|results)\.[a-z_]+)"', text)
        keys |= {k for k in quoted if not k.endswith(".html")}  # template names are not keys
    return keys


def test_every_used_key_has_both_languages():
    missing = sorted(k for k in _used_keys() if k not in i18n.MESSAGES)
    assert not missing
    for key, entry in i18n.MESSAGES.items():
        assert entry.get("zh") and entry.get("en"), key


@pytest.mark.parametrize("prefix", ["outcome", "funnel"])
def test_every_computed_key_family_is_complete(prefix):
    from promoflow.engine.read.queries import OUTCOMES

    wanted = (
        OUTCOMES
        if prefix == "outcome"
        else ("evaluated", "nominated", "written_test_passed", "interview_passed", "grade_changed")
    )
    for name in wanted:
        assert f"{prefix}.{name}" in i18n.MESSAGES


def test_placeholders_are_filled_and_a_missing_key_shows_itself():
    assert i18n.translate("common.page", "en", page=2, pages=5, total=99) == "Page 2 of 5, 99 rows"
    assert i18n.translate("no.such.key", "zh") == "no.such.key"


@pytest.mark.parametrize(
    ("preferred", "cookie", "accept", "expected"),
    [
        ("en", "zh", "zh-CN", "en"),
        (None, "en", "zh-CN", "en"),
        (None, None, "en-US,en;q=0.9", "en"),
        (None, None, "fr-FR", "zh"),
        (None, "xx", None, "zh"),
    ],
)
def test_the_language_is_the_saved_one_then_the_cookie_then_the_browser(
    preferred, cookie, accept, expected
):
    assert i18n.pick(preferred, cookie, accept) == expected
