"""MFT emulator: the /_emulator/ control routes, serve()/run() in a loop, concurrency."""

from __future__ import annotations

import asyncio

import httpx

from as2gw_async.emulator.mft import MftEmulator, MftGateway, MftServer, ready_lines, run, serve

from ._mft_emulator_helpers import api, q


def test_control_routes_drive_the_emulator(mft_emulator: MftEmulator) -> None:
    with httpx.Client(base_url=mft_emulator.base_url + "/_emulator") as ctl, api(mft_emulator) as c:
        health = ctl.get("/health").json()
        assert health == {"status": "ok", "storeUrl": mft_emulator.store_url}
        ids = ctl.post("/seed", json={"n": 3, "sizes": [10, 20]}).json()["ids"]
        assert c.get("/message/inbox").json()["messages"] == list(reversed(ids))
        mid = ctl.post(
            "/deliver",
            json={"attachments": [{"name": "x.txt", "content": "hello"}], "subject": "S"},
        ).json()["identifier"]
        assert mft_emulator.gateway.message(mid).attachments[0].read() == b"hello"
        config = ctl.post("/config", json={"naming": "legacy", "linkTtl": 30}).json()
        assert config["naming"] == "legacy"
        assert "X-Amz-Expires=30" in c.get(f"/message/inbox/{q(mid)}/attachments").text
        ctl.post("/faults", json={"route": "list", "status": 503, "times": 1})
        assert c.get("/message/inbox").status_code == 503
        ctl.post("/store-faults", json={"status": 500})
        assert mft_emulator.store_faults.pending == 1
        ctl.post("/store-faults", json={"clear": True})
        assert mft_emulator.store_faults.pending == 0
        ctl.post("/partners", json={"as2Identifier": "MyPartner", "outcome": "queue"})
        assert mft_emulator.gateway.partner("MyPartner").outcome == "queue"
        ctl.post("/expire-tokens", json={})
        assert c.get("/message/inbox").status_code == 401
        stats = ctl.get("/stats").json()
        assert stats["gateway"]["statuses"]["401"] == 1
        assert stats["store"]["authorization_headers"] == 0
        bad = ctl.post("/release", json={"identifier": "<nope>"})
        assert bad.status_code == 400
        assert ctl.get("/nothing").status_code == 404


async def test_serve_and_run_in_an_event_loop() -> None:
    async with serve(MftGateway()) as server, httpx.AsyncClient() as client:
        r = await client.get(server.base_url + "/message/inbox")
        assert r.status_code == 401
        assert server.store_url == server.gateway.store.base_url
    stop = asyncio.Event()
    lines: list[str] = []

    def ready(server: MftServer) -> None:
        lines.extend(ready_lines(server))
        stop.set()

    await run(MftGateway(), on_ready=ready, stop=stop)
    assert lines[0].startswith("MFTGW_EMULATOR_READY http://127.0.0.1:")
    assert lines[1].startswith("MFTGW_EMULATOR_STORE http://127.0.0.1:")


async def test_200_concurrent_calls(mft_emulator: MftEmulator) -> None:
    ids = mft_emulator.seed_inbox(20, sizes=[16])
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(base_url=mft_emulator.base_url, limits=limits) as c:
        r = await c.post(
            "/authorize",
            json={"username": mft_emulator.username, "password": mft_emulator.password},
        )
        c.headers["Authorization"] = r.json()["apiToken"]
        answers = await asyncio.gather(
            *(
                c.get(f"/message/inbox/{q(ids[i % 20])}", params={"markAsRead": "false"})
                for i in range(200)
            )
        )
    assert [a.status_code for a in answers] == [200] * 200
    assert mft_emulator.stats.routes["get"] == 200
