"""The cheaper idle-connection check installed in the session's own httpx pool."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from as2gw_async import Session
from as2gw_async._httpcore import _Backend, _is_readable, speed_up_pool


def test_is_readable_follows_the_socket() -> None:
    a, b = socket.socketpair()
    with a, b:
        assert not _is_readable(a)  # idle: nothing to read
        b.sendall(b"x")
        assert _is_readable(a)
        a.recv(1)
        b.close()
        assert _is_readable(a)  # the peer closed: EOF is readable
    assert _is_readable(a)  # closed here: fileno() is -1, treated as gone
    assert _is_readable(None)


async def test_the_session_s_own_pool_gets_it_a_client_passed_in_does_not() -> None:
    async with Session("u", "p", base_url="http://127.0.0.1:9/v1") as s:
        pool = s._client._transport._pool  # type: ignore[attr-defined]
        assert isinstance(pool._network_backend, _Backend)
    mine = httpx.AsyncClient()
    async with mine, Session("u", "p", base_url="http://127.0.0.1:9/v1", http_client=mine):
        backend = mine._transport._pool._network_backend  # type: ignore[attr-defined]
        assert not isinstance(backend, _Backend)
    mocked = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    assert speed_up_pool(mocked) is False  # not httpx's own pool: left alone


async def test_a_connection_the_server_closed_is_not_reused() -> None:
    """The point of the check: an idle connection closed by the server is dropped from the
    pool, and the next request opens a new one instead of failing on the dead one."""
    connections = 0
    closed = asyncio.Semaphore(0)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()  # keep-alive was not refused, but the server goes away
        await writer.wait_closed()
        closed.release()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        client = httpx.AsyncClient()
        assert speed_up_pool(client)
        async with client:
            for _ in range(3):
                response = await client.get(f"http://127.0.0.1:{port}/")
                assert response.text == "ok"
                # the server has closed its end (on loopback the FIN is then already in
                # our receive queue): the idle connection is dead before the next request
                await asyncio.wait_for(closed.acquire(), 60)
    assert connections == 3


@pytest.mark.parametrize("info", ["client_addr", "server_addr", "socket", "ssl_object"])
async def test_other_extra_info_is_passed_through(info: str) -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        from httpcore import AnyIOBackend

        raw = await AnyIOBackend().connect_tcp("127.0.0.1", port)
        wrapped = await _Backend(AnyIOBackend()).connect_tcp("127.0.0.1", port)
        try:
            expected = raw.get_extra_info(info)
            got = wrapped.get_extra_info(info)
            if info == "client_addr":  # two connections: different local ports
                assert got[0] == expected[0]
            elif info == "socket":
                assert type(got) is type(expected)
                assert got.fileno() >= 0
            else:
                assert got == expected
        finally:
            await raw.aclose()
            await wrapped.aclose()
