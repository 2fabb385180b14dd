"""Help and validation text read as a person expects (issue 13 item 15).

Newer typer shows a bare boolean flag as ``--unread <bool>`` although it takes no value,
and passes pydantic's ``Value error, `` prefix into the messages of refused values.
"""

from __future__ import annotations

import pytest
import typer

from as2gw_async.cli.app import app

from .conftest import Run

COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]

# (command line, the flag that must still be listed in its help)
FLAGS = {
    "": "--version",
    "ls": "--unread",
    "show": "--mark-read",
    "send": "--wait",
    "download": "--zip",
    "mdn": "--overwrite",
    "batch-download": "--mark-read",
    "sync": "--follow",
    "login": "--password-stdin",
    "demo": "--quiet",
}


@pytest.mark.parametrize("name", ["", *(c for c in COMMANDS if c != "emulator")])
def test_help_shows_no_value_for_a_flag(run_offline: Run, name: str) -> None:
    result = run_offline(*([name] if name else []), "--help")
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.stdout
    assert "--help" in result.stdout
    if name in FLAGS:
        assert FLAGS[name] in result.stdout


def test_help_still_shows_the_value_of_an_option(run_offline: Run) -> None:
    result = run_offline("ls", "--help")
    assert "<int range>" in result.stdout or "INTEGER" in result.stdout
    assert "received" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("ls", "bogus"),
        ("ls", "received", "--sort", "bogus"),
        ("show", "bogus", "<1@x>"),
        ("download", "bogus", "<1@x>"),
        ("mdn", "bogus", "<1@x>"),
    ],
    ids=lambda a: " ".join(a),
)
def test_a_refused_choice_says_why_without_a_value_error_prefix(
    run: Run, args: tuple[str, ...]
) -> None:
    result = run(*args)
    assert result.exit_code == 2
    text = " ".join(result.stderr.split())
    assert "Value error" not in text
    assert "'bogus' is not one of" in text or "'bogus' is not" in text
