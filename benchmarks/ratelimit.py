"""Scenario ``ratelimit``: drain 5,000 unread messages at the gateway's real rate limit.

What it measures: wall time of ``InboxConsumer`` draining N unread messages (5,000 by
default, ``--ratelimit-messages N``; 300 with ``--quick``) while the emulator enforces the
gateway's documented limit, 50 requests per 10 s per account (answering 429 beyond it), and
the session's own client-side limiter is on at the same rate (its default). The floor is
the time the requests the job needs take at that rate: ``minimum / (50 / 10 s)``, where the
minimum is one listing page, one batch download and one mark-read batch per 100 messages
plus one final empty listing (authorize, which the gateway does not limit, excluded).
Target: wall time <= 1.05x that floor, and not one 429 from the server. ``--quick`` scales
the rate down in time (5 per 1 s) so that a few hundred messages still meet the limit.

Why it is fair: the floor counts the requests needed, not the ones made, so a client that
makes more requests than needed pays for each one (the table gives both counts); every run
starts with N fresh unread messages and an idle rate window.
"""

from __future__ import annotations

import math
import time
from itertools import count
from typing import Any

from ._harness import (
    Config,
    Emulator,
    Scenario,
    VariantRuns,
    available,
    fmt,
    run_cases,
    worker_case,
)
from ._worker import Meter

MODULE = "benchmarks.ratelimit"
#: the gateway's documented limit: 50 requests per 10 seconds per account
RATE = (50, 10.0)
QUICK_RATE = (5, 1.0)
DEFAULT_MESSAGES = 5000
QUICK_MESSAGES = 300


def variant_consumer(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """as2gw_async ``InboxConsumer`` with the session's limiter at the gateway's rate."""
    import asyncio

    import as2gw_async as gw

    async def main() -> dict[str, Any]:
        s = gw.Session(
            params["username"],
            params["password"],
            base_url=params["base_url"],
            rate_limit=gw.RateLimit(*params["rate"]),
        )
        delivered = 0
        seen: set[str] = set()
        duplicates = 0
        surfaced = 0
        meter.start()
        async with s:
            try:
                async with gw.InboxConsumer(s, params["dest"]) as consumer:
                    async for d in consumer:
                        delivered += 1
                        duplicates += d.as2_message_id in seen
                        seen.add(d.as2_message_id)
            except gw.RateLimitError:
                surfaced += 1
        meter.stop()
        return {
            "delivered": delivered,
            "duplicates": duplicates,
            "surfaced_429": surfaced,
            "client_requests": s.stats.requests,
            "client_rate_limited": s.stats.rate_limited,
        }

    return asyncio.run(main())


KEYS = ["wall", "cpu", "peak_rss_mb", "api_requests", "server_429", "floor_s", "vs_floor"]


def safe_minimum(n: int) -> int:
    """List, download and mark-read batches per 100 messages, plus one final empty list."""
    return 3 * math.ceil(n / 100) + 1


def run(cfg: Config) -> Scenario:
    n = cfg.ratelimit_messages or (QUICK_MESSAGES if cfg.quick else DEFAULT_MESSAGES)
    rate = QUICK_RATE if cfg.quick else RATE
    per_second = rate[0] / rate[1]
    reps = cfg.reps
    sc = Scenario(
        "ratelimit",
        f"ratelimit: drain {n:,} unread messages at {rate[0]} requests / {rate[1]:g} s",
        __doc__.split("\n\n")[1].replace("\n", " ") if __doc__ else "",
        params={"messages": n, "rate_limit": list(rate), "repetitions": reps},
    )
    seeds = count(500)
    with Emulator(cfg.scratch / "as2gw-bench-emulator") as emu:
        username, password = emu.credentials()

        def fresh_inbox() -> dict[str, Any]:
            # N new unread messages (the last run's are read); then an idle rate window
            emu.configure(rateLimit=None)
            emu.seed(n, attachments=(1, 1), size=(256, 1024), seed=next(seeds))
            emu.configure(rateLimit=list(rate))
            time.sleep(rate[1] * 1.2)
            return {}

        common = {
            "base_url": emu.base_url,
            "username": username,
            "password": password,
            "rate": list(rate),
        }
        case = worker_case(
            "consumer",
            "as2gw_async InboxConsumer, limiter on",
            MODULE,
            "consumer",
            common,
            prepare=fresh_inbox,
            timeout=max(900.0, 3 * safe_minimum(n) / per_second),
        )
        runs = run_cases(cfg, emu, [case], reps, tag="ratelimit")
    for vr in runs.values():
        for r in vr.runs:
            if "unavailable" in r:
                continue
            routes = dict(r["server"]["routes"])
            routes.pop("authorize", None)
            r["api_requests"] = sum(routes.values())
            r["routes"] = routes
            r["server_429"] = int(r["server"]["statuses"].get("429", 0))
            r["floor_s"] = safe_minimum(n) / per_second
            r["vs_floor"] = r["wall"] / r["floor_s"]
            if r["delivered"] != n or r["duplicates"]:
                raise AssertionError(f"delivered {r['delivered']} of {n}, {r['duplicates']} twice")
    sc.variants = {k: v.as_json(KEYS) for k, v in runs.items()}
    _tables(sc, runs["consumer"], n, rate)
    return sc


def _tables(sc: Scenario, vr: VariantRuns, n: int, rate: tuple[int, float]) -> None:
    if not available(vr):
        sc.target("wall <= 1.05x requests needed / rate", "<= 1.05x", "n/a", None)
        return
    sc.table(
        f"{n:,} unread messages, server limit {rate[0]} / {rate[1]:g} s, session limiter on "
        f"(median of {len(vr.runs)})",
        ["figure", vr.label],
        [
            ["wall time", fmt(vr.median("wall"), 2, "s")],
            ["API requests (server count, authorize excluded)", fmt(vr.median("api_requests"), 0)],
            [
                "minimum for this job (list + download + mark, per 100; final list)",
                str(safe_minimum(n)),
            ],
            ["requests made / minimum", fmt(vr.median("api_requests") / safe_minimum(n), 3, "x")],
            ["floor: minimum requests / allowed rate", fmt(vr.median("floor_s"), 2, "s")],
            ["wall / floor", fmt(vr.median("vs_floor"), 3, "x")],
            ["429 answers from the server", fmt(vr.median("server_429"), 0)],
            ["client CPU", fmt(vr.median("cpu"), 2, "s")],
            ["peak RSS", fmt(vr.median("peak_rss_mb"), 1, "MiB")],
        ],
    )
    worst = max(r["vs_floor"] for r in vr.runs)
    got_429 = max(r["server_429"] for r in vr.runs)
    sc.target(
        "rate-limited drain: wall <= 1.05x (requests needed / allowed rate)",
        "<= 1.05x",
        f"{fmt(vr.median('vs_floor'), 3, 'x')} median, {fmt(worst, 3, 'x')} worst "
        f"({fmt(vr.median('wall'), 1, 's')}; {fmt(vr.median('api_requests'), 0)} requests "
        f"made, {safe_minimum(n)} needed)",
        vr.median("vs_floor") <= 1.05,
    )
    sc.target(
        "rate-limited drain: no 429 from the server",
        "0",
        f"{got_429} (worst run)",
        got_429 == 0,
    )
