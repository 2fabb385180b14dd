"""ECGrid emulator: the ways to run it (thread handle, in-loop, run_forever, bare ASGI app)."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest

from as2gw_async.emulator.ecgrid import (
    DEFAULT_API_KEY,
    ECGridState,
    create_app,
    run_forever,
    serve_ecgrid,
    start,
)


def test_start_in_a_thread_from_sync_code() -> None:
    state = ECGridState(api_keys=("k1", "k2"))
    state.seed_inbox(2)
    with start(state) as emu:
        assert emu.api_keys == ["k1", "k2"]
        assert emu.base_url.startswith("http://127.0.0.1:")
        r = httpx.post(
            emu.base_url + "/v2/parcels/pending-inbox-list", json={}, headers={"X-API-Key": "k2"}
        )
        assert len(r.json()["data"]) == 2
        assert emu.stats.requests == 1
    # stopped: the port no longer answers
    with pytest.raises(httpx.TransportError):
        httpx.get(emu.base_url + "/v2/auth/version", timeout=2)


async def test_serve_in_loop() -> None:
    async with serve_ecgrid() as emu, httpx.AsyncClient(base_url=emu.base_url) as http:
        r = await http.post("/v2/auth/login", json={"login": emu.login, "password": emu.password})
        assert r.json()["data"]["userId"] == emu.state.user_id
        assert emu.api_key == DEFAULT_API_KEY


class _Lines:
    """A text stream that wakes a waiter when a line starting with ``prefix`` is written."""

    def __init__(self, prefix: str) -> None:
        self.text = ""
        self.prefix = prefix
        self.seen = asyncio.Event()

    def write(self, s: str) -> int:
        self.text += s
        if any(line.startswith(self.prefix) for line in self.text.splitlines()):
            self.seen.set()
        return len(s)

    def flush(self) -> None:
        pass


async def test_run_forever_prints_ready_lines() -> None:
    out = _Lines("ECGRID_EMULATOR_PASSWORD ")
    task = asyncio.create_task(run_forever(port=0, out=out))  # type: ignore[arg-type]
    try:
        await asyncio.wait_for(out.seen.wait(), 60)
        lines = dict(line.split(" ", 1) for line in out.text.splitlines())
        base_url = lines["ECGRID_EMULATOR_READY"]
        async with httpx.AsyncClient(base_url=base_url) as http:
            r = await http.post(
                "/v2/auth/session", headers={"X-API-Key": lines["ECGRID_EMULATOR_API_KEY"]}
            )
            assert r.json()["data"]["login"] == lines["ECGRID_EMULATOR_LOGIN"]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_asgi_app_without_sockets() -> None:
    state = ECGridState(page_shape=2)
    state.seed_inbox(3)
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://ecgrid") as http:
        r = await http.post(
            "/v2/parcels/inbox-list",
            json={"recordsPerPage": 2, "pageNo": 2},
            headers={"X-API-Key": DEFAULT_API_KEY},
        )
        assert r.json()["data"]["totalRecords"] == 3
        assert len(r.json()["data"]["parcels"]) == 1
        pid = r.json()["data"]["parcels"][0]["parcelId"]
        r = await http.post(
            "/v2/parcels/download", json={"parcelId": pid}, headers={"X-API-Key": DEFAULT_API_KEY}
        )
        assert r.json()["data"]["bytes"] == state.parcel(pid).size
