"""SIGKILL the consumer at random moments; every restart must finish the job, never redo it.

The same test for each gateway (AS2 Gateway v1, MFT Gateway, ECGrid): N messages drained
through random faults of every kind the gateway's emulator can inject (>= 10 % of the
requests) while the consumer process is SIGKILLed at random points; then one run in peace.
Afterwards: 0 lost, 0 duplicated on disk, 0 corrupt (sha256), 0 temp files, every message
acknowledged on the gateway, and never before its files were complete at their final place
(checked by the emulator at the moment of each acknowledgement, see `_crash_gateways`).

The emulator runs in this process, in a thread, so that its state outlives every consumer;
each cycle delivers new mail first, and each kill lands after a random number of that run's
deliveries, a random moment later, so the kills land in the middle of real work (listing,
downloading, renaming, journaling, acknowledging) however fast the machine is.

Size: by default a short run (``DEFAULT``); ``AS2GW_CRASH_FULL=1`` runs the issue's full size
(v1 1,000 messages, MFT and ECGrid 300, 20 kills each).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from as2gw_async.files import safe_message_dirname

from ._crash_gateways import GATEWAYS, sha256

HERE = Path(__file__).parent

#: (messages, kills) of each gateway: the default run and the full one.
DEFAULT = {"as2gateway": (300, 8), "mft": (120, 8), "ecgrid": (120, 8)}
FULL = {"as2gateway": (1000, 20), "mft": (300, 20), "ecgrid": (300, 20)}
FULL_RUN = os.environ.get("AS2GW_CRASH_FULL", "").strip() not in ("", "0")


def _consumer(name: str, dest: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    prefixes = ("AS2GW_", "MFTGW_", "ECGRID_")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    return subprocess.Popen(
        [sys.executable, str(HERE / "_consumer_main.py"), name, str(dest)],
        stdout=subprocess.PIPE,
        text=True,
        env={**clean, **env},
    )


def _journal(dest: Path) -> list[dict[str, object]]:
    path = dest / ".as2gw" / "journal.jsonl"
    return [json.loads(line) for line in path.open() if line.strip().endswith("}")]


@pytest.mark.slow
@pytest.mark.parametrize("name", list(GATEWAYS))
def test_sigkill_at_random_moments_loses_and_repeats_nothing(name: str, tmp_path: Path) -> None:
    total, kill_target = (FULL if FULL_RUN else DEFAULT)[name]
    dest = tmp_path / "inbox"
    gateway = GATEWAYS[name](dest)
    rng = random.Random(20261121)
    per_cycle = max(1, (total // 2) // kill_target)
    gateway.seed(total - per_cycle * kill_target)
    kills = cycles = 0
    with gateway.running() as env:
        gateway.faults(True)
        while kills < kill_target:
            cycles += 1
            assert cycles < kill_target * 4, "the consumer kept finishing before it was killed"
            if len(gateway.ids()) < total:
                gateway.seed(min(per_cycle, total - len(gateway.ids())))
            consumer = _consumer(name, dest, env)
            assert consumer.stdout is not None
            assert consumer.stdout.readline().startswith("CONSUMER_STARTED")
            # the kill lands after a random number of this run's deliveries (0: while it
            # lists and fetches its first ones), a random moment later: mid-work whatever
            # the speed of the machine or of the gateway
            for _ in range(rng.randrange(per_cycle + 1)):
                if not consumer.stdout.readline().startswith("DELIVERED"):
                    break
            try:
                consumer.wait(timeout=rng.uniform(0.0, 0.05))
            except subprocess.TimeoutExpired:
                consumer.send_signal(signal.SIGKILL)
                consumer.wait()
                kills += 1
            else:
                assert consumer.returncode == 0
        faults, requests = gateway.fault_counts()
        gateway.faults(False)  # the final runs may finish in peace
        if len(gateway.ids()) < total:
            gateway.seed(total - len(gateway.ids()))
        final = _consumer(name, dest, env)
        final.communicate(timeout=300)
        assert final.returncode == 0
        again = _consumer(name, dest, env)
        out, _ = again.communicate(timeout=300)
        assert again.returncode == 0
        assert out.splitlines()[-1] == "CONSUMER_DELIVERED 0", out  # nothing new the 2nd time

        ids = gateway.ids()
        assert len(ids) == total
        # faults of every kind, on at least 10 % of the requests while killing
        assert set(faults) >= set(gateway.fault_kinds), (faults, requests, cycles)
        assert sum(faults.values()) >= 0.10 * requests, (faults, requests)
        # 0 lost, 0 duplicated: one directory per message, nothing else
        dirs = {p.name for p in dest.iterdir() if p.name != ".as2gw"}
        assert dirs == {safe_message_dirname(mid) for mid in ids}
        # 0 corrupt: every file byte-exact, no file more or less
        for mid in ids:
            directory = dest / safe_message_dirname(mid)
            on_disk = {p.name: sha256(p.read_bytes()) for p in directory.iterdir()}
            assert on_disk == gateway.expected(mid), mid
        # 0 temp files
        assert list(dest.rglob("*.part")) == []
        assert list((dest / ".as2gw" / "staging").iterdir()) == []
        # acknowledged, each once (from waiting to done), never before its files were safe
        assert [mid for mid in ids if not gateway.acknowledged(mid)] == []
        assert gateway.watch.premature == []
        assert {mid: n for mid, n in gateway.watch.transitions.items() if n != 1} == {}
        assert set(gateway.watch.transitions) == set(ids)
        journal = _journal(dest)
        stored = [r["id"] for r in journal if r["state"] == "stored"]
        assert sorted(set(stored)) == sorted(ids)
