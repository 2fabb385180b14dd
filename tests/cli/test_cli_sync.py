"""``as2gw sync``: the inbox on disk exactly once; --follow stops cleanly on a signal."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from as2gw_async.emulator import EmulatorServer, FaultPlan, Gateway
from as2gw_async.files import safe_message_dirname

from .conftest import Run, ids_of, json_lines, one_line_error

AS2GW = (sys.executable, "-m", "as2gw_async")


def _assert_synced(gateway: Gateway, dest: Path, ids: list[str]) -> None:
    dirs = {p.name for p in dest.iterdir() if p.is_dir() and p.name != ".as2gw"}
    assert dirs == {safe_message_dirname(mid) for mid in ids}
    for mid in ids:
        message = gateway.message("received", mid)
        on_disk = {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (dest / safe_message_dirname(mid)).iterdir()
        }
        assert on_disk == {
            a.name: gateway.attachment_sha256("received", mid, i)
            for i, a in enumerate(message.attachments)
        }
        assert gateway.is_read(mid)


@pytest.mark.as2gw_emulator(seed_messages=20, batch_limit=16 * 1024)
def test_sync_delivers_each_message_once(run: Run, as2gw_gateway: Gateway, tmp_path: Path) -> None:
    ids = [m.as2_message_id for m in as2gw_gateway.messages("received")]
    dest = tmp_path / "inbox"
    result = run("sync", str(dest), "--concurrency", "3")
    assert result.exit_code == 0, result.stderr
    records = json_lines(result.stdout)
    assert sorted(ids_of(records)) == sorted(ids)
    assert all(not r["redelivered"] for r in records)
    assert all(Path(f).is_file() for r in records for f in r["files"])
    _assert_synced(as2gw_gateway, dest, ids)

    again = run("sync", str(dest))
    assert again.exit_code == 0, again.stderr
    assert json_lines(again.stdout) == []

    new = as2gw_gateway.deliver(attachments=[("late.txt", b"late\n")])
    third = run("sync", str(dest))
    assert ids_of(json_lines(third.stdout)) == [new]
    _assert_synced(as2gw_gateway, dest, [*ids, new])


@pytest.mark.as2gw_emulator(seed_messages=1)
def test_sync_exits_7_when_a_message_cannot_be_fetched(
    run: Run, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    [mid] = [m.as2_message_id for m in as2gw_gateway.messages("received")]
    as2gw_gateway.faults = FaultPlan(rate=0.0).script("500", route="batch")
    result = run("sync", str(tmp_path), "--retries", "0")
    assert result.exit_code == 7
    assert "stay unread" in one_line_error(result)
    assert not as2gw_gateway.is_read(mid)
    # the next run picks it up
    assert ids_of(json_lines(run("sync", str(tmp_path)).stdout)) == [mid]


@pytest.mark.as2gw_emulator(seed_messages=3)
def test_sync_follow_stops_cleanly_on_sigint(
    as2gw_emulator: EmulatorServer, env: dict[str, str], tmp_path: Path
) -> None:
    gateway = as2gw_emulator.gateway
    proc = subprocess.Popen(
        [*AS2GW, "sync", str(tmp_path), "--follow", "--poll-interval", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    assert proc.stdout is not None
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        late = gateway.deliver(attachments=[("late.txt", b"late\n")])
        lines.append(proc.stdout.readline())  # picked up by a later poll
        assert ids_of(json_lines("".join(lines)))[-1] == late
        deadline = time.monotonic() + 120  # a guard against hanging, not a time limit
        while not gateway.is_read(late) and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert all(gateway.is_read(m.as2_message_id) for m in gateway.messages("received"))


@pytest.mark.as2gw_emulator(seed_messages=2)
def test_sync_max_total_size_skips_a_bigger_message_without_fetching_it(
    run: Run, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    ids = [m.as2_message_id for m in as2gw_gateway.messages("received")]
    big = as2gw_gateway.deliver(attachments=[("big.bin", b"B" * 200_000)])
    batches = as2gw_gateway.stats.as_dict()["routes"].get("batch", 0)
    result = run("sync", str(tmp_path), "--max-total-size", "100000")
    assert result.exit_code == 7
    assert "max_total_size" in one_line_error(result)
    assert sorted(ids_of(json_lines(result.stdout))) == sorted(ids)
    assert not as2gw_gateway.is_read(big)
    # one download and one mark-read batch for the two small ones; none for the big one
    assert as2gw_gateway.stats.as_dict()["routes"].get("batch", 0) == batches + 2
    assert ids_of(json_lines(run("sync", str(tmp_path)).stdout)) == [big]
