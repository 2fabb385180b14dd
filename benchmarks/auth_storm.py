"""Scenario ``auth``: 1,000 concurrent calls that all start with an expired token.

What it measures: how many ``/authorize`` requests reach the server (it must be one), the
time to the first successful response and to the last, for 1,000 concurrent
``s.received.get(id)`` calls (200 with ``--quick``) made by a session whose token has just
expired. Two ways to expire it: on the server (the emulator revokes every token, so each
call's first attempt gets 401: the session must refresh once, not once per call) and by the
clock (the token's ``expiry`` has passed, so the session knows before sending anything).
For contrast, the usual hand-written pattern with raw httpx, "on 401, authorize again and
retry", is run under the server-side expiry.

Why it is fair: the same emulator, the same 64-connection pool for every variant, the token
obtained before the timing starts in every case, and the authorize count read from the
emulator's own request counters (as well as from the session's ``stats.authorizations``).
"""

from __future__ import annotations

import json
import time
import urllib.request
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

MODULE = "benchmarks.auth_storm"
CONNECTIONS = 64


def _control(origin: str, method: str, route: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        f"{origin}/_emulator/{route}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read() or b"null")


def _authorize_count(origin: str) -> tuple[int, int]:
    stats = _control(origin, "GET", "stats")
    return int(stats["routes"].get("authorize", 0)), int(stats["statuses"].get("401", 0))


def variant_as2gw(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """as2gw_async: N concurrent ``s.received.get(id)`` right after the token expired."""
    import asyncio

    import as2gw_async as gw

    origin = params["origin"]
    ids: list[str] = params["ids"]
    n = params["calls"]

    from ._transports import close_http_client, session_kwargs

    async def main() -> dict[str, Any]:
        s = gw.Session(
            params["username"],
            params["password"],
            base_url=params["base_url"],
            rate_limit=None,
            **session_kwargs({**params, "concurrency": CONNECTIONS}),
        )
        async with s:
            if params["expire"] == "clock":
                _control(origin, "POST", "config", {"tokenTtl": 1.0})
                await s.login()
                _control(origin, "POST", "config", {"tokenTtl": 86400.0})
                await asyncio.sleep(max(0.0, (s.token_expires_at or 0) - time.time()) + 0.05)
            else:
                await s.login()
                _control(origin, "POST", "expire-tokens", {})
            auth0, unauth0 = _authorize_count(origin)
            client_auth0 = s.stats.authorizations
            first: list[float] = []

            async def one(i: int) -> None:
                await s.received.get(ids[i % len(ids)])
                if not first:
                    first.append(meter.since_start())

            meter.start()
            await asyncio.gather(*(one(i) for i in range(n)))
            meter.stop()
        await close_http_client(s)
        auth1, unauth1 = _authorize_count(origin)
        return {
            "authorize_requests": auth1 - auth0,
            "session_authorizations": s.stats.authorizations - client_auth0,
            "server_401": unauth1 - unauth0,
            "first_response_s": first[0],
            "client_requests": s.stats.requests,
        }

    return asyncio.run(main())


def variant_naive(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """Raw httpx: a shared token; any call that gets 401 authorizes again and retries."""
    import asyncio
    from urllib.parse import quote

    import httpx

    base, origin = params["base_url"], params["origin"]
    ids: list[str] = params["ids"]
    n = params["calls"]
    creds = {"username": params["username"], "password": params["password"]}

    async def main() -> dict[str, Any]:
        limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            token = {"value": (await client.post(f"{base}/authorize", json=creds)).json()["token"]}
            _control(origin, "POST", "expire-tokens", {})
            auth0, unauth0 = _authorize_count(origin)
            first: list[float] = []

            async def one(i: int) -> None:
                url = f"{base}/message/received/{quote(ids[i % len(ids)], safe='')}"
                r = await client.get(url, headers={"Authorization": token["value"]})
                if r.status_code == 401:
                    a = await client.post(f"{base}/authorize", json=creds)
                    token["value"] = a.json()["token"]
                    r = await client.get(url, headers={"Authorization": token["value"]})
                r.raise_for_status()
                if not first:
                    first.append(meter.since_start())

            meter.start()
            await asyncio.gather(*(one(i) for i in range(n)))
            meter.stop()
        auth1, unauth1 = _authorize_count(origin)
        return {
            "authorize_requests": auth1 - auth0,
            "server_401": unauth1 - unauth0,
            "first_response_s": first[0],
        }

    return asyncio.run(main())


# --------------------------------------------------------------------------- scenario

KEYS = ["wall", "first_response_s", "authorize_requests", "server_401", "cpu", "peak_rss_mb"]


def run(cfg: Config) -> Scenario:
    from ._transports import aiohttp_transport_available

    n = 200 if cfg.quick else 1000
    reps = cfg.reps
    sc = Scenario(
        "auth",
        f"auth storm: {n:,} concurrent calls starting with an expired token",
        __doc__.split("\n\n")[1].replace("\n", " ") if __doc__ else "",
        params={"calls": n, "connections": CONNECTIONS, "repetitions": reps},
    )
    with Emulator(cfg.scratch / "as2gw-bench-emulator") as emu:
        username, password = emu.credentials()
        ids = emu.seed(20, attachments=(1, 2), size=(64, 2048), seed=5)
        common = {
            "base_url": emu.base_url,
            "origin": emu.origin,
            "username": username,
            "password": password,
            "ids": ids,
            "calls": n,
        }
        cases = [
            worker_case(
                "server",
                "as2gw_async, token revoked by the server",
                MODULE,
                "as2gw",
                {**common, "expire": "server"},
            ),
            worker_case(
                "clock",
                "as2gw_async, token past its expiry",
                MODULE,
                "as2gw",
                {**common, "expire": "clock"},
            ),
            worker_case("naive", "raw httpx, re-authorize on 401", MODULE, "naive", common),
        ]
        if aiohttp_transport_available():
            cases.append(
                worker_case(
                    "server_aiohttp",
                    "as2gw_async [aiohttp transport], token revoked by the server",
                    MODULE,
                    "as2gw",
                    {**common, "expire": "server", "transport": "aiohttp"},
                )
            )
        runs = run_cases(cfg, emu, cases, reps, tag="auth")
    sc.variants = {k: v.as_json(KEYS) for k, v in runs.items()}
    _tables(sc, runs, n)
    return sc


def _tables(sc: Scenario, runs: dict[str, VariantRuns], n: int) -> None:
    keys = [k for k in ("server", "clock", "naive", "server_aiohttp") if available(runs.get(k))]

    def row(name: str, key: str, unit: str, digits: int = 2) -> list[str]:
        return [name, *[fmt(runs[k].median(key), digits, unit) for k in keys]]

    def worst(key: str) -> list[str]:
        return [f"{max(r[key] for r in runs[k].runs)}" for k in keys]

    sc.table(
        f"{n:,} concurrent received.get() calls, {CONNECTIONS} connections "
        f"(median of {len(runs['server'].runs)}; authorize counts: the worst run)",
        ["figure", *[runs[k].label for k in keys]],
        [
            ["authorize requests (server count)", *worst("authorize_requests")],
            row("401 answers", "server_401", "", 0),
            row("time to first response", "first_response_s", "s", 3),
            row("time to last response", "wall", "s", 3),
            row("client CPU", "cpu", "s", 3),
            row("peak RSS", "peak_rss_mb", "MiB", 1),
        ],
    )
    for key, what in (
        ("server", "revoked by the server"),
        ("clock", "past its expiry"),
        ("server_aiohttp", "revoked by the server, aiohttp transport"),
    ):
        if not available(runs.get(key)):
            sc.target(f"one authorize ({what})", "1", "n/a", None)
            continue
        worst_count = max(r["authorize_requests"] for r in runs[key].runs)
        sc.target(
            f"one authorize for {n:,} calls, token {what}",
            "1",
            f"{worst_count} (session counted "
            f"{max(r['session_authorizations'] for r in runs[key].runs)}); first response "
            f"after {fmt(runs[key].median('first_response_s') * 1000, 1, 'ms')}",
            worst_count == 1,
        )
