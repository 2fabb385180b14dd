"""The optional aiohttp transport: error mapping, construction and a dropped request.

The integration tests (tests/integration/test_aiohttp_transport.py) run it against the
emulator; here each aiohttp failure is mapped by hand, and a raw socket server drops a
request after reading it -- the case httpx-aiohttp itself reports as ``ConnectTimeout``.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import ssl
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

pytest.importorskip("httpx_aiohttp")

import aiohttp

import as2gw_async as gw
from as2gw_async._aiohttp import READ_SIZE, map_error
from as2gw_async.retries import RetryPolicy

POLICY = RetryPolicy()
KEY: Any = SimpleNamespace(host="127.0.0.1", port=1, ssl=True, is_ssl=True)
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def connector_error() -> aiohttp.ClientConnectorError:
    return aiohttp.ClientConnectorError(KEY, OSError(111, "Connection refused"))


# (aiohttp exception, mapped before the response started, mapped while reading the body)
CASES: list[tuple[BaseException, type[BaseException], type[BaseException]]] = [
    (connector_error(), httpx.ConnectError, httpx.ReadError),
    (
        aiohttp.ClientConnectorDNSError(KEY, OSError(-2, "Name or service not known")),
        httpx.ConnectError,
        httpx.ReadError,
    ),
    (
        aiohttp.ClientConnectorCertificateError(KEY, ssl.SSLCertVerificationError("bad cert")),
        httpx.ConnectError,
        httpx.ReadError,
    ),
    (aiohttp.ServerFingerprintMismatch(b"a", b"b", "h", 1), httpx.ConnectError, httpx.ReadError),
    (aiohttp.ConnectionTimeoutError("connect"), httpx.ConnectTimeout, httpx.ReadTimeout),
    (aiohttp.SocketTimeoutError("read"), httpx.ReadTimeout, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError("timeout"), httpx.ReadTimeout, httpx.ReadTimeout),
    (asyncio.TimeoutError(), httpx.ReadTimeout, httpx.ReadTimeout),
    (aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError, httpx.RemoteProtocolError),
    (aiohttp.ClientOSError(104, "reset"), httpx.ReadError, httpx.ReadError),
    (aiohttp.ClientConnectionResetError("reset"), httpx.ReadError, httpx.ReadError),
    (aiohttp.ClientConnectionError("closed"), httpx.ReadError, httpx.ReadError),
    (aiohttp.ClientPayloadError("short"), httpx.RemoteProtocolError, httpx.RemoteProtocolError),
    (
        aiohttp.ClientResponseError(
            SimpleNamespace(real_url="http://h/"),  # type: ignore[arg-type]
            (),
            message="bad status line",
        ),
        httpx.RemoteProtocolError,
        httpx.RemoteProtocolError,
    ),
    (aiohttp.InvalidURL("x://"), httpx.UnsupportedProtocol, httpx.UnsupportedProtocol),
]


def _name(value: object) -> str:
    return value.__name__ if isinstance(value, type) else type(value).__name__


@pytest.mark.parametrize(("cause", "before", "during"), CASES, ids=_name)
@pytest.mark.parametrize("wrapped", [False, True], ids=["raw", "httpx_aiohttp_wrapped"])
def test_error_mapping(
    cause: BaseException,
    before: type[BaseException],
    during: type[BaseException],
    wrapped: bool,
) -> None:
    exc = cause
    if wrapped:  # httpx-aiohttp's own mapping: ConnectTimeout for any connection error
        exc = httpx.ConnectTimeout(str(cause))
        exc.__cause__ = cause
    mapped = map_error(exc, response_started=False)
    assert type(mapped) is before
    assert type(map_error(exc, response_started=True)) is during
    assert isinstance(map_error(exc, response_started=True), httpx.TransportError)
    # The retry policy repeats a send only for what certainly never left.
    assert POLICY.should_retry(1, idempotent=False, error=mapped) == (before in NEVER_SENT)
    assert POLICY.should_retry(1, idempotent=True, error=mapped)


def test_nothing_after_the_response_started_counts_as_never_sent() -> None:
    for cause, _, _ in CASES:
        assert not isinstance(map_error(cause, response_started=True), NEVER_SENT)


def test_an_unconfirmed_never_sent_claim_is_demoted() -> None:
    for claim in (httpx.ConnectTimeout("?"), httpx.ConnectError("?"), httpx.PoolTimeout("?")):
        assert type(map_error(claim, response_started=False)) is httpx.ReadError


def test_unrelated_exceptions_pass_through() -> None:
    exc = ValueError("not a transport error")
    assert map_error(exc, response_started=False) is exc
    read = httpx.ReadError("already right")
    assert map_error(read, response_started=True) is read


def test_reads_in_64_kib_pieces() -> None:
    assert READ_SIZE == 64 * 1024


# -- Session construction ---------------------------------------------------------------


def test_default_transport_is_plain_httpx() -> None:
    s = gw.Session("u", "p")
    assert type(s._client._transport) is httpx.AsyncHTTPTransport


def test_aiohttp_transport_is_selected_and_configured() -> None:
    limits = httpx.Limits(max_connections=7, keepalive_expiry=3.0)
    timeout = httpx.Timeout(5.0, connect=1.0)
    s = gw.Session("u", "p", transport="aiohttp", limits=limits, timeout=timeout, verify=False)
    transport: Any = s._client._transport
    assert type(transport).__name__ == "SafeAiohttpTransport"
    assert transport.limits == limits
    assert transport.ssl_context.verify_mode == ssl.CERT_NONE
    assert s._client.timeout == timeout
    assert s._owns_client


async def test_aiohttp_connector_maps_limits() -> None:
    s = gw.Session("u", "p", transport="aiohttp", limits=httpx.Limits(max_connections=None))
    async with s:
        session: Any = s._client._transport.get_client()  # type: ignore[attr-defined]
        try:
            assert session.connector.limit == 0  # no limit, as in httpx
        finally:
            await session.close()
    s = gw.Session("u", "p", transport="aiohttp", limits=httpx.Limits(max_connections=9))
    async with s:
        session = s._client._transport.get_client()  # type: ignore[attr-defined]
        try:
            assert session.connector.limit == 9
        finally:
            await session.close()


def test_http_client_and_aiohttp_transport_exclude_each_other() -> None:
    with pytest.raises(ValueError, match="not both"):
        gw.Session("u", "p", transport="aiohttp", http_client=httpx.AsyncClient())


def test_an_unknown_transport_is_refused() -> None:
    with pytest.raises(ValueError, match=r"http_client=httpx\.AsyncClient"):
        gw.Session("u", "p", transport=httpx.AsyncHTTPTransport())  # type: ignore[arg-type]


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "httpx_aiohttp":
            raise ImportError("No module named 'httpx_aiohttp'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"as2gw_async\[aiohttp\]"):
        gw.Session("u", "p", transport="aiohttp")


def test_trio_is_refused() -> None:
    trio = pytest.importorskip("trio")

    async def construct() -> None:
        gw.Session("u", "p", transport="aiohttp")

    with pytest.raises(RuntimeError, match="only under asyncio"):
        trio.run(construct)


def test_trio_is_refused_at_request_time_too() -> None:
    trio = pytest.importorskip("trio")
    s = gw.Session("u", "p", base_url="http://127.0.0.1:9/v1", transport="aiohttp")

    async def call() -> None:
        await s.login()

    with pytest.raises(RuntimeError, match="only under asyncio"):
        trio.run(call)


# -- a server that reads the request, then drops the connection ---------------------------


class DropServer:
    """Answers /authorize; reads every other request whole, then closes without a word."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bytes]] = []
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {
                    k.strip().lower(): v.strip()
                    for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)
                }
                body = b""
                if "content-length" in headers:
                    body = await reader.readexactly(int(headers["content-length"]))
                elif headers.get("transfer-encoding") == "chunked":
                    while True:
                        size = int((await reader.readline()).strip(), 16)
                        body += (await reader.readexactly(size + 2))[:-2]
                        if size == 0:
                            break
                self.seen.append((method, path, body))
                if path.endswith("/authorize"):
                    payload = json.dumps({"token": "t0k", "expiry": 0}).encode()
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload)
                    )
                    await writer.drain()
                    continue
                break  # the request was read: drop the connection without an answer
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    def paths(self, method: str) -> list[str]:
        return [p for m, p, _ in self.seen if m == method]


@pytest.fixture
async def drop_server() -> AsyncIterator[tuple[DropServer, str]]:
    ds = DropServer()
    server = await asyncio.start_server(ds.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield ds, f"http://127.0.0.1:{port}/v1"


FAST = gw.RetryPolicy(max_retries=2, initial_delay=0.0, max_delay=0.0)


async def test_a_send_dropped_after_it_was_read_is_not_repeated(
    drop_server: tuple[DropServer, str],
) -> None:
    ds, base_url = drop_server
    async with gw.Session(
        "u", "p", base_url=base_url, transport="aiohttp", rate_limit=None, retry_policy=FAST
    ) as s:
        with pytest.raises(gw.APIConnectionError) as info:
            await s.request("POST", "/message/send", content=b"EDI", idempotent=False)
        assert s.stats.retries == 0
    assert isinstance(info.value.__cause__, httpx.RemoteProtocolError)
    assert ds.paths("POST") == ["/v1/authorize", "/v1/message/send"]  # sent exactly once
    assert ds.seen[-1][2] == b"EDI"


async def test_a_streamed_send_dropped_after_it_was_read_is_not_repeated(
    drop_server: tuple[DropServer, str],
) -> None:
    ds, base_url = drop_server

    async def body() -> AsyncIterator[bytes]:
        yield b"part 1,"
        yield b"part 2"

    async with gw.Session(
        "u", "p", base_url=base_url, transport="aiohttp", rate_limit=None, retry_policy=FAST
    ) as s:
        with pytest.raises(gw.APIConnectionError):
            await s.request("POST", "/message/send", content=body, idempotent=False)
        assert s.stats.retries == 0
    assert ds.paths("POST") == ["/v1/authorize", "/v1/message/send"]
    assert ds.seen[-1][2] == b"part 1,part 2"


async def test_a_get_dropped_after_it_was_read_is_retried(
    drop_server: tuple[DropServer, str],
) -> None:
    ds, base_url = drop_server
    async with gw.Session(
        "u", "p", base_url=base_url, transport="aiohttp", rate_limit=None, retry_policy=FAST
    ) as s:
        with pytest.raises(gw.APIConnectionError):
            await s.request("GET", "/message/received")
        assert s.stats.retries == 2
    assert len(ds.paths("GET")) >= 3


async def test_a_refused_connection_is_connect_error(unused_tcp_port: int) -> None:
    async with gw.Session(
        "u",
        "p",
        base_url=f"http://127.0.0.1:{unused_tcp_port}/v1",
        transport="aiohttp",
        rate_limit=None,
        retry_policy=FAST,
    ) as s:
        with pytest.raises(gw.APIConnectionError) as info:
            await s.login()
        assert s.stats.retries == 2
    assert isinstance(info.value.__cause__, httpx.ConnectError)
