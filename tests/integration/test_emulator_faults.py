"""Fault plans, latency and rate limiting: each fault type over real sockets."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
import pytest

from as2gw_async.emulator import EmulatorServer, FaultPlan, Gateway

from .conftest import login, q


@pytest.fixture
def mid(as2gw_gateway: Gateway) -> str:
    return as2gw_gateway.deliver(attachments=[("doc.bin", bytes(range(256)) * 400)])


@pytest.mark.parametrize("status", ["500", "502", "503"])
async def test_server_errors(
    api: httpx.AsyncClient, as2gw_gateway: Gateway, mid: str, status: str
) -> None:
    as2gw_gateway.faults = FaultPlan(rate=0.0).script(status)
    r = await api.get(f"/message/received/{q(mid)}", params={"markAsRead": "true"})
    assert r.status_code == int(status)
    assert set(r.json()) == {"message"}
    assert not as2gw_gateway.is_read(mid)  # answered before processing
    assert (await api.get(f"/message/received/{q(mid)}")).status_code == 200
    assert as2gw_gateway.stats.faults[status] == 1


async def test_429_with_retry_after(api: httpx.AsyncClient, as2gw_gateway: Gateway) -> None:
    as2gw_gateway.faults = FaultPlan(rate=0.0, retry_after=0.25).script("429")
    r = await api.get("/message/received")
    assert r.status_code == 429
    assert r.headers["retry-after"] == "0.25"
    assert "message" in r.json()
    as2gw_gateway.faults = FaultPlan(rate=0.0, retry_after=2).script("429")
    r = await api.get("/message/received")
    assert r.headers["retry-after"] == "2"
    assert as2gw_gateway.stats.throttled == 2


async def _raw_exchange(server: EmulatorServer, request: bytes) -> tuple[dict[str, str], bytes]:
    """Send one raw request; return the response headers and the body bytes received until
    the server closed the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(request)
    await writer.drain()
    data = b""
    try:
        while chunk := await reader.read(65536):
            data += chunk
    except ConnectionResetError:
        pass
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    headers[":status"] = lines[0].split(" ")[1]
    return headers, body


@pytest.mark.parametrize("kind", ["reset", "short"])
async def test_truncated_bodies(
    api: httpx.AsyncClient,
    as2gw_gateway: Gateway,
    as2gw_emulator: EmulatorServer,
    mid: str,
    kind: str,
) -> None:
    url = f"/message/received/{q(mid)}/attachments/0"
    as2gw_gateway.faults = FaultPlan(rate=0.0).script(kind)
    with pytest.raises(httpx.RemoteProtocolError):
        await api.get(url, params={"markAsRead": "true"})
    # processed before the body broke off: the read mark is set (clients must cope)
    assert as2gw_gateway.is_read(mid)
    # over the wire: full Content-Length declared, fewer bytes, then the line closes
    as2gw_gateway.faults = FaultPlan(rate=0.0).script(kind)
    token = api.headers["Authorization"]
    headers, body = await _raw_exchange(
        as2gw_emulator,
        f"GET /v1{url} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {token}\r\n\r\n".encode(),
    )
    assert headers[":status"] == "200"
    declared = int(headers["content-length"])
    assert declared == 102400
    assert 0 < len(body) < declared
    # and the next request is fine
    assert (await api.get(url)).status_code == 200


async def test_reset_on_a_json_response(api: httpx.AsyncClient, as2gw_gateway: Gateway) -> None:
    as2gw_gateway.seed(5)
    as2gw_gateway.faults = FaultPlan(rate=0.0).script("reset", route="list")
    assert (await api.get("/_emulator/stats")).status_code == 404  # not a v1 route, no fault
    with pytest.raises(httpx.RemoteProtocolError):
        await api.get("/message/received")
    assert (await api.get("/message/received")).json()["totalRecords"] == 5


async def test_expire_token(
    api: httpx.AsyncClient, as2gw_gateway: Gateway, as2gw_emulator: EmulatorServer
) -> None:
    as2gw_gateway.faults = FaultPlan(rate=0.0).script("expire_token")
    r = await api.get("/message/received")
    assert r.status_code == 401
    assert "expired" in r.json()["message"]
    assert (await api.get("/message/received")).status_code == 401  # expired for good
    await login(api, as2gw_emulator)
    assert (await api.get("/message/received")).status_code == 200


async def test_latency(api: httpx.AsyncClient, as2gw_gateway: Gateway) -> None:
    as2gw_gateway.faults = FaultPlan(rate=0.0, latency=(0.2, 0.2)).script("latency")
    t0 = time.perf_counter()
    r = await api.get("/message/received")
    assert r.status_code == 200
    assert time.perf_counter() - t0 >= 0.2
    as2gw_gateway.faults = None
    as2gw_gateway.latency = 0.1
    t0 = time.perf_counter()
    await api.get("/message/received")
    assert time.perf_counter() - t0 >= 0.1


async def _statuses(server: EmulatorServer, n: int) -> list[int | str]:
    out: list[int | str] = []
    async with httpx.AsyncClient(base_url=server.base_url) as c:
        await login(c, server)
        for _ in range(n):
            try:
                out.append((await c.get("/message/received")).status_code)
            except httpx.HTTPError as exc:
                out.append(type(exc).__name__)
    return out


async def test_seeded_plans_are_reproducible(as2gw_emulator: EmulatorServer) -> None:
    kinds = ("429", "500", "503", "reset", "short")
    runs = []
    for _ in range(2):
        as2gw_emulator.gateway.faults = FaultPlan(
            seed=42, rate=0.5, kinds=kinds, retry_after=0, routes=("list",)
        )
        runs.append(await _statuses(as2gw_emulator, 30))
    assert runs[0] == runs[1]
    assert 200 in runs[0]
    assert len(set(runs[0])) >= 4
    as2gw_emulator.gateway.faults = FaultPlan(
        seed=43, rate=0.5, kinds=kinds, retry_after=0, routes=("list",)
    )
    assert await _statuses(as2gw_emulator, 30) != runs[0]


async def test_faults_only_on_chosen_routes_and_never_on_control(
    api: httpx.AsyncClient, control: httpx.AsyncClient, as2gw_gateway: Gateway, mid: str
) -> None:
    as2gw_gateway.faults = FaultPlan(rate=1.0, kinds=("503",), routes=("attachment",))
    assert (await api.get("/message/received")).status_code == 200
    assert (await api.get(f"/message/received/{q(mid)}/attachments")).status_code == 503
    as2gw_gateway.faults = FaultPlan(rate=1.0, kinds=("503",))
    assert (await control.get("/_emulator/stats")).status_code == 200
    assert (await api.get("/message/received")).status_code == 503


def test_plan_validation() -> None:
    with pytest.raises(ValueError, match="kinds"):
        FaultPlan(kinds=("teapot",))
    with pytest.raises(ValueError, match="routes"):
        FaultPlan(routes=("nowhere",))
    with pytest.raises(ValueError, match="rate"):
        FaultPlan(rate=2.0)
    a = FaultPlan(seed=1, rate=0.3)
    b = FaultPlan(seed=1, rate=0.3)
    assert [a.decide("list") for _ in range(100)] == [b.decide("list") for _ in range(100)]


@pytest.mark.as2gw_emulator(rate_limit=(3, 30.0))
async def test_rate_limit_per_account(
    api: httpx.AsyncClient, as2gw_gateway: Gateway, as2gw_emulator: EmulatorServer
) -> None:
    for _ in range(3):
        assert (await api.get("/message/received")).status_code == 200
    r = await api.get("/message/received")
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) >= 1
    assert as2gw_gateway.stats.rate_limited == 1
    # another account has its own window
    as2gw_gateway.add_account("other@example.com", "pw")
    async with httpx.AsyncClient(base_url=as2gw_emulator.base_url) as c:
        r = await c.post("/authorize", json={"username": "other@example.com", "password": "pw"})
        c.headers["Authorization"] = r.json()["token"]
        assert (await c.get("/message/received")).status_code == 200


async def test_stats(api: httpx.AsyncClient, as2gw_gateway: Gateway, mid: str) -> None:
    await api.get("/message/received")
    await api.get(f"/message/received/{q(mid)}")
    await api.get(f"/message/received/{q(mid)}/attachments")
    await api.get(f"/message/received/{q(mid)}/attachments/all")
    await api.get(f"/message/received/{q(mid)}/mdn")
    await api.post("/message/received/batch/attachments", json=[mid])
    await api.post(f"/message/received/{q(mid)}/markUnread")
    await api.post("/message/RJ_Station/RJ_Partner", headers={"Name": "n"}, content=b"x")
    await api.post(f"/message/queued/{q('<x>')}/stop")
    await api.post(f"/message/queued/{q('<x>')}/retry")
    stats = as2gw_gateway.stats.as_dict()
    assert stats["routes"] == {
        "authorize": 1,
        "list": 1,
        "get": 1,
        "attachment": 1,
        "zip": 1,
        "mdn": 1,
        "batch": 1,
        "mark_unread": 1,
        "send": 1,
        "stop": 1,
        "retry": 1,
    }
    assert stats["requests"] == 11
    assert stats["statuses"] == {"200": 8, "202": 1, "404": 2}


async def test_keep_alive_requests_are_not_delayed_by_nagle() -> None:
    # regression: without TCP_NODELAY every keep-alive response waited ~40 ms for an ACK.
    # Checked on the socket itself, not by timing requests: the emulator's listening
    # socket must say it is TCP, or asyncio leaves Nagle on for the connections it accepts.
    from as2gw_async.emulator.server import _bind

    listener = _bind("127.0.0.1", 0)
    accepted: asyncio.Queue[int] = asyncio.Queue()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        await accepted.put(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(handle, sock=listener)
    async with server:
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        nodelay = await asyncio.wait_for(accepted.get(), 60)
        writer.close()
    assert nodelay != 0
