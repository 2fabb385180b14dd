"""The optional aiohttp transport: ``Session(transport="aiohttp")``.

httpx's own connection pool (httpcore) loses badly to aiohttp at high concurrency
(encode/httpx#3215). This module puts aiohttp under the session's ``httpx.AsyncClient``
through httpx-aiohttp (the approach openai-python took), so everything above the transport
-- auth, retries, rate limiting, streaming -- is unchanged. Install it with the extra
``as2gw_async[aiohttp]``; it is imported lazily and runs only under asyncio.

`SafeAiohttpTransport` is httpx-aiohttp's transport with the request path rewritten:

* **Error mapping that is safe for the retry policy.** httpx-aiohttp reports any
  ``aiohttp.ClientConnectionError`` -- a server that dropped the connection *after* reading
  the request included -- as ``httpx.ConnectTimeout``, which `RetryPolicy` reads as "never
  sent" and so would repeat a send: a duplicate AS2 message. Here an error becomes
  ``ConnectError``/``ConnectTimeout`` only when aiohttp failed before it had a connection to
  write on (see `map_error`); everything else is a read/protocol error.
* **URLs are sent as encoded.** The session percent-encodes AS2 ids (``%3Ca%2Fb%40c%3E``);
  aiohttp would requote ``%40`` to ``@``. The URL goes to aiohttp with ``encoded=True``.
* **64 KiB body reads** (httpx's own read size) instead of 16 KiB.
* ``max_connections=None`` means no limit (as in httpx; aiohttp's default would be 100),
  and aiohttp's cookie jar is off (httpx keeps the cookies). Environment proxies are not
  used (aiohttp's ``trust_env`` stays off; httpx ignores them when given a transport).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    import aiohttp

__all__ = ["READ_SIZE", "aiohttp_client", "map_error"]

READ_SIZE = 64 * 1024
_MISSING = (
    'Session(transport="aiohttp") needs the optional dependencies httpx-aiohttp and aiohttp: '
    "pip install 'as2gw_async[aiohttp]'"
)


def _require() -> None:
    try:
        import aiohttp  # noqa: F401
        import httpx_aiohttp  # noqa: F401
    except ImportError as exc:
        raise ImportError(_MISSING) from exc


def _check_asyncio(*, in_loop: bool = False) -> None:
    """Refuse under trio (or any loop but asyncio) with a clear message.

    ``in_loop``: we are inside a request, so a running asyncio loop is required; otherwise
    (constructing the session) no detectable async library is fine.
    """
    library: str | None = None
    try:
        import sniffio

        library = sniffio.current_async_library()
    except (ImportError, RuntimeError):  # sniffio missing, or no async library running
        pass
    if library is None and in_loop:
        try:
            asyncio.get_running_loop()
            library = "asyncio"
        except RuntimeError:
            library = "a non-asyncio event loop"
    if library is not None and library != "asyncio":
        raise RuntimeError(
            f'Session(transport="aiohttp") runs only under asyncio, not {library}; '
            'use the default transport="httpx" there'
        )


def map_error(exc: BaseException, *, response_started: bool) -> BaseException:
    """The httpx exception an aiohttp failure should raise, by what certainly happened.

    ``exc`` is an aiohttp (or asyncio timeout) exception, or an httpx exception that wraps
    one as its ``__cause__`` (httpx-aiohttp's own mapping). Only a failure before aiohttp
    held a connection to write on maps to one of the "never sent" errors the retry policy
    may repeat even a send for (``ConnectError``, ``ConnectTimeout``); once the response
    has started (``response_started``) nothing is "never sent". Anything unknown is taken
    to have reached the server. Exceptions that are neither are returned unchanged.
    """
    import aiohttp

    cause = exc
    if isinstance(exc, httpx.HTTPError) and exc.__cause__ is not None:
        cause = exc.__cause__
    text = str(cause) or type(cause).__name__
    if not response_started:
        # aiohttp raises these only from connector.connect(), before a byte is written.
        if isinstance(cause, aiohttp.ConnectionTimeoutError):
            return httpx.ConnectTimeout(text)  # TCP/TLS connect, or waiting for the pool
        if isinstance(cause, aiohttp.ClientConnectorError):  # refused, DNS, TLS, proxy
            return httpx.ConnectError(text)
        if isinstance(cause, aiohttp.ServerFingerprintMismatch):  # TLS pin check at connect
            return httpx.ConnectError(text)
    if isinstance(cause, (aiohttp.ServerTimeoutError, asyncio.TimeoutError, TimeoutError)):
        return httpx.ReadTimeout(text)
    if isinstance(cause, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError(text)
    if isinstance(cause, aiohttp.ClientPayloadError):
        return httpx.RemoteProtocolError(text)  # truncated or malformed body
    if isinstance(cause, aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(text)  # unparsable status line or headers
    if isinstance(cause, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(text)
    if isinstance(cause, aiohttp.ClientError):  # ClientOSError, reset, anything else
        return httpx.ReadError(text)
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return httpx.ReadError(text)  # a "never sent" claim we cannot confirm
    return exc


_CAUGHT: tuple[type[BaseException], ...] = (
    httpx.TransportError,
    asyncio.TimeoutError,
    TimeoutError,
)


def _caught() -> tuple[type[BaseException], ...]:
    import aiohttp

    return (*_CAUGHT, aiohttp.ClientError)


class _Body(httpx.AsyncByteStream):
    """The response body, read from aiohttp in `READ_SIZE` pieces, errors mapped."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_chunked(READ_SIZE):
                yield chunk
        except _caught() as exc:
            raise map_error(exc, response_started=True) from exc

    async def aclose(self) -> None:
        try:
            await self._response.__aexit__(None, None, None)
        except _caught() as exc:
            raise map_error(exc, response_started=True) from exc


def _transport_class() -> Callable[..., httpx.AsyncBaseTransport]:
    import aiohttp
    import yarl
    from httpx_aiohttp import AiohttpTransport

    class SafeAiohttpTransport(AiohttpTransport):
        """httpx-aiohttp with send-safe error mapping, encoded URLs and 64 KiB reads."""

        def get_client(self) -> aiohttp.ClientSession:
            limit = self.limits.max_connections
            connector = aiohttp.TCPConnector(
                limit=0 if limit is None else limit,  # 0 is aiohttp's "no limit"
                keepalive_timeout=self.limits.keepalive_expiry,
                ssl=self.ssl_context,
            )
            return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            _check_asyncio(in_loop=True)
            if not isinstance(self.client, aiohttp.ClientSession):
                self.client = self.get_client()
            timeout = request.extensions.get("timeout", {})
            data: Any
            try:
                data = request.content or None
            except httpx.RequestNotRead:
                data = request.stream  # streamed body: aiohttp sends it chunked
                request.headers.pop("transfer-encoding", None)
            try:
                response = await self.client.request(
                    method=request.method,
                    url=yarl.URL(str(request.url), encoded=True),
                    headers=request.headers,
                    data=data,
                    allow_redirects=False,
                    auto_decompress=False,  # httpx decodes
                    compress=False,
                    timeout=aiohttp.ClientTimeout(
                        sock_connect=timeout.get("connect"),
                        sock_read=timeout.get("read"),
                        connect=timeout.get("pool"),  # pool wait + connect
                    ),
                    server_hostname=request.extensions.get("sni_hostname"),
                ).__aenter__()
            except _caught() as exc:
                raise map_error(exc, response_started=False) from exc
            extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
            if response.reason:
                extensions["reason_phrase"] = response.reason.encode()
            return httpx.Response(
                status_code=response.status,
                headers=response.raw_headers,
                stream=_Body(response),
                request=request,
                extensions=extensions,
            )

    return SafeAiohttpTransport


def aiohttp_client(
    *,
    timeout: float | httpx.Timeout,
    limits: httpx.Limits,
    verify: ssl.SSLContext | str | bool,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` on `SafeAiohttpTransport`, configured like the default one.

    Raises ImportError naming the ``as2gw_async[aiohttp]`` extra when it is not installed,
    RuntimeError when called under a running trio loop.
    """
    _require()
    _check_asyncio()
    transport = _transport_class()(verify=verify, limits=limits)
    return httpx.AsyncClient(
        transport=transport, timeout=timeout, verify=verify, follow_redirects=False
    )
