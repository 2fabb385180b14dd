"""SIGKILL the consumer at random moments; every restart must finish the job, never redo it.

The emulator runs in its own process so that its state outlives the consumer's; each cycle
delivers new mail first, so the kills keep landing in the middle of real work (listing,
downloading, renaming, journaling, marking read).
"""

from __future__ import annotations

import hashlib
import json
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from as2gw_async.files import safe_message_dirname

KILLS = 20
HERE = Path(__file__).parent


@pytest.fixture
def emulator_url() -> Iterator[str]:
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "as2gw_async.emulator", "--host", "127.0.0.1", "--port", "0",
            "--seed-messages", "150", "--seed", "11", "--latency", "0.03",
            "--fault-rate", "0.05", "--faults", "500,503,reset,short",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("AS2GW_EMULATOR_READY"):
                yield line.split()[1]
                break
        else:
            pytest.fail("the emulator did not start")
    finally:
        proc.terminate()
        proc.wait(timeout=60)


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_and_repeats_nothing(
    emulator_url: str, tmp_path: Path
) -> None:
    origin = emulator_url.rsplit("/v1", 1)[0]
    control = httpx.Client(base_url=origin + "/_emulator", timeout=30)
    rng = random.Random(20261121)
    dest = tmp_path / "inbox"
    kills = cycles = 0
    while kills < KILLS:
        cycles += 1
        assert cycles < KILLS * 4, "the consumer kept finishing before it could be killed"
        control.post("/seed", json={"n": 25, "seed": 100 + cycles, "attachments": [1, 3]})
        consumer = subprocess.Popen(
            [sys.executable, str(HERE / "_consumer_main.py"), emulator_url, str(dest)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert consumer.stdout is not None
        assert consumer.stdout.readline().startswith("CONSUMER_STARTED")
        try:
            consumer.wait(timeout=rng.uniform(0.0, 0.8))
        except subprocess.TimeoutExpired:
            consumer.send_signal(signal.SIGKILL)
            consumer.wait()
            kills += 1
        else:
            assert consumer.returncode == 0

    control.post("/faults", json={})  # the final run may finish in peace
    final = subprocess.run(
        [sys.executable, str(HERE / "_consumer_main.py"), emulator_url, str(dest)], timeout=300
    )
    assert final.returncode == 0

    ids = control.get("/messages/received").json()["ids"]
    assert len(ids) == 150 + 25 * cycles
    dirs = {p.name for p in dest.iterdir() if p.name != ".as2gw"}
    assert dirs == {safe_message_dirname(mid) for mid in ids}
    for mid in ids:
        info = control.get(f"/messages/received/{quote(mid, safe='')}").json()
        assert info["read"], f"{mid} never marked read"
        directory = dest / safe_message_dirname(mid)
        on_disk = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()}
        assert on_disk == {a["name"]: a["sha256"] for a in info["attachments"]}, mid
    assert list(dest.rglob("*.part")) == []
    assert list((dest / ".as2gw" / "staging").iterdir()) == []
    journal = [json.loads(line) for line in (dest / ".as2gw" / "journal.jsonl").open()
               if line.strip().endswith("}")]  # fmt: skip
    stored = [r["id"] for r in journal if r["state"] == "stored"]
    assert sorted(set(stored)) == sorted(ids)
