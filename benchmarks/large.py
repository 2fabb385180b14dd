"""Scenario ``large``: one big generated attachment streamed to disk.

What it measures: wall time, throughput, client CPU seconds and peak RSS of downloading one
attachment of 512 MiB (64 MiB with ``--quick``, 1 GiB more with ``--full``) and of 10 MiB,
with ``s.received.download_attachment`` and with what a user would otherwise write: raw
``httpx.AsyncClient.stream`` plus ``file.write``, aiohttp plus ``file.write``, and
``curl -o`` (C, no Python at all: the practical ceiling of this server on this machine).

Why it is fair: every client runs in its own fresh process against the same emulator process
and the same attachment, reads the body in the chunks its library gives (64 KiB reads for
httpx and aiohttp), writes it to the same file system and checks the size it wrote. The
baselines authorize too, inside their timing, as as2gw_async does. as2gw_async additionally
writes to a temporary file, fsyncs it and renames it into place (its durability promise);
that cost is in its figures, not hidden, and each raw baseline runs twice: writing plainly
(what a casual script does) and with the same temp + fsync + rename + directory fsync
(equal durability); both ratios are quoted. Peak RSS is the whole process's (imports included):
the 10 MiB and 512 MiB runs together show whether memory grows with the body size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._durable import output
from ._harness import (
    MB,
    Case,
    Config,
    Emulator,
    Scenario,
    VariantRuns,
    available,
    fmt,
    ratio,
    run_cases,
    run_command,
    worker_case,
)
from ._worker import Meter

MODULE = "benchmarks.large"
CHUNK = 64 * 1024


# --------------------------------------------------------------------------- variants


def variant_as2gw(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """as2gw_async: ``s.received.download_attachment(id, dest)``."""
    import asyncio

    import as2gw_async as gw

    from ._prototypes import apply
    from ._transports import close_http_client, session_kwargs

    apply(params.get("prototype"))

    async def main() -> dict[str, Any]:
        s = gw.Session(
            params["username"],
            params["password"],
            base_url=params["base_url"],
            rate_limit=None,
            **session_kwargs(params),
        )
        meter.start()
        async with s:
            f = await s.received.download_attachment(params["message_id"], params["dest"])
        await close_http_client(s)
        meter.stop()
        return {"bytes": Path(f.path).stat().st_size, "requests": s.stats.requests}

    return _check(asyncio.run(main()), params)


def variant_as2gw_aiohttp(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """as2gw_async over the optional httpx-aiohttp transport."""
    return variant_as2gw({**params, "transport": "aiohttp"}, meter)


def variant_as2gw_chunk(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """as2gw_async with the proposed read-size fix (a prototype, see _prototypes.py)."""
    return variant_as2gw({**params, "prototype": "chunk"}, meter)


def variant_httpx(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """Raw httpx: authorize, then ``client.stream`` and write each chunk."""
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
            headers = {"Authorization": auth.json()["token"]}
            url = f"{base}/message/received/{quote(params['message_id'], safe='')}/attachments"
            path = Path(params["dest"]) / "attachment.bin"
            async with client.stream("GET", url, headers=headers) as r:
                r.raise_for_status()
                with output(path, params.get("durable", False)) as f:
                    async for chunk in r.aiter_bytes():
                        f.write(chunk)
        meter.stop()
        return {"bytes": path.stat().st_size}

    return _check(asyncio.run(main()), params)


def variant_aiohttp(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """Raw aiohttp: authorize, then ``resp.content.iter_chunked(64 KiB)`` and write."""
    import asyncio
    from urllib.parse import quote

    import aiohttp
    import yarl

    async def main() -> dict[str, Any]:
        base = params["base_url"]
        session = aiohttp.ClientSession()
        meter.start()
        async with session:
            async with session.post(
                f"{base}/authorize",
                json={"username": params["username"], "password": params["password"]},
            ) as auth:
                auth.raise_for_status()
                headers = {"Authorization": (await auth.json())["token"]}
            mid = quote(params["message_id"], safe="")
            url = yarl.URL(f"{base}/message/received/{mid}/attachments", encoded=True)
            path = Path(params["dest"]) / "attachment.bin"
            async with session.get(url, headers=headers) as r:
                r.raise_for_status()
                with output(path, params.get("durable", False)) as f:
                    async for chunk in r.content.iter_chunked(CHUNK):
                        f.write(chunk)
        meter.stop()
        return {"bytes": path.stat().st_size}

    return _check(asyncio.run(main()), params)


def variant_httpx_fsync(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """Raw httpx, writing as durably as as2gw_async (temp, fsync, rename, dir fsync)."""
    return variant_httpx({**params, "durable": True}, meter)


def variant_aiohttp_fsync(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """Raw aiohttp, writing as durably as as2gw_async."""
    return variant_aiohttp({**params, "durable": True}, meter)


def _check(result: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    if result["bytes"] != params["size"]:
        raise AssertionError(f"wrote {result['bytes']} bytes, expected {params['size']}")
    return result


def curl_case(key: str, emu: Emulator, message_id: str, size: int, token: str) -> Case:
    """``curl -o``: its wall time, CPU seconds and peak RSS from the kernel (``wait4``)."""
    from urllib.parse import quote

    url = f"{emu.base_url}/message/received/{quote(message_id, safe='')}/attachments"

    def run(dest: Path) -> dict[str, Any]:
        path = dest / "attachment.bin"
        res = run_command(
            ["curl", "-sS", "-f", "-o", str(path), "-H", f"Authorization: {token}", url],
            sample_hwm=True,
        )
        if res["returncode"] != 0:
            raise RuntimeError(f"curl failed: {res['stderr']}")
        got = path.stat().st_size
        if got != size:
            raise AssertionError(f"curl wrote {got} bytes, expected {size}")
        return {
            "wall": res["wall_total"],
            "cpu": res["cpu_total"],
            "peak_rss_mb": res["vm_hwm_mb"],
            "rss_start_mb": float("nan"),
            "rss_growth_mb": float("nan"),
            "bytes": got,
        }

    return Case(key, "curl -o", run)


# --------------------------------------------------------------------------- scenario

VARIANTS = [
    ("as2gw", "as2gw_async"),
    ("httpx", "raw httpx"),
    ("aiohttp", "raw aiohttp"),
    ("httpx_fsync", "raw httpx + fsync"),
    ("aiohttp_fsync", "raw aiohttp + fsync"),
    ("as2gw_aiohttp", "as2gw_async [aiohttp transport]"),
    ("as2gw_chunk", "as2gw_async + proposed aiter_bytes() fix"),
]
KEYS = ["wall", "cpu", "peak_rss_mb", "rss_growth_mb", "throughput_mib_s", "server_cpu"]


def sizes_for(cfg: Config) -> list[int]:
    if cfg.quick:
        return [10 * MB, 64 * MB]
    sizes = [10 * MB, 512 * MB]
    if cfg.full:
        sizes.append(1024 * MB)
    return sizes


MIN_REPS = 7


def _label(size: int) -> str:
    return f"{size // (1024 * MB)} GiB" if size >= 1024 * MB else f"{size // MB} MiB"


def run(cfg: Config) -> Scenario:
    sizes = sizes_for(cfg)
    big = max(s for s in sizes if s <= 512 * MB)
    # At least 7: one 512 MiB download's CPU time varied from 1.0 s to 1.6 s between identical
    # runs of the same variant on the benchmark VM (tmpfs page allocation), and the target
    # is a 5% ratio. Each run takes about a second.
    reps = 1 if cfg.quick else max(cfg.reps, MIN_REPS)
    sc = Scenario(
        "large",
        "large: one big attachment streamed to disk",
        __doc__.split("\n\n")[1].replace("\n", " ") if __doc__ else "",
        params={"sizes": sizes, "repetitions": reps, "scratch": str(cfg.scratch)},
    )
    from ._transports import aiohttp_transport_available

    variants = [v for v in VARIANTS if v[0] != "as2gw_aiohttp" or aiohttp_transport_available()]
    results: dict[int, dict[str, VariantRuns]] = {}
    with Emulator(cfg.scratch / "as2gw-bench-emulator") as emu:
        username, password = emu.credentials()
        token = emu.token()
        for size in sizes:
            mid = emu.deliver_generated(f"large-{size}.bin", size, seed=size % 997)
            common = {
                "base_url": emu.base_url,
                "username": username,
                "password": password,
                "message_id": mid,
                "size": size,
            }
            cases = [worker_case(k, lbl, MODULE, k, common) for k, lbl in variants]
            cases.append(curl_case("curl", emu, mid, size, token))
            # warm-up (not recorded): the server builds its generated pages once
            run_command(
                ["curl", "-sS", "-o", "/dev/null", "-H", f"Authorization: {token}", _url(emu, mid)]
            )
            cfg.log(f"large: {_label(size)}")
            runs = run_cases(cfg, emu, cases, reps, tag=f"large-{_label(size)}")
            for vr in runs.values():
                for r in vr.runs:
                    if "wall" in r and r.get("wall") == r.get("wall"):
                        r["throughput_mib_s"] = size / MB / r["wall"]
            results[size] = runs
            sc.variants[_label(size)] = {k: v.as_json(KEYS) for k, v in runs.items()}

    _tables(sc, results, sizes, big)
    return sc


def _url(emu: Emulator, mid: str) -> str:
    from urllib.parse import quote

    return f"{emu.base_url}/message/received/{quote(mid, safe='')}/attachments"


def _tables(
    sc: Scenario, results: dict[int, dict[str, VariantRuns]], sizes: list[int], big: int
) -> None:
    keys = [
        "as2gw",
        "httpx",
        "aiohttp",
        "httpx_fsync",
        "aiohttp_fsync",
        "curl",
        "as2gw_aiohttp",
        "as2gw_chunk",
    ]
    for size in sizes:
        runs = results[size]
        present = [k for k in keys if available(runs.get(k))]
        cols = [
            "figure",
            *[runs[k].label for k in present],
            "as2gw_async / raw httpx",
            "as2gw_async / raw httpx + fsync",
        ]

        def row(
            name: str,
            key: str,
            unit: str,
            digits: int = 2,
            runs: dict[str, VariantRuns] = runs,
            present: list[str] = present,
        ) -> list[str]:
            vals = [runs[k].median(key) for k in present]
            a = runs["as2gw"].median(key) if "as2gw" in present else float("nan")
            h = runs["httpx"].median(key) if "httpx" in present else float("nan")
            hf = runs["httpx_fsync"].median(key) if "httpx_fsync" in present else float("nan")
            return [
                name,
                *[fmt(v, digits, unit) for v in vals],
                fmt(ratio(a, h), 2, "x"),
                fmt(ratio(a, hf), 2, "x"),
            ]

        sc.table(
            f"{_label(size)} attachment (median of {len(runs['httpx'].runs)})",
            cols,
            [
                row("throughput", "throughput_mib_s", "MiB/s", 0),
                row("wall time", "wall", "s", 3),
                row("client CPU", "cpu", "s", 3),
                row("peak RSS", "peak_rss_mb", "MiB", 1),
                row("RSS growth during download", "rss_growth_mb", "MiB", 1),
                row("server CPU", "server_cpu", "s", 2),
            ],
        )

    runs = results[big]
    small = results[min(sizes)]
    if not available(runs.get("as2gw")):
        sc.target("throughput >= 0.95x raw httpx", ">= 0.95x", "n/a (not landed)", None)
        sc.target("peak RSS <= raw httpx + 10 MiB", "<= +10 MiB", "n/a (not landed)", None)
        sc.target("peak RSS flat from 10 MiB to big body", "flat", "n/a (not landed)", None)
        return
    a_tp, h_tp = runs["as2gw"].median("throughput_mib_s"), runs["httpx"].median("throughput_mib_s")
    r = ratio(a_tp, h_tp)
    hf_tp = (
        runs["httpx_fsync"].median("throughput_mib_s")
        if available(runs.get("httpx_fsync"))
        else float("nan")
    )
    sc.target(
        f"throughput >= 0.95x raw httpx ({_label(big)}; without / with fsync in the baseline)",
        ">= 0.95x",
        f"{fmt(r, 2, 'x')} without fsync ({fmt(a_tp, 0, 'MiB/s')} vs {fmt(h_tp, 0, 'MiB/s')}); "
        f"{fmt(ratio(a_tp, hf_tp), 2, 'x')} against raw httpx + fsync "
        f"({fmt(hf_tp, 0, 'MiB/s')})",
        r >= 0.95,
    )
    a_rss, h_rss = runs["as2gw"].median("peak_rss_mb"), runs["httpx"].median("peak_rss_mb")
    sc.target(
        f"peak RSS <= raw httpx + 10 MiB ({_label(big)})",
        "<= +10 MiB",
        f"{a_rss - h_rss:+.1f} MiB ({fmt(a_rss, 1, 'MiB')} vs {fmt(h_rss, 1, 'MiB')})",
        a_rss - h_rss <= 10,
    )
    a_small = small["as2gw"].median("peak_rss_mb")
    h_small = small["httpx"].median("peak_rss_mb")
    sc.target(
        f"peak RSS flat from {_label(min(sizes))} to {_label(big)} (as2gw_async)",
        "growth <= 5 MiB",
        f"{fmt(a_small, 1, 'MiB')} -> {fmt(a_rss, 1, 'MiB')} ({a_rss - a_small:+.1f} MiB); "
        f"raw httpx {fmt(h_small, 1, 'MiB')} -> {fmt(h_rss, 1, 'MiB')} "
        f"({h_rss - h_small:+.1f} MiB)",
        a_rss - a_small <= 5,
    )
