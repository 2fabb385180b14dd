"""Scenario ``ecgrid``: one big ECGrid parcel downloaded and one uploaded (base64 in JSON).

What it measures: wall time, throughput, client CPU seconds and peak RSS of downloading one
256 MiB parcel (16 MiB with ``--quick``) with ``s.parcels.download`` and of uploading one
with ``s.parcels.upload``, against what a competent user would otherwise write with raw
httpx: ``response.json()`` + ``base64.b64decode`` + ``file.write`` to download, and
``base64.b64encode`` + ``client.post(json=...)`` to upload.

Why it is fair: every client runs in its own fresh process (``benchmarks._worker``) against
the same ECGrid emulator process (uvicorn on loopback) and the same parcel; every variant
sends the same ``X-API-Key`` and checks the size it wrote or the parcel id it got back.
as2gw_async additionally writes to a temporary file, fsyncs and renames it (its durability
promise): that cost is in its figures. Peak RSS is the whole process's (imports included);
"above idle" is the peak minus the RSS right before the transfer started.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from ._harness import (
    MB,
    REPO_ROOT,
    Config,
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

MODULE = "benchmarks.ecgrid"
READY = "ECGRID_EMULATOR_READY"
KEYS = ["wall", "cpu", "peak_rss_mb", "rss_growth_mb", "throughput_mib_s", "server_cpu"]


# --------------------------------------------------------------------------- the emulator


class ECGridEmulator:
    """The ECGrid emulator in its own process (``run_forever``), with its control routes.

    Duck-types what ``run_cases`` needs of the harness's `Emulator`.
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = _free_port()
        self.base_url = ""
        self.api_key = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = workdir / f"ecgrid-emulator-{self.port}.log"

    def __enter__(self) -> ECGridEmulator:
        self.workdir.mkdir(parents=True, exist_ok=True)
        code = (
            "import asyncio; from as2gw_async.emulator.ecgrid import run_forever; "
            f"asyncio.run(run_forever(port={self.port}))"
        )
        with self._log.open("wb") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", code],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO_ROOT,
                env=dict(os.environ, PYTHONUNBUFFERED="1"),
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"ECGrid emulator exited:\n{self._log.read_text()}")
            lines = dict(
                line.split(None, 1) for line in self._log.read_text().splitlines() if " " in line
            )
            if READY in lines and "ECGRID_EMULATOR_API_KEY" in lines:
                self.base_url = lines[READY].strip().rstrip("/")
                self.api_key = lines["ECGRID_EMULATOR_API_KEY"].strip()
                return self
            time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("ECGrid emulator not ready after 60 s")

    def __exit__(self, *exc: object) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def control(self, method: str, route: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.base_url}/_emulator/{route}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=600) as resp:
            return json.loads(resp.read() or b"null")

    def seed(self, size: int) -> int:
        ids = self.control("POST", "seed", {"n": 1, "sizes": [size]})["ids"]
        return int(ids[0])

    def cpu_seconds(self) -> float:
        assert self._proc is not None
        try:
            fields = Path(f"/proc/{self._proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def reset_stats(self) -> None:
        """The ECGrid emulator's counters only grow; each run's are not needed here."""

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.control("GET", "stats")
        return {k: result.get(k) for k in ("requests", "uploads", "downloads")}


# --------------------------------------------------------------------------- variants


def variant_as2gw_download(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """as2gw_async: ``s.parcels.download(pid, dest)`` (streamed base64 decoding)."""
    import asyncio

    from as2gw_async import ecgrid

    async def main() -> dict[str, Any]:
        meter.start()
        async with ecgrid.Session(api_key=params["api_key"], base_url=params["base_url"]) as s:
            f = await s.parcels.download(params["parcel_id"], params["dest"])
        meter.stop()
        return {"bytes": Path(f.path).stat().st_size}

    return _check(asyncio.run(main()), params)


def variant_httpx_download(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """Raw httpx: ``response.json()``, ``base64.b64decode(content)``, one ``write``."""
    import asyncio
    import base64

    import httpx

    async def main() -> dict[str, Any]:
        meter.start()
        async with httpx.AsyncClient(timeout=600) as client:
            r = await client.post(
                f"{params['base_url']}/v2/parcels/download",
                json={"parcelId": params["parcel_id"]},
                headers={"X-API-Key": params["api_key"]},
            )
            r.raise_for_status()
            body = r.json()
            if not body["success"]:
                raise RuntimeError(body)
            data = base64.b64decode(body["data"]["content"])
            path = Path(params["dest"]) / "parcel.bin"
            with open(path, "wb") as f:
                f.write(data)
        meter.stop()
        return {"bytes": path.stat().st_size}

    return _check(asyncio.run(main()), params)


def variant_as2gw_upload(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """as2gw_async: ``s.parcels.upload(path, ...)`` (streamed base64 encoding)."""
    import asyncio

    from as2gw_async import ecgrid

    async def main() -> dict[str, Any]:
        meter.start()
        async with ecgrid.Session(api_key=params["api_key"], base_url=params["base_url"]) as s:
            pid = await s.parcels.upload(params["source"], ecgrid_id_from=1, ecgrid_id_to=2)
        meter.stop()
        return {"parcel_id": pid, "bytes": params["size"]}

    return asyncio.run(main())


def variant_httpx_upload(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """Raw httpx: read the file, ``base64.b64encode``, ``client.post(json=...)``."""
    import asyncio
    import base64

    import httpx

    async def main() -> dict[str, Any]:
        meter.start()
        async with httpx.AsyncClient(timeout=600) as client:
            content = Path(params["source"]).read_bytes()
            r = await client.post(
                f"{params['base_url']}/v2/parcels/upload",
                json={
                    "fileName": "upload.bin",
                    "content": base64.b64encode(content).decode("ascii"),
                    "bytes": len(content),
                    "ecGridIdFrom": 1,
                    "ecGridIdTo": 2,
                },
                headers={"X-API-Key": params["api_key"]},
            )
            r.raise_for_status()
            body = r.json()
            if not body["success"]:
                raise RuntimeError(body)
        meter.stop()
        return {"parcel_id": body["data"], "bytes": params["size"]}

    return asyncio.run(main())


def _check(result: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    if result["bytes"] != params["size"]:
        raise AssertionError(f"wrote {result['bytes']} bytes, expected {params['size']}")
    return result


# --------------------------------------------------------------------------- scenario

VARIANTS = {
    "download": [("as2gw_download", "as2gw_async"), ("httpx_download", "raw httpx")],
    "upload": [("as2gw_upload", "as2gw_async"), ("httpx_upload", "raw httpx")],
}


def size_for(cfg: Config) -> int:
    return 16 * MB if cfg.quick else 256 * MB


def run(cfg: Config) -> Scenario:
    size = size_for(cfg)
    reps = 1 if cfg.quick else max(cfg.reps, 3)
    sc = Scenario(
        "ecgrid",
        "ecgrid: one big parcel downloaded and uploaded (base64 inside JSON)",
        __doc__.split("\n\n")[1].replace("\n", " ") if __doc__ else "",
        params={"size": size, "repetitions": reps, "scratch": str(cfg.scratch)},
    )
    label = f"{size // MB} MiB"
    source = cfg.scratch / f"ecgrid-upload-{size}.bin"
    with source.open("wb") as f:  # outside all timings
        block = os.urandom(1 << 20)
        for _ in range(size // (1 << 20)):
            f.write(block)
    results: dict[str, dict[str, VariantRuns]] = {}
    try:
        with ECGridEmulator(cfg.scratch / "as2gw-bench-ecgrid") as emu:
            pid = emu.seed(size)
            common = {
                "base_url": emu.base_url,
                "api_key": emu.api_key,
                "parcel_id": pid,
                "size": size,
                "source": str(source),
            }
            for what, variants in VARIANTS.items():
                cases = [worker_case(k, lbl, MODULE, k, common) for k, lbl in variants]
                cfg.log(f"ecgrid: {what} {label}")
                runs = run_cases(cfg, emu, cases, reps, tag=f"ecgrid-{what}")  # type: ignore[arg-type]
                for vr in runs.values():
                    for r in vr.runs:
                        if r.get("wall") == r.get("wall"):
                            r["throughput_mib_s"] = size / MB / r["wall"]
                results[what] = runs
                sc.variants[f"{what} {label}"] = {k: v.as_json(KEYS) for k, v in runs.items()}
    finally:
        with contextlib.suppress(OSError):
            source.unlink()
    _tables(sc, results, label)
    return sc


def _tables(sc: Scenario, results: dict[str, dict[str, VariantRuns]], label: str) -> None:
    for what, variants in VARIANTS.items():
        runs = results[what]
        ours, base = (k for k, _ in variants)
        if not (available(runs.get(ours)) and available(runs.get(base))):
            sc.target(f"{what}: measured", "both variants ran", "n/a", None)
            continue
        a, h = runs[ours], runs[base]

        def row(name: str, key: str, unit: str, digits: int = 2, a=a, h=h) -> list[str]:
            x, y = a.median(key), h.median(key)
            return [name, fmt(x, digits, unit), fmt(y, digits, unit), fmt(ratio(x, y), 2, "x")]

        sc.table(
            f"{what} of one {label} parcel (median of {len(a.runs)})",
            ["figure", a.label, h.label, "as2gw_async / raw httpx"],
            [
                row("throughput", "throughput_mib_s", "MiB/s", 0),
                row("wall time", "wall", "s", 3),
                row("client CPU", "cpu", "s", 3),
                row("peak RSS", "peak_rss_mb", "MiB", 1),
                row("RSS above idle (peak - start)", "rss_growth_mb", "MiB", 1),
                row("server CPU", "server_cpu", "s", 2),
            ],
        )
        growth, base_growth = a.median("rss_growth_mb"), h.median("rss_growth_mb")
        sc.target(
            f"{what}: peak RSS <= 40 MiB above idle",
            "<= 40 MiB",
            f"{fmt(growth, 1, 'MiB')} (raw httpx {fmt(base_growth, 1, 'MiB')})",
            growth <= 40,
        )
        peak, base_peak = a.median("peak_rss_mb"), h.median("peak_rss_mb")
        sc.target(
            f"{what}: peak RSS >= 5x lower than raw httpx",
            ">= 5x",
            f"{fmt(ratio(base_peak, peak), 1, 'x')} ({fmt(peak, 1, 'MiB')} vs "
            f"{fmt(base_peak, 1, 'MiB')}); above idle "
            f"{fmt(ratio(base_growth, growth), 1, 'x')}",
            base_peak >= 5 * peak,
        )
        tp = ratio(a.median("throughput_mib_s"), h.median("throughput_mib_s"))
        sc.target(
            f"{what}: throughput >= 1.0x raw httpx",
            ">= 1.0x",
            f"{fmt(tp, 2, 'x')} ({fmt(a.median('throughput_mib_s'), 0, 'MiB/s')} vs "
            f"{fmt(h.median('throughput_mib_s'), 0, 'MiB/s')})",
            tp >= 1.0,
        )
