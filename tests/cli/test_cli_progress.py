"""Progress bars: drawn on stderr for a terminal, never on a pipe, never into stdout."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from as2gw_async.emulator import Gateway

from .conftest import Run, ids_of, json_lines

BAR = "━"
#: Variables that would decide "terminal or not" for rich instead of the pseudo-terminal.
_TERMINAL_OVERRIDES = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR")
SEEDED = pytest.mark.as2gw_emulator(seed_messages=10)


@SEEDED
def test_forced_terminal_draws_bars_on_stderr_only(
    run: Run, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    # rich honours TTY_COMPATIBLE=1 as "stderr is a terminal"; stdout stays a pipe (JSON).
    result = run("sync", str(tmp_path / "inbox"), env={"TTY_COMPATIBLE": "1"})
    assert result.exit_code == 0, result.stderr
    assert BAR in result.stderr
    assert "10/10" in result.stderr
    assert "messages" in result.stderr
    assert BAR not in result.stdout
    assert len(ids_of(json_lines(result.stdout))) == 10  # results still reach stdout intact


@SEEDED
def test_bytes_bar_for_a_download(run: Run, as2gw_gateway: Gateway, tmp_path: Path) -> None:
    mid = as2gw_gateway.messages("received")[0].as2_message_id
    result = run("download", "received", mid, "-o", str(tmp_path), env={"TTY_COMPATIBLE": "1"})
    assert result.exit_code == 0, result.stderr
    assert BAR in result.stderr
    assert "Downloading" in result.stderr
    assert "kB" in result.stderr or "bytes" in result.stderr


@SEEDED
def test_quiet_and_pipes_draw_nothing(run: Run, tmp_path: Path) -> None:
    quiet = run("sync", str(tmp_path / "a"), "--quiet", env={"TTY_COMPATIBLE": "1"})
    assert quiet.exit_code == 0
    assert quiet.stderr == ""
    piped = run("ls", "received")
    assert piped.stderr == ""


def _run_in_pty(args: list[str], env: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    """Run ``args`` with stdin, stdout and stderr on a pseudo-terminal; return its output."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        args,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={
            **{k: v for k, v in os.environ.items() if k not in _TERMINAL_OVERRIDES},
            "TERM": "xterm-256color",
            "COLUMNS": "100",
            **env,
        },
        close_fds=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return code, b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
@SEEDED
def test_progress_bar_in_a_real_pseudo_terminal(env: dict[str, str], tmp_path: Path) -> None:
    code, output = _run_in_pty(
        [sys.executable, "-m", "as2gw_async", "sync", str(tmp_path / "inbox")], env
    )
    assert code == 0, output
    assert BAR in output
    assert "10/10" in output
    assert "\x1b[" in output  # a terminal gets colours and cursor control
    assert "message(s) delivered" in output  # the human summary, not JSON


def _interact(
    args: list[str], env: dict[str, str], prompt: bytes, answer: bytes
) -> tuple[int, str]:
    """Run ``args`` on a new pseudo-terminal (its controlling terminal, as a login shell
    would have it), answer ``prompt`` with ``answer``, return the exit code and output."""
    full_env = {k: v for k, v in os.environ.items() if k not in _TERMINAL_OVERRIDES}
    full_env.update({"TERM": "xterm-256color", "COLUMNS": "100", **env})
    pid, master = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execve(args[0], args, full_env)
    output = b""
    answered = False
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child is gone
                break
            if not data:
                break
            output += data
            if not answered and prompt in output:
                # Type only once the prompt has switched echo off: getpass flushes
                # anything typed before that (and would echo it).
                while termios.tcgetattr(master)[3] & termios.ECHO:
                    if time.monotonic() > deadline:
                        raise AssertionError(f"echo never switched off: {output!r}")
                    time.sleep(0.01)
                os.write(master, answer)
                answered = True
    finally:
        status = _reap(pid, wait=10 if answered else 0)
        os.close(master)
    return os.waitstatus_to_exitcode(status), output.decode("utf-8", "replace")


def _reap(pid: int, wait: float) -> int:
    """The child's wait status; killed if it is still running after ``wait`` seconds."""
    end = time.monotonic() + wait
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() >= end:
            os.kill(pid, signal.SIGKILL)
            return os.waitpid(pid, 0)[1]
        time.sleep(0.05)


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_password_prompt_is_hidden(env: dict[str, str]) -> None:
    password = env.pop("AS2GW_PASSWORD")
    code, output = _interact(
        [sys.executable, "-m", "as2gw_async", "login"],
        env,
        prompt=b"Password for",
        answer=password.encode() + b"\n",
    )
    assert code == 0, output
    assert "Password for" in output
    assert "Logged in" in output
    assert password not in output  # not echoed, not printed
