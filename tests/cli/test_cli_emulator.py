"""``as2gw emulator``: the emulator's own options, run until Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from .conftest import Run, json_lines

EMULATOR = (sys.executable, "-m", "as2gw_async", "emulator", "--port", "0")


def test_emulator_help_is_the_emulators_own(run_offline: Run) -> None:
    result = run_offline("emulator", "--help")
    assert result.exit_code == 0
    assert "as2gw emulator" in result.stdout
    assert "--seed-messages" in result.stdout


def test_emulator_bad_option_is_bad_usage(run_offline: Run) -> None:
    assert run_offline("emulator", "--no-such-option").exit_code == 2


def test_emulator_serves_until_sigint(run_offline: Run) -> None:
    proc = subprocess.Popen(
        [*EMULATOR, "--seed-messages", "4", "--username", "ci@example.com", "--password", "pw-123"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("AS2GW_")},
    )
    assert proc.stdout is not None
    try:
        ready = proc.stdout.readline().split()
        assert ready[0] == "AS2GW_EMULATOR_READY", ready
        base_url = ready[1]
        result = run_offline(
            "ls",
            "received",
            env={
                "AS2GW_BASE_URL": base_url,
                "AS2GW_USERNAME": "ci@example.com",
                "AS2GW_PASSWORD": "pw-123",
            },
        )
        assert result.exit_code == 0, result.stderr
        assert len(json_lines(result.stdout)) == 4
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
