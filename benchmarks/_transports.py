"""How an as2gw_async variant gets its HTTP transport: the default httpx pool, or aiohttp.

``params["transport"] == "aiohttp"`` selects an aiohttp-backed transport built on
httpx-aiohttp (the approach openai-python took against httpcore's connection-pool cost at
high concurrency, encode/httpx#3215). If `Session` takes a ``transport`` argument we use it;
otherwise we hand the session an ``httpx.AsyncClient`` on `SafeAiohttpTransport` through
``http_client`` (and close it ourselves, since a session leaves a borrowed client open).

`SafeAiohttpTransport` is httpx-aiohttp's transport with two changes that matter to this
library (a prototype for the library's own optional transport, see docs/benchmarks.md):

* httpx-aiohttp maps every ``aiohttp.ClientConnectionError`` -- including a server that
  dropped the connection *after* reading the request -- to ``httpx.ConnectTimeout``, which
  this library's retry policy reads as "never sent" and so may repeat a send (a duplicate
  AS2 message). Here only a failure to connect becomes ``ConnectError``/``ConnectTimeout``;
  a drop mid-exchange becomes ``ReadError``, a read timeout ``ReadTimeout``.
* the response body is read in 64 KiB pieces (httpx's own read size) instead of 16 KiB.

``params["concurrency"]``, when given, sizes the connection pool like the baselines'.
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import AsyncIterator
from typing import Any

__all__ = [
    "aiohttp_transport_available",
    "close_http_client",
    "safe_aiohttp_client",
    "session_kwargs",
]

READ_SIZE = 64 * 1024


def aiohttp_transport_available() -> bool:
    return importlib.util.find_spec("httpx_aiohttp") is not None


def _session_params() -> set[str]:
    import as2gw_async as gw

    return set(inspect.signature(gw.Session.__init__).parameters)


def _remap(exc: BaseException) -> BaseException:
    """The httpx exception a failed aiohttp exchange should raise, by what really happened."""
    import asyncio

    import aiohttp
    import httpx

    cause = exc.__cause__ if isinstance(exc, httpx.TransportError) else exc
    text = str(cause) or type(cause).__name__
    if isinstance(cause, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(text)
    if isinstance(cause, aiohttp.ClientConnectorError):  # never connected: nothing was sent
        return httpx.ConnectError(text)
    if isinstance(cause, (aiohttp.SocketTimeoutError, aiohttp.ServerTimeoutError)):
        return httpx.ReadTimeout(text)
    if isinstance(cause, (asyncio.TimeoutError, TimeoutError)):
        return httpx.PoolTimeout(text)  # aiohttp's "connect" covers waiting for the pool
    if isinstance(cause, aiohttp.ClientPayloadError):
        return httpx.ReadError(text)
    if isinstance(cause, aiohttp.ClientConnectionError):  # dropped after it may have been read
        return httpx.ReadError(text)
    return exc


def _transport_class() -> type[Any]:
    import aiohttp
    import httpx
    from httpx_aiohttp import AiohttpTransport

    class _Body(httpx.AsyncByteStream):
        def __init__(self, response: aiohttp.ClientResponse) -> None:
            self._response = response

        async def __aiter__(self) -> AsyncIterator[bytes]:
            try:
                async for chunk in self._response.content.iter_chunked(READ_SIZE):
                    yield chunk
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise _remap(exc) from exc

        async def aclose(self) -> None:
            self._response.release()

    class SafeAiohttpTransport(AiohttpTransport):
        """httpx-aiohttp with send-safe error mapping and 64 KiB reads."""

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            try:
                response = await super().handle_async_request(request)
            except (httpx.TransportError, aiohttp.ClientError, TimeoutError) as exc:
                raise _remap(exc) from exc
            stream = response.stream
            raw = getattr(stream, "_aiohttp_response", None)
            if raw is not None:
                response.stream = _Body(raw)
            return response

    return SafeAiohttpTransport


def safe_aiohttp_client(limits: Any = None, timeout: Any = None) -> Any:
    """An ``httpx.AsyncClient`` on `SafeAiohttpTransport` (no redirects followed)."""
    import httpx

    limits = limits or httpx.Limits(max_connections=64, max_keepalive_connections=32)
    return httpx.AsyncClient(
        transport=_transport_class()(limits=limits),
        timeout=timeout or httpx.Timeout(60.0, connect=10.0),
        follow_redirects=False,
    )


def session_kwargs(params: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for `Session` beyond credentials, URL and rate limit."""
    import httpx

    kwargs: dict[str, Any] = {}
    conc = params.get("concurrency")
    limits = None
    if conc:
        limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
        kwargs["limits"] = limits
    if params.get("transport") == "aiohttp":
        if "transport" in _session_params():
            kwargs["transport"] = "aiohttp"
        else:
            kwargs.pop("limits", None)
            kwargs["http_client"] = safe_aiohttp_client(limits)
    return kwargs


async def close_http_client(session: Any) -> None:
    """Close a client we handed to the session (it leaves a borrowed client open)."""
    if not getattr(session, "_owns_client", True):
        await session._client.aclose()
