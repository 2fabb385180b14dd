"""Scenario ``bulk``: thousands of small attachments, as fast as the client can fetch them.

What it measures: files per second, client CPU seconds and peak RSS of downloading the one
32 KiB attachment of each of 2,000 received messages (200 with ``--quick``), the server's
rate limit off, at concurrency 16 and 64: as2gw_async one file at a time under a semaphore
(``download_attachment``) and all at once (``batch_download``: 100 messages a request, a
zip each), against raw httpx (``asyncio.gather`` + semaphore), raw aiohttp (the same), and
a plain synchronous ``requests`` loop (what a typical script does).

Why it is fair: one emulator process serves the same 2,000 messages to every variant, each
in its own fresh process; each variant authorizes inside its timing, uses the same
concurrency and the same connection pool size (``max_connections`` = ``max_keepalive`` =
concurrency), streams each body to a file in its library's chunks and the figures only count
if every file has the expected size. The client-side rate limiter of as2gw_async is off, as
the server's is. as2gw_async also writes each file atomically (temporary file, fsync,
rename) and names it from ``Content-Disposition``; the baselines write ``<n>.bin``, each of
them twice: directly (what a casual script does) and through the same temp + fsync + rename
+ directory fsync (equal durability, done inline as a script would); both ratios are
quoted.
``batch_download`` is as2gw_async's own way to do this job (it needs 1/100th of the
requests); it runs ``concurrency`` batch requests at a time.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ._durable import output
from ._harness import (
    Case,
    Config,
    Emulator,
    Scenario,
    VariantRuns,
    available,
    fmt,
    ratio,
    run_cases,
    worker_case,
)
from ._worker import Meter

MODULE = "benchmarks.bulk"
CHUNK = 64 * 1024
SIZE = 32 * 1024


# --------------------------------------------------------------------------- variants


def _ids(params: dict[str, Any]) -> list[str]:
    ids: list[str] = json.loads(Path(params["ids_path"]).read_text())
    return ids[: params.get("limit") or len(ids)]


def _check_dir(dest: str, n: int) -> dict[str, Any]:
    """Count the files written under ``dest`` and their bytes (outside the timing)."""
    files = 0
    total = 0
    for root, _dirs, names in os.walk(dest):
        for name in names:
            if name.endswith(".part"):
                continue
            files += 1
            total += os.path.getsize(os.path.join(root, name))
    if files != n or total != n * SIZE:
        raise AssertionError(f"{files} files of {total} bytes, expected {n} of {n * SIZE}")
    return {"files": files, "bytes": total}


def variant_as2gw(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """as2gw_async: ``download_attachment`` per message, ``concurrency`` at a time."""
    import asyncio

    import as2gw_async as gw

    from ._prototypes import apply
    from ._transports import close_http_client, session_kwargs

    apply(params.get("prototype"))
    ids = _ids(params)

    async def main() -> dict[str, Any]:
        s = gw.Session(
            params["username"],
            params["password"],
            base_url=params["base_url"],
            rate_limit=None,
            **session_kwargs(params),
        )
        sem = asyncio.Semaphore(params["concurrency"])

        async def one(mid: str) -> None:
            async with sem:
                await s.received.download_attachment(mid, params["dest"])

        meter.start()
        async with s:
            await asyncio.gather(*(one(mid) for mid in ids))
        await close_http_client(s)
        meter.stop()
        return {"client_requests": s.stats.requests}

    out = asyncio.run(main())
    return {**out, **_check_dir(params["dest"], len(ids))}


def variant_as2gw_aiohttp(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """as2gw_async per file, over the httpx-aiohttp transport."""
    return variant_as2gw({**params, "transport": "aiohttp"}, meter)


def variant_as2gw_batch(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """as2gw_async: one ``batch_download`` call for every id."""
    import asyncio
    import inspect

    import as2gw_async as gw

    from ._prototypes import apply
    from ._transports import close_http_client, session_kwargs

    apply(params.get("prototype"))
    ids = _ids(params)

    async def main() -> dict[str, Any]:
        s = gw.Session(
            params["username"],
            params["password"],
            base_url=params["base_url"],
            rate_limit=None,
            **session_kwargs(params),
        )
        kwargs: dict[str, Any] = {}
        if "concurrency" in inspect.signature(s.received.batch_download).parameters:
            kwargs["concurrency"] = params["concurrency"]
        meter.start()
        async with s:
            result = await s.received.batch_download(ids, params["dest"], **kwargs)
        await close_http_client(s)
        meter.stop()
        if result.errors:
            raise AssertionError(
                f"{len(result.errors)} errors, e.g. {next(iter(result.errors.items()))}"
            )
        return {"client_requests": s.stats.requests, "batch_requests": result.requests}

    out = asyncio.run(main())
    return {**out, **_check_dir(params["dest"], len(ids))}


def variant_as2gw_batch_aiohttp(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """as2gw_async ``batch_download`` over the httpx-aiohttp transport."""
    return variant_as2gw_batch({**params, "transport": "aiohttp"}, meter)


def variant_as2gw_inline(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """Per file, with the proposed fixes' upper bound (a prototype, see _prototypes.py)."""
    return variant_as2gw({**params, "prototype": "inline"}, meter)


def variant_as2gw_inline_aiohttp(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """The upper bound above, over the aiohttp transport."""
    return variant_as2gw({**params, "prototype": "inline", "transport": "aiohttp"}, meter)


def variant_as2gw_batch_inline(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """``batch_download`` with extraction in the event loop (prototype upper bound)."""
    return variant_as2gw_batch({**params, "prototype": "inline"}, meter)


def variant_as2gw_batch_inline_aiohttp(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """The batch upper bound above, over the aiohttp transport."""
    return variant_as2gw_batch({**params, "prototype": "inline", "transport": "aiohttp"}, meter)


def variant_httpx(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """Raw httpx: ``asyncio.gather`` + semaphore, ``client.stream`` and write each chunk."""
    import asyncio
    from urllib.parse import quote

    import httpx

    ids = _ids(params)
    conc = params["concurrency"]
    base = params["base_url"]
    dest = Path(params["dest"])
    durable = params.get("durable", False)

    async def main() -> None:
        limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
        client = httpx.AsyncClient(timeout=60, limits=limits)
        sem = asyncio.Semaphore(conc)
        meter.start()
        async with client:
            auth = await client.post(
                f"{base}/authorize",
                json={"username": params["username"], "password": params["password"]},
            )
            auth.raise_for_status()
            headers = {"Authorization": auth.json()["token"]}

            async def one(n: int, mid: str) -> None:
                url = f"{base}/message/received/{quote(mid, safe='')}/attachments"
                async with sem, client.stream("GET", url, headers=headers) as r:
                    r.raise_for_status()
                    with output(dest / f"{n}.bin", durable) as f:
                        async for chunk in r.aiter_bytes():
                            f.write(chunk)

            await asyncio.gather(*(one(n, mid) for n, mid in enumerate(ids)))
        meter.stop()

    asyncio.run(main())
    return _check_dir(params["dest"], len(ids))


def variant_aiohttp(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """Raw aiohttp: ``asyncio.gather`` + semaphore, ``iter_chunked(64 KiB)`` and write."""
    import asyncio
    from urllib.parse import quote

    import aiohttp
    import yarl

    ids = _ids(params)
    conc = params["concurrency"]
    base = params["base_url"]
    dest = Path(params["dest"])
    durable = params.get("durable", False)

    async def main() -> None:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conc))
        sem = asyncio.Semaphore(conc)
        meter.start()
        async with session:
            async with session.post(
                f"{base}/authorize",
                json={"username": params["username"], "password": params["password"]},
            ) as auth:
                auth.raise_for_status()
                headers = {"Authorization": (await auth.json())["token"]}

            async def one(n: int, mid: str) -> None:
                url = yarl.URL(
                    f"{base}/message/received/{quote(mid, safe='')}/attachments", encoded=True
                )
                async with sem, session.get(url, headers=headers) as r:
                    r.raise_for_status()
                    with output(dest / f"{n}.bin", durable) as f:
                        async for chunk in r.content.iter_chunked(CHUNK):
                            f.write(chunk)

            await asyncio.gather(*(one(n, mid) for n, mid in enumerate(ids)))
        meter.stop()

    asyncio.run(main())
    return _check_dir(params["dest"], len(ids))


def variant_requests(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """A plain synchronous ``requests`` loop: one download after the other."""
    from urllib.parse import quote

    import requests

    ids = _ids(params)
    base = params["base_url"]
    dest = Path(params["dest"])
    durable = params.get("durable", False)
    session = requests.Session()
    meter.start()
    with session:
        auth = session.post(
            f"{base}/authorize",
            json={"username": params["username"], "password": params["password"]},
            timeout=60,
        )
        auth.raise_for_status()
        headers = {"Authorization": auth.json()["token"]}
        for n, mid in enumerate(ids):
            url = f"{base}/message/received/{quote(mid, safe='')}/attachments"
            with session.get(url, headers=headers, stream=True, timeout=60) as r:
                r.raise_for_status()
                with output(dest / f"{n}.bin", durable) as f:
                    for chunk in r.iter_content(CHUNK):
                        f.write(chunk)
    meter.stop()
    return _check_dir(params["dest"], len(ids))


def variant_httpx_fsync(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """Raw httpx, each file written as durably as as2gw_async (temp, fsync, rename)."""
    return variant_httpx({**params, "durable": True}, meter)


def variant_aiohttp_fsync(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """Raw aiohttp, each file written as durably as as2gw_async."""
    return variant_aiohttp({**params, "durable": True}, meter)


def variant_requests_fsync(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """The ``requests`` loop, each file written as durably as as2gw_async."""
    return variant_requests({**params, "durable": True}, meter)


# --------------------------------------------------------------------------- scenario

KEYS = ["wall", "cpu", "peak_rss_mb", "files_per_s", "server_cpu", "server_requests"]
LATENCY = 0.010
LATENCY_VARIANTS = [
    ("requests@1", "requests loop (sequential)", 1),
    ("as2gw@16", "as2gw_async download_attachment", 16),
    ("as2gw_batch@16", "as2gw_async batch_download", 16),
    ("httpx@16", "raw httpx", 16),
    ("aiohttp@16", "raw aiohttp", 16),
    ("requests_fsync@1", "requests loop + fsync (sequential)", 1),
    ("httpx_fsync@16", "raw httpx + fsync", 16),
    ("aiohttp_fsync@16", "raw aiohttp + fsync", 16),
    ("as2gw_aiohttp@16", "as2gw_async download_attachment [aiohttp transport]", 16),
]
PER_CONCURRENCY = [
    ("as2gw", "as2gw_async download_attachment"),
    ("as2gw_batch", "as2gw_async batch_download"),
    ("httpx", "raw httpx"),
    ("aiohttp", "raw aiohttp"),
    ("httpx_fsync", "raw httpx + fsync"),
    ("aiohttp_fsync", "raw aiohttp + fsync"),
    ("as2gw_aiohttp", "as2gw_async download_attachment [aiohttp transport]"),
    ("as2gw_batch_aiohttp", "as2gw_async batch_download [aiohttp transport]"),
    # prototypes of proposed fixes (see _prototypes.py): measured, never judged
    ("as2gw_inline", "as2gw_async download_attachment + proposed fixes (upper bound)"),
    ("as2gw_batch_inline", "as2gw_async batch_download + proposed fixes (upper bound)"),
    (
        "as2gw_inline_aiohttp",
        "as2gw_async download_attachment + proposed fixes [aiohttp transport]",
    ),
    (
        "as2gw_batch_inline_aiohttp",
        "as2gw_async batch_download + proposed fixes [aiohttp transport]",
    ),
]


def run(cfg: Config) -> Scenario:
    from ._transports import aiohttp_transport_available

    n = 200 if cfg.quick else 2000
    lat_n = 100 if cfg.quick else 500
    concurrencies = [16, 64]
    reps = cfg.reps
    sc = Scenario(
        "bulk",
        "bulk: many small attachments",
        __doc__.split("\n\n")[1].replace("\n", " ") if __doc__ else "",
        params={
            "messages": n,
            "attachment_bytes": SIZE,
            "concurrency": concurrencies,
            "repetitions": reps,
        },
    )
    variants = [
        v for v in PER_CONCURRENCY if "aiohttp]" not in v[1] or aiohttp_transport_available()
    ]
    with Emulator(cfg.scratch / "as2gw-bench-emulator") as emu:
        username, password = emu.credentials()
        ids = emu.seed(n, attachments=(1, 1), size=(SIZE, SIZE), seed=8)
        ids_path = cfg.scratch / f"as2gw-bench-bulk-ids-{emu.port}.json"
        ids_path.write_text(json.dumps(ids))
        common = {
            "base_url": emu.base_url,
            "username": username,
            "password": password,
            "ids_path": str(ids_path),
        }
        try:
            cases: list[Case] = [
                worker_case(
                    key,
                    label,
                    MODULE,
                    key,
                    {**common, "concurrency": 1},
                )
                for key, label in (
                    ("requests", "requests loop (sequential)"),
                    ("requests_fsync", "requests loop + fsync (sequential)"),
                )
            ]
            for conc in concurrencies:
                for key, label in variants:
                    cases.append(
                        worker_case(
                            f"{key}@{conc}",
                            f"{label} @{conc}",
                            MODULE,
                            key,
                            {**common, "concurrency": conc},
                        )
                    )
            # warm-up (not recorded): first connections, first code paths on both sides
            warm = {**common, "concurrency": 16, "limit": 200}
            run_cases(
                cfg,
                emu,
                [worker_case("warm", "warm-up", MODULE, "httpx", warm)],
                1,
                tag="bulk-warmup",
            )
            runs = run_cases(cfg, emu, cases, reps, tag="bulk")
            # the same job 10 ms away (a nearby network): what concurrency is for
            emu.configure(latency=LATENCY)
            lat = {**common, "limit": lat_n}
            lat_cases = [
                worker_case(key, label, MODULE, key.split("@")[0], {**lat, "concurrency": conc})
                for key, label, conc in LATENCY_VARIANTS
                if "aiohttp]" not in label or aiohttp_transport_available()
            ]
            lat_runs = run_cases(cfg, emu, lat_cases, reps, tag="bulk-latency")
        finally:
            ids_path.unlink(missing_ok=True)
    for vr in runs.values():
        for r in vr.runs:
            if "unavailable" not in r:
                r["files_per_s"] = n / r["wall"]
                r["server_requests"] = r["server"]["requests"]
    for vr in lat_runs.values():
        for r in vr.runs:
            if "unavailable" not in r:
                r["files_per_s"] = lat_n / r["wall"]
                r["server_requests"] = r["server"]["requests"]
    sc.variants = {k: v.as_json(KEYS) for k, v in runs.items()}
    sc.variants["latency_10ms"] = {k: v.as_json(KEYS) for k, v in lat_runs.items()}
    sc.params["latency_messages"] = lat_n
    _tables(sc, runs, concurrencies, n)
    _latency_table(sc, lat_runs, lat_n)
    return sc


def _latency_table(sc: Scenario, runs: dict[str, VariantRuns], n: int) -> None:
    keys = [k for k, _, _ in LATENCY_VARIANTS if available(runs.get(k))]
    req = runs["requests@1"]
    sc.table(
        f"the same job with {LATENCY * 1000:.0f} ms server latency, {n} messages, "
        f"concurrency 16 (median of {len(req.runs)})",
        ["figure", *[runs[k].label for k in keys]],
        [
            ["files/s", *[fmt(runs[k].median("files_per_s"), 0) for k in keys]],
            ["wall time", *[fmt(runs[k].median("wall"), 3, "s") for k in keys]],
            ["client CPU", *[fmt(runs[k].median("cpu"), 3, "s") for k in keys]],
            [
                "speed-up over the requests loop",
                *[
                    fmt(ratio(runs[k].median("files_per_s"), req.median("files_per_s")), 1, "x")
                    for k in keys
                ],
            ],
        ],
    )


def _tables(sc: Scenario, runs: dict[str, VariantRuns], concs: list[int], n: int) -> None:
    req = runs["requests"]
    for conc in concs:
        keys = [f"{k}@{conc}" for k, _ in PER_CONCURRENCY if available(runs.get(f"{k}@{conc}"))]
        keys += [k for k in ("requests", "requests_fsync") if available(runs.get(k))]
        h = runs[f"httpx@{conc}"]
        hf = runs.get(f"httpx_fsync@{conc}")
        hf_fps = hf.median("files_per_s") if hf is not None and available(hf) else float("nan")
        rows = []
        for k in keys:
            vr = runs[k]
            rows.append(
                [
                    vr.label.rsplit(" @", 1)[0],
                    fmt(vr.median("files_per_s"), 0),
                    fmt(ratio(vr.median("files_per_s"), h.median("files_per_s")), 2, "x"),
                    fmt(ratio(vr.median("files_per_s"), hf_fps), 2, "x"),
                    fmt(vr.median("wall"), 3, "s"),
                    fmt(vr.median("cpu"), 3, "s"),
                    fmt(vr.median("peak_rss_mb"), 1, "MiB"),
                    fmt(vr.median("server_requests"), 0),
                    fmt(vr.median("server_cpu"), 2, "s"),
                ]
            )
        sc.table(
            f"concurrency {conc}, {n} messages (median of {len(h.runs)}; the requests loop is "
            "sequential)",
            [
                "variant",
                "files/s",
                "vs raw httpx",
                "vs raw httpx + fsync",
                "wall time",
                "client CPU",
                "peak RSS",
                "HTTP requests",
                "server CPU",
            ],
            rows,
        )

    for conc in concs:
        per, h = runs.get(f"as2gw@{conc}"), runs[f"httpx@{conc}"]
        if available(per):
            assert per is not None
            r = ratio(per.median("files_per_s"), h.median("files_per_s"))
            hf = runs.get(f"httpx_fsync@{conc}")
            hf_fps = hf.median("files_per_s") if hf is not None and available(hf) else float("nan")
            sc.target(
                f"per-file path >= 0.9x raw httpx files/s @{conc} (without / with fsync)",
                ">= 0.9x",
                f"{fmt(r, 2, 'x')} without fsync ({fmt(per.median('files_per_s'), 0)} vs "
                f"{fmt(h.median('files_per_s'), 0)} files/s); "
                f"{fmt(ratio(per.median('files_per_s'), hf_fps), 2, 'x')} against raw httpx + "
                f"fsync ({fmt(hf_fps, 0)})",
                r >= 0.9,
            )
        else:
            sc.target(
                f"per-file path >= 0.9x raw httpx files/s @{conc}",
                ">= 0.9x",
                "n/a (not landed)",
                None,
            )
        batch = runs.get(f"as2gw_batch@{conc}")
        if available(batch):
            assert batch is not None
            others = {
                k: v.median("files_per_s")
                for k, v in runs.items()
                if not k.startswith("as2gw_batch")
                and "inline" not in k
                and available(v)
                and (k.endswith(f"@{conc}") or k == "requests")
            }
            best_key = max(others, key=lambda k: others[k])
            b = batch.median("files_per_s")
            sc.target(
                f"batch_download the fastest of all @{conc}",
                "fastest",
                f"{fmt(b, 0)} files/s; next best {runs[best_key].label}: "
                f"{fmt(others[best_key], 0)} ({fmt(ratio(b, others[best_key]), 2, 'x')})",
                b >= others[best_key],
            )
        else:
            sc.target(
                f"batch_download the fastest of all @{conc}", "fastest", "n/a (not landed)", None
            )
        paths = {
            name: ratio(vr.median("files_per_s"), req.median("files_per_s"))
            for name, vr in (("per-file", per), ("batch_download", batch))
            if vr is not None and available(vr)
        }
        if paths:
            best = max(paths.values())
            sc.target(
                f"as2gw_async >= 3x the requests loop @{conc}",
                ">= 3x",
                ", ".join(f"{k} {fmt(v, 2, 'x')}" for k, v in paths.items())
                + f" (requests loop: {fmt(req.median('files_per_s'), 0)} files/s)",
                best >= 3,
            )
