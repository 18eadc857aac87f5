"""Pages show errors by code, never text from the URL (issue 21, L8).

``/overrides?error=…`` once printed whatever the link said, so a crafted link could put
"call this number" on a page of ours. Now a URL names an error by code: a known code
shows its catalogue message (Chinese or English), any other code the generic message.
Every page is also requested with the usual names for message parameters, and none may
show their text.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from promoflow.console.web.i18n import ERROR_CODES, MESSAGES, error_key
from tests.functional.web_client import TestClient, csrf_of, login, make_app
from tests.functional.web_seed import CYCLE

PHISH = "Your account is locked, call +86 400 000 0000"
CASE = "E000004"
PAGES = [
    "/",
    "/cycles",
    f"/cycles/{CYCLE}",
    f"/cycles/{CYCLE}/cases/{CASE}",
    f"/cycles/{CYCLE}/cases/{CASE}/override",
    "/overrides",
    "/audit",
    "/packs",
    "/packs/sales",
    "/results",
]
MESSAGE_PARAMS = ("error", "message", "msg", "notice", "detail", "problem", "info", "warning")


class _Text(HTMLParser):
    """The text a reader sees (not attribute values, such as the language form's own
    ``next`` field, which carries the URL back escaped)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)


def visible(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


@pytest.fixture
def manager(rt):
    return login(make_app(rt), "manager")


def test_error_codes_map_to_catalogue_messages_in_both_languages():
    for code, key in ERROR_CODES.items():
        assert error_key(code) == key
        assert MESSAGES[key]["zh"] and MESSAGES[key]["en"]
    assert error_key("no-such-code") == "error.unknown"
    assert error_key(PHISH) == "error.unknown"
    assert error_key(None) is None and error_key("") is None
    assert MESSAGES["error.unknown"]["zh"] and MESSAGES["error.unknown"]["en"]


def test_the_queue_shows_an_unknown_error_code_as_the_generic_message(manager):
    page = manager.get("/overrides", params={"error": PHISH})
    assert page.status_code == 200
    text = visible(page.text)
    assert PHISH not in text
    assert MESSAGES["error.unknown"]["zh"] in text


def test_the_queue_shows_a_known_code_in_the_users_language(manager):
    text = visible(manager.get("/overrides", params={"error": "csrf"}).text)
    assert MESSAGES["error.csrf"]["zh"] in text
    manager.post("/lang", data={"lang": "en", "csrf_token": _csrf(manager)})
    text = visible(manager.get("/overrides", params={"error": "csrf"}).text)
    assert MESSAGES["error.csrf"]["en"] in text
    assert "csrf" not in text.lower().split()


def test_without_an_error_code_no_error_is_shown(manager):
    html = manager.get("/overrides").text
    assert 'class="error"' not in html


@pytest.mark.parametrize("path", PAGES)
def test_no_page_shows_text_from_a_message_parameter(manager, path):
    page = manager.get(path, params=dict.fromkeys(MESSAGE_PARAMS, PHISH))
    assert page.status_code == 200, path
    assert PHISH not in visible(page.text), path


def test_the_login_page_shows_no_text_from_the_url(rt):
    client = TestClient(make_app(rt))
    page = client.get("/login", params={**dict.fromkeys(MESSAGE_PARAMS, PHISH), "next": PHISH})
    assert page.status_code == 200
    assert PHISH not in visible(page.text)


def _csrf(client) -> str:
    return csrf_of(client.get("/").text)
