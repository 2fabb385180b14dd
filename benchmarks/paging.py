"""Scenario ``paging``: list 10,000 received messages through a server 20 ms away.

What it measures: wall time to walk every message of a 10,000-message received folder
(1,000 with ``--quick``) with 20 ms of latency added by the server to every request: as2gw_
async's ``received.iter()`` (which fetches pages ahead concurrently) against the loop a user
writes by hand, one page after the other with raw httpx; against the concurrent loop a
user writes next (raw httpx, page 0 for the total, then ``asyncio.gather`` over 8 pages at a
time); and against the same sequential loop over as2gw_async's own ``received.list()``
(which isolates what prefetching buys).

Why it is fair: every variant asks for the largest page the API allows (100 records), reads
every record, counts them and checks it saw each id once; ``iter()`` is called with its
defaults. The client-side rate limiter is off (the server's is off too). The 20 ms stands
for a real network round trip; the server's own work per page (filtering and sorting the
folder, serialising 100 messages) is real and is the floor no client can go under.
"""

from __future__ import annotations

from typing import Any

from ._harness import (
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

MODULE = "benchmarks.paging"
LATENCY = 0.020
PAGE = 100
GATHER_WIDTH = 8


def _check(ids: list[str], n: int) -> dict[str, Any]:
    if len(ids) != n or len(set(ids)) != n:
        raise AssertionError(f"saw {len(ids)} records ({len(set(ids))} distinct), expected {n}")
    return {"records": len(ids)}


def variant_iter(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """as2gw_async: ``async for m in s.received.iter()`` with its defaults."""
    import asyncio

    import as2gw_async as gw

    async def main() -> dict[str, Any]:
        s = gw.Session(
            params["username"], params["password"], base_url=params["base_url"], rate_limit=None
        )
        kwargs = {"prefetch": params["prefetch"]} if params.get("prefetch") else {}
        ids: list[str] = []
        meter.start()
        async with s:
            async for m in s.received.iter(**kwargs):
                ids.append(m.as2_message_id)
        meter.stop()
        return {**_check(ids, params["n"]), "client_requests": s.stats.requests}

    return asyncio.run(main())


def variant_list_loop(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """as2gw_async ``received.list()`` page after page (no prefetching)."""
    import asyncio

    import as2gw_async as gw

    async def main() -> dict[str, Any]:
        s = gw.Session(
            params["username"], params["password"], base_url=params["base_url"], rate_limit=None
        )
        ids: list[str] = []
        meter.start()
        async with s:
            page = 0
            while True:
                p = await s.received.list(page_offset=page, page_length=PAGE)
                ids += [m.as2_message_id for m in p.records]
                page += 1
                if page * PAGE >= p.total_records or not p.records:
                    break
        meter.stop()
        return _check(ids, params["n"])

    return asyncio.run(main())


def variant_httpx_loop(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """Raw httpx: the sequential page loop a user writes by hand."""
    import asyncio

    import httpx

    base = params["base_url"]

    async def main() -> dict[str, Any]:
        client = httpx.AsyncClient(timeout=60)
        ids: list[str] = []
        meter.start()
        async with client:
            auth = await client.post(
                f"{base}/authorize",
                json={"username": params["username"], "password": params["password"]},
            )
            auth.raise_for_status()
            headers = {"Authorization": auth.json()["token"]}
            page = 0
            while True:
                r = await client.get(
                    f"{base}/message/received",
                    params={"pageOffset": page, "pageLength": PAGE},
                    headers=headers,
                )
                r.raise_for_status()
                data = r.json()
                ids += [m["as2MessageId"] for m in data["records"]]
                page += 1
                if page * PAGE >= data["totalRecords"] or not data["records"]:
                    break
        meter.stop()
        return _check(ids, params["n"])

    return asyncio.run(main())


def variant_httpx_gather(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """Raw httpx: page 0, then the other pages in rounds of ``asyncio.gather`` 8 wide."""
    import asyncio

    import httpx

    base = params["base_url"]
    width = params.get("width", GATHER_WIDTH)

    async def main() -> dict[str, Any]:
        limits = httpx.Limits(max_connections=width, max_keepalive_connections=width)
        client = httpx.AsyncClient(timeout=60, limits=limits)
        ids: list[str] = []
        meter.start()
        async with client:
            auth = await client.post(
                f"{base}/authorize",
                json={"username": params["username"], "password": params["password"]},
            )
            auth.raise_for_status()
            headers = {"Authorization": auth.json()["token"]}

            async def page(n: int) -> dict[str, Any]:
                r = await client.get(
                    f"{base}/message/received",
                    params={"pageOffset": n, "pageLength": PAGE},
                    headers=headers,
                )
                r.raise_for_status()
                data: dict[str, Any] = r.json()
                return data

            first = await page(0)
            ids += [m["as2MessageId"] for m in first["records"]]
            pages = -(-first["totalRecords"] // PAGE)
            for start in range(1, pages, width):
                got = await asyncio.gather(
                    *(page(n) for n in range(start, min(start + width, pages)))
                )
                for data in got:
                    ids += [m["as2MessageId"] for m in data["records"]]
        meter.stop()
        return _check(ids, params["n"])

    return asyncio.run(main())


# --------------------------------------------------------------------------- scenario

KEYS = ["wall", "cpu", "peak_rss_mb", "server_cpu", "server_requests"]


def run(cfg: Config) -> Scenario:
    n = 1000 if cfg.quick else 10_000
    reps = cfg.reps
    sc = Scenario(
        "paging",
        f"paging: walk a {n:,}-message folder, {LATENCY * 1000:.0f} ms server latency",
        __doc__.split("\n\n")[1].replace("\n", " ") if __doc__ else "",
        params={"messages": n, "latency_s": LATENCY, "page_length": PAGE, "repetitions": reps},
    )
    with Emulator(cfg.scratch / "as2gw-bench-emulator") as emu:
        username, password = emu.credentials()
        emu.seed(n, attachments=(1, 3), size=(64, 4096), seed=4)
        emu.configure(latency=LATENCY)
        common = {
            "base_url": emu.base_url,
            "username": username,
            "password": password,
            "n": n,
        }
        cases = [
            worker_case("iter", "as2gw_async received.iter()", MODULE, "iter", common),
            worker_case("httpx_loop", "raw httpx page loop", MODULE, "httpx_loop", common),
            worker_case(
                "httpx_gather8",
                "raw httpx, asyncio.gather 8 pages at a time",
                MODULE,
                "httpx_gather",
                common,
            ),
            worker_case(
                "list_loop", "as2gw_async received.list() loop", MODULE, "list_loop", common
            ),
            *[
                worker_case(
                    f"iter_prefetch{p}",
                    f"as2gw_async received.iter(prefetch={p})",
                    MODULE,
                    "iter",
                    {**common, "prefetch": p},
                )
                for p in (8, 16)
            ],
        ]
        runs = run_cases(cfg, emu, cases, reps, tag="paging")
        # the server's own floor: every page fetched with no added latency, sequentially
        emu.configure(latency=0.0)
        floor = run_cases(
            cfg,
            emu,
            [worker_case("floor", "raw httpx page loop, no latency", MODULE, "httpx_loop", common)],
            reps,
            tag="paging-floor",
        )
    runs.update(floor)
    for vr in runs.values():
        for r in vr.runs:
            if "unavailable" not in r:
                r["server_requests"] = r["server"]["requests"]
    sc.variants = {k: v.as_json(KEYS) for k, v in runs.items()}
    _tables(sc, runs, n)
    return sc


def _tables(sc: Scenario, runs: dict[str, VariantRuns], n: int) -> None:
    keys = [
        k
        for k in (
            "iter",
            "httpx_loop",
            "httpx_gather8",
            "list_loop",
            "iter_prefetch8",
            "iter_prefetch16",
            "floor",
        )
        if available(runs.get(k))
    ]
    base = runs["httpx_loop"]

    def row(name: str, key: str, unit: str, digits: int = 2) -> list[str]:
        return [name, *[fmt(runs[k].median(key), digits, unit) for k in keys]]

    speed = [
        "speed-up over the raw httpx loop",
        *[fmt(ratio(base.median("wall"), runs[k].median("wall")), 2, "x") for k in keys],
    ]
    sc.table(
        f"{n:,} messages, {n // PAGE} pages of {PAGE} (median of {len(base.runs)})",
        ["figure", *[runs[k].label for k in keys]],
        [
            row("wall time", "wall", "s", 3),
            speed,
            row("client CPU", "cpu", "s", 3),
            row("server CPU", "server_cpu", "s", 2),
            row("HTTP requests (server)", "server_requests", "", 0),
            row("peak RSS", "peak_rss_mb", "MiB", 1),
        ],
    )
    if not available(runs.get("iter")):
        sc.target("received.iter() >= 4x the sequential loop", ">= 4x", "n/a (not landed)", None)
        return
    it = runs["iter"]
    r = ratio(base.median("wall"), it.median("wall"))
    sc.target(
        "received.iter() >= 4x faster than the sequential page loop",
        ">= 4x",
        f"{fmt(r, 2, 'x')} ({fmt(it.median('wall'), 3, 's')} vs "
        f"{fmt(base.median('wall'), 3, 's')})",
        r >= 4,
    )
    gather = runs.get("httpx_gather8")
    if available(gather):
        assert gather is not None
        g = ratio(gather.median("wall"), it.median("wall"))
        sc.target(
            "received.iter() >= 1.0x the 8-wide asyncio.gather loop",
            ">= 1.0x",
            f"{fmt(g, 2, 'x')} ({fmt(it.median('wall'), 3, 's')} vs "
            f"{fmt(gather.median('wall'), 3, 's')}; client CPU "
            f"{fmt(it.median('cpu'), 3, 's')} vs {fmt(gather.median('cpu'), 3, 's')})",
            g >= 1.0,
        )
    if available(runs.get("floor")):
        fl = runs["floor"]
        pages = max(1, n // PAGE)
        server = fl.median("server_cpu")
        ceiling = ratio(base.median("wall"), server)
        sc.notes.append(
            f"The emulator spends {fmt(server / pages * 1000, 1, 'ms')} of CPU per page "
            f"(it filters and sorts the whole {n:,}-message folder for each one), "
            f"{fmt(server, 2, 's')} for all {pages} pages, and it is one process: no client "
            f"can walk the folder faster than that, about {fmt(ceiling, 1, 'x')} the "
            f"sequential loop here. Served back to back with no latency, the pages take "
            f"{fmt(fl.median('wall'), 3, 's')}. `iter()` keeps up to 1 + prefetch pages in flight "
            "and keeps that window sliding (each page that completes starts the next), so it "
            "is bound by the server's CPU, not by the 20 ms."
        )
