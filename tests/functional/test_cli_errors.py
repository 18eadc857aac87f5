"""What a person sees when a command cannot run: one line and exit 2, never a traceback —
on a database ``promoflow init`` never set up, and for a mistyped option or a missing
argument."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROMOFLOW = Path(sys.executable).with_name("promoflow")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(PROMOFLOW), *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "command",
    [
        ["cycle", "list"],
        ["cycle", "open", "sales-2026Q3"],
        ["decisions", "sales-2026Q3", "--format", "json"],
        ["override", "list", "--json"],
        ["scheduler", "run-due", "--now", "2026-10-08T10:00+08:00"],
        ["user", "list"],
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_a_database_never_set_up_says_run_init(tmp_path, command):
    url = f"sqlite:///{tmp_path / 'never-initialised.db'}"
    done = run("--db", url, *command)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) <= 3  # one message, wrapped by the terminal
    said, expected = (
        "".join(text.split())
        for text in (
            done.stderr,
            f"error: no promoflow schema at {url}: run `promoflow init` first",
        )
    )
    assert said == expected


@pytest.mark.parametrize(
    ("command", "words"),
    [
        (["cycle", "list", "--formt", "json"], "No such option: --formt"),
        (["override", "retain"], "Missing argument 'cycle'"),
        (["cycle", "frobnicate"], "No such command 'frobnicate'"),
    ],
)
def test_a_usage_error_exits_2_with_the_usage_and_no_traceback(tmp_path, command, words):
    done = run("--db", f"sqlite:///{tmp_path / 'x.db'}", *command)
    assert done.returncode == 2
    assert words in done.stderr
    assert "Traceback" not in done.stderr and "Usage: promoflow" in done.stderr
