"""Scenario ``mft``: one big MFT Gateway attachment through its presigned storage link.

What it measures: wall time, throughput, client CPU seconds and peak RSS of downloading one
attachment of 512 MiB (64 MiB with ``--quick``) and of 10 MiB from the MFT emulator's object
store, with ``s.inbox.download_attachments`` and with what a user would otherwise write: raw
httpx (authorize, ask the gateway for the links, ``client.stream`` the link, ``file.write``).

Why it is fair: both clients run in their own fresh process against the same MFT emulator
process (gateway and object store on two loopback ports) and the same attachment, make the
same three calls (authorize, links, the download) inside their timing, and check the size
written. as2gw_async additionally writes to a temporary file, fsyncs it and renames it into
place; that cost is in its figures, and "raw httpx + fsync" pays the same temporary file,
fsync, rename and directory fsync (equal durability). Both read the body in the chunks httpx
gives (64 KiB reads) and write to the same scratch file system (``/dev/shm`` by default).
Peak RSS is the whole process's (imports included).

The MFT emulator is served by ``python -m benchmarks.mft_presigned --serve PORT STORE_PORT``.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ._durable import output
from ._harness import (
    MB,
    REPO_ROOT,
    Config,
    Emulator,
    Scenario,
    VariantRuns,
    _free_port,
    available,
    fmt,
    ratio,
    run_cases,
    worker_case,
)
from ._worker import Meter

MODULE = "benchmarks.mft_presigned"
READY = "MFTGW_EMULATOR_READY"
MIN_REPS = 7


# --------------------------------------------------------------------------- variants


def variant_as2gw(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """as2gw_async: ``s.inbox.download_attachments(id, dest)`` (mft.Session)."""
    import asyncio

    from as2gw_async import mft

    async def main() -> dict[str, Any]:
        s = mft.Session(
            params["username"], params["password"], base_url=params["base_url"], rate_limit=None
        )
        meter.start()
        async with s:
            [f] = await s.inbox.download_attachments(params["message_id"], params["dest"])
        meter.stop()
        return {"bytes": Path(f.path).stat().st_size, "requests": s.stats.requests}

    return _check(asyncio.run(main()), params)


def variant_httpx(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """Raw httpx: authorize, get the links, ``client.stream`` the link and write each chunk."""
    import asyncio
    from urllib.parse import quote

    import httpx

    async def main() -> dict[str, Any]:
        base = params["base_url"]
        client = httpx.AsyncClient(timeout=60)
        meter.start()
        async with client:
            auth = await client.post(
                f"{base}/authorize",
                json={"username": params["username"], "password": params["password"]},
            )
            auth.raise_for_status()
            headers = {"Authorization": auth.json()["apiToken"]}
            mid = quote(params["message_id"], safe="")
            links = await client.get(f"{base}/message/inbox/{mid}/attachments", headers=headers)
            links.raise_for_status()
            url = links.json()["attachments"][0]["url"]
            path = Path(params["dest"]) / "attachment.bin"
            async with client.stream("GET", url) as r:  # no Authorization to the store
                r.raise_for_status()
                with output(path, params.get("durable", False)) as f:
                    async for chunk in r.aiter_bytes():
                        f.write(chunk)
        meter.stop()
        return {"bytes": path.stat().st_size}

    return _check(asyncio.run(main()), params)


def variant_httpx_fsync(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """Raw httpx as above, as durably as as2gw_async writes: temporary file, fsync, rename
    into place, fsync of the directory (the large scenario's ``_durable.output``)."""
    return variant_httpx({**params, "durable": True}, meter)


def _check(result: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    if result["bytes"] != params["size"]:
        raise AssertionError(f"wrote {result['bytes']} bytes, expected {params['size']}")
    return result


# --------------------------------------------------------------------------- the emulator


class MftBenchEmulator(Emulator):
    """The MFT emulator (gateway + object store) in its own process, for `run_cases`."""

    def start(self, timeout: float = 60.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        store_port = _free_port()
        self.command = [
            sys.executable, "-m", MODULE, "--serve", str(self.port), str(store_port)
        ]  # fmt: skip
        with self._log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                self.command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"MFT emulator exited early:\n{self.log_text()}")
            for line in self.log_text().splitlines():
                if line.startswith(READY):
                    self.base_url = self.origin = line.split(None, 1)[1].strip().rstrip("/")
                    self._wait_healthy(deadline)
                    return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"MFT emulator not ready after {timeout}s:\n{self.log_text()}")

    def reset_stats(self) -> None:
        """The MFT control routes keep counting; figures are taken as differences."""

    def credentials(self) -> tuple[str, str]:
        found = {}
        for line in self.log_text().splitlines():
            for key in ("USERNAME", "PASSWORD"):
                if line.startswith(f"MFTGW_EMULATOR_{key} "):
                    found[key] = line.split(None, 1)[1].strip()
        return found["USERNAME"], found["PASSWORD"]

    def deliver_generated(self, name: str, size: int, seed: int = 1) -> str:
        body = {"attachments": [{"name": name, "generatedSize": size, "seed": seed}]}
        return str(self.control("POST", "deliver", body)["identifier"])


def _serve(port: int, store_port: int) -> None:
    import asyncio

    from as2gw_async.emulator.mft import MftGateway, ready_lines, run

    def ready(server: Any) -> None:
        print("\n".join(ready_lines(server)), flush=True)

    gateway = MftGateway()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(gateway, "127.0.0.1", port, store_port, on_ready=ready))


# --------------------------------------------------------------------------- scenario

VARIANTS = [
    ("as2gw", "as2gw_async (mft)"),
    ("httpx", "raw httpx"),
    ("httpx_fsync", "raw httpx + fsync"),
]
KEYS = ["wall", "cpu", "peak_rss_mb", "rss_growth_mb", "throughput_mib_s", "server_cpu"]


def _label(size: int) -> str:
    return f"{size // MB} MiB"


def run(cfg: Config) -> Scenario:
    sizes = [10 * MB, 64 * MB] if cfg.quick else [10 * MB, 512 * MB]
    big = max(sizes)
    reps = 1 if cfg.quick else max(cfg.reps, MIN_REPS)
    sc = Scenario(
        "mft",
        "mft: one big attachment through a presigned link",
        __doc__.split("\n\n")[1].replace("\n", " ") if __doc__ else "",
        params={"sizes": sizes, "repetitions": reps, "scratch": str(cfg.scratch)},
    )
    results: dict[int, dict[str, VariantRuns]] = {}
    with MftBenchEmulator(cfg.scratch / "as2gw-bench-mft-emulator") as emu:
        username, password = emu.credentials()
        for size in sizes:
            mid = emu.deliver_generated(f"mft-{size}.bin", size, seed=size % 997)
            common = {
                "base_url": emu.base_url,
                "username": username,
                "password": password,
                "message_id": mid,
                "size": size,
            }
            cases = [worker_case(k, lbl, MODULE, k, common) for k, lbl in VARIANTS]
            cfg.log(f"mft: {_label(size)}")
            runs = run_cases(cfg, emu, cases, reps, tag=f"mft-{_label(size)}")
            for vr in runs.values():
                for r in vr.runs:
                    if "wall" in r and r.get("wall") == r.get("wall"):
                        r["throughput_mib_s"] = size / MB / r["wall"]
            results[size] = runs
            sc.variants[_label(size)] = {k: v.as_json(KEYS) for k, v in runs.items()}
    _tables(sc, results, sizes, big)
    return sc


def _tables(
    sc: Scenario, results: dict[int, dict[str, VariantRuns]], sizes: list[int], big: int
) -> None:
    for size in sizes:
        runs = results[size]
        present = [k for k, _ in VARIANTS if available(runs.get(k))]
        cols = ["figure", *[runs[k].label for k in present], "as2gw_async / raw httpx"]

        def row(name: str, key: str, unit: str, digits: int = 2) -> list[str]:
            vals = [runs[k].median(key) for k in present]  # noqa: B023
            a, h = runs["as2gw"].median(key), runs["httpx"].median(key)  # noqa: B023
            return [name, *[fmt(v, digits, unit) for v in vals], fmt(ratio(a, h), 2, "x")]

        sc.table(
            f"{_label(size)} attachment via a presigned link (median of {len(runs['httpx'].runs)})",
            cols,
            [
                row("throughput", "throughput_mib_s", "MiB/s", 0),
                row("wall time", "wall", "s", 3),
                row("client CPU", "cpu", "s", 3),
                row("peak RSS", "peak_rss_mb", "MiB", 1),
                row("server CPU", "server_cpu", "s", 2),
            ],
        )
    runs = results[big]
    a_tp, h_tp = runs["as2gw"].median("throughput_mib_s"), runs["httpx"].median("throughput_mib_s")
    f_tp = runs["httpx_fsync"].median("throughput_mib_s")
    r = ratio(a_tp, h_tp)
    sc.target(
        f"mft throughput >= 0.95x raw httpx ({_label(big)})",
        ">= 0.95x",
        f"{fmt(r, 2, 'x')} ({fmt(a_tp, 0, 'MiB/s')} vs {fmt(h_tp, 0, 'MiB/s')}); "
        f"{fmt(ratio(a_tp, f_tp), 2, 'x')} raw httpx + fsync ({fmt(f_tp, 0, 'MiB/s')})",
        r >= 0.95,
    )
    a_rss, h_rss = runs["as2gw"].median("peak_rss_mb"), runs["httpx"].median("peak_rss_mb")
    sc.target(
        f"mft peak RSS <= raw httpx + 10 MiB ({_label(big)})",
        "<= +10 MiB",
        f"{a_rss - h_rss:+.1f} MiB ({fmt(a_rss, 1, 'MiB')} vs {fmt(h_rss, 1, 'MiB')})",
        a_rss - h_rss <= 10,
    )


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--serve":
    _serve(int(sys.argv[2]), int(sys.argv[3]))
