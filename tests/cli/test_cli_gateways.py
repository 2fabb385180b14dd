"""``--gateway``: one table decides the session, the commands and the emulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from as2gw_async.cli.gateways import GATEWAYS, gateway

from .conftest import Run, json_lines, one_line_error


def test_the_gateway_is_v1_unless_chosen(run: Run, as2gw_gateway: Any) -> None:
    ids = as2gw_gateway.seed(2)
    result = run("ls", "received", "--json")
    assert result.exit_code == 0, result.stderr
    assert sorted(m["as2MessageId"] for m in json_lines(result.stdout)) == sorted(ids)


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("--gateway", "mft", "stop", "<1@x>"), {}),
        (("stop", "<1@x>", "--gateway", "mft"), {}),
        (("stop", "<1@x>", "-g", "MFT"), {}),
        (("stop", "<1@x>"), {"AS2GW_GATEWAY": "mft"}),
    ],
    ids=["before", "after", "short-any-case", "env"],
)
def test_a_command_the_gateway_lacks_is_refused_before_any_call(
    run: Run, args: tuple[str, ...], env: dict[str, str]
) -> None:
    result = run(*args, env=env)
    assert result.exit_code == 2
    error = one_line_error(result)
    assert "'as2gw stop' is not available for --gateway mft (MFT Gateway)" in error
    assert "sync" in error


def test_after_the_command_wins_over_before_it_and_the_variable(
    run: Run, as2gw_gateway: Any
) -> None:
    as2gw_gateway.seed(1)
    result = run(
        "--gateway", "ecgrid", "ls", "received", "--gateway", "as2gateway",
        env={"AS2GW_GATEWAY": "mft"},
    )  # fmt: skip
    assert "as2MessageId" in result.stdout
    assert result.exit_code == 0, result.stderr


def test_an_unknown_gateway_is_bad_usage(run_offline: Run) -> None:
    assert run_offline("--gateway", "ftp", "sync", "x").exit_code == 2
    assert run_offline("sync", "x", "--gateway", "ftp").exit_code == 2
    assert run_offline("sync", "x", env={"AS2GW_GATEWAY": "ftp"}).exit_code == 2


@pytest.mark.parametrize(
    ("name", "wanted"),
    [
        ("mft", "set MFTGW_USERNAME and MFTGW_PASSWORD, or MFTGW_TOKEN_ID and MFTGW_TOKEN_SECRET"),
        ("ecgrid", "set ECGRID_API_KEY, or ECGRID_LOGIN and ECGRID_PASSWORD"),
    ],
)
def test_v1_credentials_never_reach_another_gateway(
    run: Run, tmp_path: Path, name: str, wanted: str
) -> None:
    """AS2GW_USERNAME/PASSWORD/BASE_URL are set (the v1 emulator's) and must be ignored."""
    result = run("--gateway", name, "sync", str(tmp_path / "inbox"))
    assert result.exit_code == 2
    assert wanted in one_line_error(result)
    assert not (tmp_path / "inbox").exists()


def test_username_without_password_is_bad_usage_for_another_gateway(run_offline: Run) -> None:
    result = run_offline("--gateway", "ecgrid", "sync", "x", "--username", "me")
    assert result.exit_code == 2
    assert "--username and --password" in one_line_error(result)


@pytest.mark.parametrize(
    ("name", "flag"),
    [
        ("mft", ("--test",)),
        ("ecgrid", ("--partner", "P")),
        ("ecgrid", ("--station", "S")),
        ("ecgrid", ("--test",)),
        ("ecgrid", ("--include-mdn",)),
    ],
)
def test_sync_filters_a_gateway_lacks_are_refused(
    run_offline: Run, name: str, flag: tuple[str, ...]
) -> None:
    result = run_offline("--gateway", name, "sync", "x", *flag)
    assert result.exit_code == 2
    assert f"{flag[0]}: not an option of sync for --gateway {name}" in one_line_error(result)


def test_each_gateway_reads_its_own_variables() -> None:
    mft, ecgrid = gateway("mft"), gateway("ecgrid")
    assert mft.has_env_credentials({"MFTGW_TOKEN_ID": "i", "MFTGW_TOKEN_SECRET": "s"})
    assert not mft.has_env_credentials({"MFTGW_USERNAME": "u"})
    assert not mft.has_env_credentials({"AS2GW_USERNAME": "u", "AS2GW_PASSWORD": "p"})
    assert ecgrid.has_env_credentials({"ECGRID_API_KEY": "k"})
    assert not ecgrid.has_env_credentials({"ECGRID_LOGIN": "l", "ECGRID_PASSWORD": ""})
    assert sorted(GATEWAYS) == ["as2gateway", "ecgrid", "mft"]


def test_the_help_names_the_gateways_and_their_variables(run_offline: Run) -> None:
    out = run_offline("--help").stdout
    for text in ("--gateway", "AS2GW_GATEWAY", "MFTGW_TOKEN_ID", "ECGRID_API_KEY"):
        assert text in out
    assert "--gateway" in run_offline("sync", "--help").stdout


# -- as2gw emulator --gateway mft|ecgrid ------------------------------------------------------


def _clean_env() -> dict[str, str]:
    prefixes = ("AS2GW_", "MFTGW_", "ECGRID_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


@pytest.fixture
def emulator_process(request: pytest.FixtureRequest) -> Iterator[subprocess.Popen[str]]:
    args = request.param
    proc = subprocess.Popen(
        [sys.executable, "-m", "as2gw_async", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_clean_env(),
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _ready(proc: subprocess.Popen[str], prefix: str) -> dict[str, str]:
    """The emulator's ``PREFIX_*`` lines, read up to the first blank line or the last one."""
    assert proc.stdout is not None
    lines: dict[str, str] = {}
    for line in proc.stdout:
        if not line.strip():
            break
        key, _, value = line.strip().partition(" ")
        assert key.startswith(prefix), line
        lines[key] = value
        if key.endswith("_PASSWORD") and prefix == "ECGRID_EMULATOR_":
            break
    return lines


def _stops_cleanly(proc: subprocess.Popen[str], signum: int) -> None:
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    "emulator_process",
    [("emulator", "--gateway", "mft", "--port", "0", "--seed-messages", "3", "--attachments", "2")],
    indirect=True,
)
def test_mft_emulator_serves_its_seeded_inbox_until_sigint(
    emulator_process: subprocess.Popen[str],
) -> None:
    ready = _ready(emulator_process, "MFTGW_EMULATOR_")
    base_url = ready["MFTGW_EMULATOR_READY"]
    assert ready["MFTGW_EMULATOR_STORE"] != base_url
    with httpx.Client(base_url=base_url, timeout=10) as api:
        token = api.post(
            "/authorize",
            json={
                "username": ready["MFTGW_EMULATOR_USERNAME"],
                "password": ready["MFTGW_EMULATOR_PASSWORD"],
            },
        ).json()["apiToken"]
        inbox = api.get("/message/inbox", headers={"Authorization": token}).json()
        assert len(inbox["messages"]) == 3
        stats = api.get("/_emulator/stats").json()
        assert stats["gateway"]["authorizations"] == 1
    _stops_cleanly(emulator_process, signal.SIGINT)


@pytest.mark.parametrize(
    "emulator_process",
    [("--gateway", "ecgrid", "emulator", "--port", "0", "--seed-messages", "4", "--size", "100")],
    indirect=True,
)
def test_ecgrid_emulator_serves_its_seeded_parcels_until_sigterm(
    emulator_process: subprocess.Popen[str],
) -> None:
    ready = _ready(emulator_process, "ECGRID_EMULATOR_")
    with httpx.Client(base_url=ready["ECGRID_EMULATOR_READY"], timeout=10) as api:
        answer = api.post(
            "/v2/parcels/pending-inbox-list",
            json={},
            headers={"X-API-Key": ready["ECGRID_EMULATOR_API_KEY"]},
        ).json()
    assert answer["success"] is True
    assert [p["bytes"] for p in answer["data"]] == [100] * 4
    _stops_cleanly(emulator_process, signal.SIGTERM)


@pytest.mark.parametrize(("name", "option"), [("mft", "--store-port"), ("ecgrid", "--page-shape")])
def test_each_emulator_has_its_own_help(run_offline: Run, name: str, option: str) -> None:
    result = run_offline("emulator", "--gateway", name, "--help")
    assert result.exit_code == 0
    assert f"as2gw emulator --gateway {name}" in result.stdout
    assert option in result.stdout


@pytest.mark.parametrize("name", ["mft", "ecgrid"])
def test_an_emulator_option_it_lacks_is_bad_usage(run_offline: Run, name: str) -> None:
    assert run_offline("emulator", f"--gateway={name}", "--https").exit_code == 2


def test_emulator_with_an_unknown_gateway_is_bad_usage(run_offline: Run) -> None:
    result = run_offline("emulator", "--gateway", "ftp")
    assert result.exit_code == 2
    assert "unknown gateway 'ftp'" in one_line_error(result)
