"""``as2gw --gateway mft|ecgrid sync DIR`` and ``as2gw demo --gateway mft|ecgrid``.

Against each gateway's emulator (in a thread, on a real loopback port): every message lands
once, byte-exact, and is acknowledged on the gateway; a second run finds nothing new.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from as2gw_async.files import safe_message_dirname

from .conftest import Run, json_lines, make_run


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _on_disk(directory: Path) -> dict[str, str]:
    return {p.name: _sha(p.read_bytes()) for p in directory.iterdir()}


@pytest.fixture
def mft() -> Iterator[Any]:
    from as2gw_async.emulator.mft import MftEmulator

    with MftEmulator(seed=5) as emu:
        yield emu


@pytest.fixture
def ecgrid() -> Iterator[Any]:
    from as2gw_async.emulator.ecgrid import ECGridState, start

    with start(ECGridState(seed=5)) as server:
        yield server


def test_mft_sync_delivers_each_message_once(mft: Any, tmp_path: Path) -> None:
    ids = mft.seed_inbox(25, attachments=2, sizes=(10, 3000))
    run = make_run(
        {
            "MFTGW_BASE_URL": mft.base_url,
            "MFTGW_USERNAME": mft.username,
            "MFTGW_PASSWORD": mft.password,
        }
    )
    first = run("--gateway", "mft", "sync", str(tmp_path))
    assert first.exit_code == 0, first.stderr
    assert sorted(r["messageId"] for r in json_lines(first.stdout)) == sorted(ids)
    for mid in ids:
        wanted = {a.name: _sha(a.read()) for a in mft.gateway.message(mid).attachments}
        assert _on_disk(tmp_path / safe_message_dirname(mid)) == wanted
        assert mft.gateway.is_fetched(mid)
    again = run("sync", str(tmp_path), "--gateway", "mft")
    assert again.exit_code == 0, again.stderr
    assert json_lines(again.stdout) == []
    assert mft.store_stats.authorization_headers == 0


def test_mft_sync_with_an_api_token_and_a_partner_filter(mft: Any, tmp_path: Path) -> None:
    ids = mft.seed_inbox(3)
    other = mft.deliver("MyStation", "OtherPartner", [("x.txt", b"x")])
    run = make_run(
        {
            "MFTGW_BASE_URL": mft.base_url,
            "MFTGW_TOKEN_ID": mft.token_id,
            "MFTGW_TOKEN_SECRET": mft.token_secret,
            "AS2GW_GATEWAY": "mft",
        }
    )
    result = run("sync", str(tmp_path), "--partner", "MyPartner")
    assert result.exit_code == 0, result.stderr
    assert sorted(r["messageId"] for r in json_lines(result.stdout)) == sorted(ids)
    assert not mft.gateway.is_fetched(other)


def test_ecgrid_sync_delivers_and_confirms_each_parcel_once(ecgrid: Any, tmp_path: Path) -> None:
    pids = ecgrid.state.seed_inbox(30, sizes=[100, 5000, 77])
    run = make_run({"ECGRID_BASE_URL": ecgrid.base_url, "ECGRID_API_KEY": ecgrid.api_key})
    first = run("--gateway", "ecgrid", "sync", str(tmp_path))
    assert first.exit_code == 0, first.stderr
    assert sorted(r["parcelId"] for r in json_lines(first.stdout)) == sorted(map(str, pids))
    for pid in pids:
        parcel = ecgrid.state.parcel(pid)
        directory = tmp_path / safe_message_dirname(str(pid))
        assert _on_disk(directory) == {parcel.file_name: _sha(parcel.read())}
        assert parcel.confirms == 1
    again = run("--gateway", "ecgrid", "sync", str(tmp_path))
    assert again.exit_code == 0, again.stderr
    assert json_lines(again.stdout) == []
    assert ecgrid.state.pending() == []


def test_ecgrid_sync_with_a_login(ecgrid: Any, tmp_path: Path) -> None:
    ecgrid.state.seed_inbox(2)
    run = make_run({"ECGRID_BASE_URL": ecgrid.base_url})
    result = run(
        "--gateway", "ecgrid", "sync", str(tmp_path),
        "--username", ecgrid.login, "--password-stdin",
        input=ecgrid.password + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert len(json_lines(result.stdout)) == 2
    assert ecgrid.stats.logins == 1


@pytest.mark.parametrize(
    ("name", "steps"),
    [
        ("mft", ("presigned links", "Flaky_Partner")),
        ("ecgrid", ("Cancel the uploaded parcel",)),
    ],
)
def test_demo_tours_the_gateway(
    run_offline: Run, tmp_path: Path, name: str, steps: tuple[str, ...]
) -> None:
    result = run_offline("demo", "--gateway", name, "--dir", str(tmp_path / "demo"))
    assert result.exit_code == 0, result.stdout + result.stderr
    for n in range(1, 7):
        assert f"Step {n}/6" in result.stdout
    for text in steps:
        assert text in result.stdout
    assert "A second sync finds 0 new" in result.stdout
    messages = [p for p in (tmp_path / "demo" / "inbox").iterdir() if p.name != ".as2gw"]
    assert len(messages) == 40


@pytest.mark.parametrize(
    "name",
    [
        "mft",
        "ecgrid",
    ],
)
def test_demo_json_is_one_summary(run_offline: Run, tmp_path: Path, name: str) -> None:
    result = run_offline(
        "--gateway", name, "demo", "--json", "-n", "12", "--dir", str(tmp_path / "d")
    )
    assert result.exit_code == 0, result.stderr
    [summary] = json_lines(result.stdout)
    assert summary["gateway"] == name
    assert summary["synced"] == 12
    assert summary["secondSync"] == 0
