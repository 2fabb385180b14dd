"""Consumer processes on one emulator, journaled in one PostgreSQL, and the checks that
define "each message once across hosts" (used by the crash and database-restart tests)."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from as2gw_async.files import safe_message_dirname

HERE = Path(__file__).parent
MAIN = HERE / "_pg_consumer_main.py"


def start_emulator(*args: str) -> tuple[subprocess.Popen[str], str]:
    """The v1 emulator in a process of its own (its state outlives the consumers)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "as2gw_async.emulator", "--host", "127.0.0.1", "--port", "0",
         *args],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("AS2GW_EMULATOR_READY"):
            return proc, line.split()[1]
    proc.kill()
    raise RuntimeError("the emulator did not start")


class Consumer:
    """One 'host': a dest_dir and the consumer processes run for it, one at a time."""

    def __init__(
        self, name: str, root: Path, url: str, dsn: str, prefix: str, lease: float, work: float
    ) -> None:
        self.name = name
        self.dest = root / name
        self.url, self.dsn, self.prefix, self.lease = url, dsn, prefix, lease
        self.work = work
        self.runs = 0
        self.killed_runs: set[int] = set()
        self.proc: subprocess.Popen[str] | None = None
        self.root = root

    def log(self, run: int) -> Path:
        return self.root / f"{self.name}.run{run}.handed"

    def stderr(self, run: int | None = None) -> str:
        """What a run (the latest by default) logged."""
        path = self.root / f"{self.name}.run{run or self.runs}.stderr"
        return path.read_text() if path.exists() else ""

    def start(self) -> None:
        self.runs += 1
        with (self.root / f"{self.name}.run{self.runs}.stderr").open("w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, str(MAIN), self.url, str(self.dest), self.dsn, self.prefix,
                 str(self.lease), str(self.log(self.runs)), str(self.work)],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )  # fmt: skip
        assert self.proc.stdout is not None
        started = self.proc.stdout.readline()
        assert started.startswith("CONSUMER_STARTED"), started

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.killed_runs.add(self.runs)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def handed(self) -> Iterator[tuple[str, bool, str]]:
        """(message id, killed run?, which run) for each hand-over to this host's code."""
        for run in range(1, self.runs + 1):
            path = self.log(run)
            if not path.exists():
                continue
            for line in path.read_text().splitlines():
                mid, _, _ = line.partition("\t")
                yield mid, run in self.killed_runs, f"{self.name}#{run}"


def check_once_across_hosts(
    control: httpx.Client, consumers: list[Consumer], rows: list[tuple[Any, ...]]
) -> dict[str, int]:
    """Every message handed over, at most once but after a kill; its files once across the
    hosts (plus copies left by killed runs); marked read; one final row per message."""
    ids = control.get("/messages/received").json()["ids"]
    # handed to exactly one consumer's code, again only after that code's process was killed
    handings: dict[str, list[tuple[bool, str]]] = {}
    for c in consumers:
        for mid, killed, run in c.handed():
            handings.setdefault(mid, []).append((killed, run))
    assert sorted(handings) == sorted(ids), "a message never reached any consumer's code"
    repeated = 0
    for mid, runs in handings.items():
        repeated += len(runs) - 1
        # a repeat only after a kill: at most one hand-over in a run that was not killed
        alive = [run for killed, run in runs if not killed]
        assert len(alive) <= 1, f"{mid} handed to the code of live consumers {alive}"
    # files: byte-identical; one copy, plus copies in hosts whose consumer was killed
    copies = Counter[str]()
    extra_ok = 0
    for mid in ids:
        info = control.get(f"/messages/received/{quote(mid, safe='')}").json()
        assert info["read"], f"{mid} never marked read"
        expected = {a["name"]: a["sha256"] for a in info["attachments"]}
        holders = [c for c in consumers if (c.dest / safe_message_dirname(mid)).is_dir()]
        assert holders, f"{mid}: its files are nowhere"
        for c in holders:
            directory = c.dest / safe_message_dirname(mid)
            on_disk = {
                p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()
            }
            assert on_disk == expected, (mid, c.name)
        copies[mid] = len(holders)
        if len(holders) > 1:
            killed_holders = [c for c in holders if c.killed_runs]
            assert len(killed_holders) >= len(holders) - 1, (mid, [c.name for c in holders])
            extra_ok += len(holders) - 1
    for c in consumers:
        assert not list(c.dest.rglob("*.part"))
        assert not list((c.dest / ".as2gw" / "staging").iterdir())
    dirs = {p.name for c in consumers for p in c.dest.iterdir() if p.name != ".as2gw"}
    assert dirs == {safe_message_dirname(m) for m in ids}, "a directory of no message"
    # the database: one row per message, final, no claim left
    assert sorted(r[0] for r in rows) == sorted(ids)
    assert {(r[1], r[2]) for r in rows} == {("marked", None)}
    return {"messages": len(ids), "repeated_handings": repeated, "extra_copies": extra_ok}
