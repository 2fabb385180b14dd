"""Help, version, credentials, and the exit code of each kind of error."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from as2gw_async.cli._errors import EXIT_CODES_HELP, ExitCode, classify
from as2gw_async.emulator import EmulatorServer
from as2gw_async.errors import DeliveryTimeoutError, LimitExceededError

from .conftest import Run, json_lines, one_line_error

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.")

COMMANDS = (
    "login",
    "send",
    "ls",
    "show",
    "download",
    "mdn",
    "batch-download",
    "sync",
    "mark-unread",
    "stop",
    "retry",
    "emulator",
    "demo",
)


def test_help_lists_every_command_and_the_exit_codes(run_offline: Run) -> None:
    result = run_offline("--help")
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.stdout
    for code, _ in EXIT_CODES_HELP:
        assert re.search(rf"\b{code}\b", result.stdout)
    assert "AS2GW_PASSWORD" in result.stdout


def test_no_arguments_shows_help(run_offline: Run) -> None:
    result = run_offline()
    assert "Usage" in result.stdout + result.stderr
    assert result.exit_code in (0, 2)


def test_version(run_offline: Run) -> None:
    from as2gw_async import __version__

    result = run_offline("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"as2gw {__version__}"


def test_python_dash_m_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "as2gw_async", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("as2gw ")


def test_help_never_shows_the_password_from_the_environment(run_offline: Run) -> None:
    result = run_offline("ls", "--help", env={"AS2GW_PASSWORD": "hunter2-secret"})
    assert result.exit_code == 0
    assert "AS2GW_PASSWORD" in result.stdout
    assert "hunter2-secret" not in result.stdout + result.stderr


def test_login_prints_expiry_not_the_token(run: Run, as2gw_emulator: EmulatorServer) -> None:
    result = run("login")
    assert result.exit_code == 0, result.stderr
    [info] = json_lines(result.stdout)
    assert info["username"] == as2gw_emulator.username
    assert info["baseUrl"] == as2gw_emulator.base_url
    assert info["expiry"] > 0
    assert not _JWT.search(result.stdout + result.stderr)
    assert as2gw_emulator.password not in result.stdout + result.stderr


def test_verbose_logs_redact_the_password_and_token(
    run: Run, as2gw_emulator: EmulatorServer
) -> None:
    result = run("ls", "received", "-v")
    assert result.exit_code == 0
    assert "authorized as" in result.stderr  # debug logging is on
    assert as2gw_emulator.password not in result.stderr
    assert not _JWT.search(result.stderr)


def test_credentials_from_options(as2gw_emulator: EmulatorServer, run_offline: Run) -> None:
    result = run_offline(
        "login",
        "--username",
        as2gw_emulator.username,
        "--password",
        as2gw_emulator.password,
        "--base-url",
        as2gw_emulator.base_url,
    )
    assert result.exit_code == 0, result.stderr


def test_password_from_stdin(as2gw_emulator: EmulatorServer, run_offline: Run) -> None:
    result = run_offline(
        "login",
        "--password-stdin",
        "-u",
        as2gw_emulator.username,
        "--base-url",
        as2gw_emulator.base_url,
        input=as2gw_emulator.password + "\n",
    )
    assert result.exit_code == 0, result.stderr
    assert as2gw_emulator.password not in result.stdout + result.stderr


def test_missing_password_is_bad_usage(run_offline: Run) -> None:
    result = run_offline("login", "-u", "me@example.com")
    assert result.exit_code == ExitCode.USAGE == 2
    assert "no password" in one_line_error(result)


def test_missing_username_is_bad_usage(run_offline: Run) -> None:
    result = run_offline("login", env={"AS2GW_PASSWORD": "x"})
    assert result.exit_code == 2
    assert "no username" in one_line_error(result)


def test_unknown_option_is_typers_bad_usage(run_offline: Run) -> None:
    result = run_offline("ls", "received", "--no-such-option")
    assert result.exit_code == 2


def test_bad_folder_is_bad_usage(run: Run) -> None:
    assert run("ls", "drafts").exit_code == 2


def test_wrong_password_exits_3_with_one_line(run: Run) -> None:
    result = run("login", env={"AS2GW_PASSWORD": "wrong-password"})
    assert result.exit_code == ExitCode.AUTH == 3
    line = one_line_error(result)
    assert "authentication failed (401)" in line
    assert "wrong-password" not in result.stderr


def test_verbose_error_shows_the_traceback(run: Run) -> None:
    result = run("login", "-v", env={"AS2GW_PASSWORD": "wrong-password"})
    assert result.exit_code == 3
    assert "Traceback" in result.stderr
    assert "wrong-password" not in result.stderr


def test_not_found_exits_4(run: Run) -> None:
    result = run("show", "received", "<no-such-id@example.com>")
    assert result.exit_code == ExitCode.NOT_FOUND == 4
    assert "not found (404)" in one_line_error(result)


def test_connection_refused_exits_5(run_offline: Run) -> None:
    result = run_offline(
        "login",
        "--retries",
        "0",
        env={
            "AS2GW_USERNAME": "me@example.com",
            "AS2GW_PASSWORD": "pw",
            "AS2GW_BASE_URL": "http://127.0.0.1:9/v1",  # discard port: nothing listens
        },
    )
    assert result.exit_code == ExitCode.UNAVAILABLE == 5
    assert "network error" in one_line_error(result)


def test_plain_http_to_a_remote_host_is_refused(run_offline: Run) -> None:
    result = run_offline(
        "login",
        env={
            "AS2GW_USERNAME": "me@example.com",
            "AS2GW_PASSWORD": "pw",
            "AS2GW_BASE_URL": "http://gateway.example.com/v1",
        },
    )
    assert result.exit_code == 2
    assert "--allow-insecure-http" in one_line_error(result)


def test_bad_rate_limit_is_bad_usage(run: Run) -> None:
    result = run("login", "--rate-limit", "fast")
    assert result.exit_code == 2
    assert "--rate-limit" in one_line_error(result)


@pytest.mark.parametrize("value", ["10/1", "5/0.5"])
def test_rate_limit_option(run: Run, value: str) -> None:
    assert run("login", "--rate-limit", value).exit_code == 0
    assert run("login", "--no-rate-limit").exit_code == 0


def test_classify_covers_the_send_side_errors() -> None:
    code, text = classify(LimitExceededError("11 files", limit="files"))
    assert code == ExitCode.LIMIT == 6
    assert text.startswith("limit exceeded")
    code, _ = classify(DeliveryTimeoutError("slow", as2_message_id="<x>", last_seen="queued"))
    assert code == ExitCode.INCOMPLETE == 7
    code, text = classify(FileExistsError(17, "exists", "out/a.txt"))
    assert code == ExitCode.ERROR
    assert "--overwrite" in text
    code, _ = classify(RuntimeError("boom"))
    assert code == ExitCode.ERROR


def test_exception_groups_are_unwrapped() -> None:
    from as2gw_async.cli._errors import _leaf

    if sys.version_info >= (3, 11):
        group_cls = ExceptionGroup  # noqa: F821 - a builtin since 3.11
    else:  # pragma: no cover - anyio brings the backport on 3.10
        from exceptiongroup import ExceptionGroup as group_cls
    inner = KeyError("x")
    group = group_cls("outer", [group_cls("inner", [inner])])
    assert _leaf(group) is inner


def test_redact_masks_secrets_but_keeps_plain_text() -> None:
    from as2gw_async.cli._logging import add_secret, redact

    add_secret("s3cr3t-for-redact")
    assert redact("no password: set AS2GW_PASSWORD") == "no password: set AS2GW_PASSWORD"
    assert redact("authorization failed for me") == "authorization failed for me"
    text = (
        '{"username": "a", "password": "p w"} password=abc&u=1 Authorization: tok123 '
        "eyJhbGciOi.eyJzdWIiOi.c2ln s3cr3t-for-redact"
    )
    masked = redact(text)
    for secret in ("p w", "abc", "tok123", "eyJhbGciOi", "s3cr3t-for-redact"):
        assert secret not in masked
    assert '"username": "a"' in masked
