"""A cheaper readability check for httpx's own connection pool (the default transport).

httpcore asks every pooled connection ``get_extra_info("is_readable")`` each time a request
is queued or a response closes (to spot connections the server has closed). On asyncio its
anyio backend answers by building anyio's whole socket attribute table, a ``getpeername``
system call included, before it polls the socket. With 16 connections that is hundreds of
thousands of calls for a few thousand requests; the profile of the bulk benchmark put ~20%
of the client's time there (upstream: encode/httpcore#928).

`speed_up_pool` wraps the pool's network backend so that each connection looks its socket
up once and then only polls it. Everything else is passed through unchanged. It relies on
two private attributes (``transport._pool._network_backend``); if a later httpx or httpcore
renames them it does nothing, and the pool works as before, only slower.

It also gives the pool `assign_requests_to_connections`: httpcore 1.0's own decisions
without its quadratic scans (each idle connection counted every connection, and every
queued request listed every available and every idle one), about a tenth of the client's
CPU for small downloads at concurrency 32 (issue 18). Only installed on httpcore 1.0.x,
the version it was copied from and is tested against.
"""

from __future__ import annotations

import select
import ssl
import sys
import types
import typing

import httpcore
import httpx

__all__ = ["assign_requests_to_connections", "speed_up_pool"]

_UNKNOWN = object()


def _is_readable(sock: typing.Any) -> bool:
    """True if *sock* has data or EOF waiting (or is gone), without reading from it."""
    fd = -1 if sock is None else sock.fileno()
    if fd < 0:
        return True  # closed: report it readable, i.e. expired, as httpcore does
    if sys.platform == "win32" or not hasattr(select, "poll"):  # pragma: no cover
        return bool(select.select([fd], [], [], 0)[0])
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class _Stream(httpcore.AsyncNetworkStream):
    """A network stream that remembers its socket for the ``is_readable`` check."""

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        self._socket: typing.Any = _UNKNOWN

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "is_readable":
            if self._socket is _UNKNOWN:
                self._socket = self._stream.get_extra_info("socket")
            if self._socket is None:  # a backend without sockets (tests): ask it
                return self._stream.get_extra_info(info)
            return _is_readable(self._socket)
        return self._stream.get_extra_info(info)


class _Backend(httpcore.AsyncNetworkBackend):
    """Wraps the streams of *backend* in `_Stream`."""

    def __init__(self, backend: httpcore.AsyncNetworkBackend) -> None:
        self._backend = backend

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return _Stream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options
        )
        return _Stream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def assign_requests_to_connections(pool: typing.Any) -> list[typing.Any]:
    """httpcore 1.0's ``AsyncConnectionPool._assign_requests_to_connections``, same decisions
    in the same order, without the scans whose results were thrown away.

    Drop closed and expired connections, and idle ones while the pool holds more than
    ``max_keepalive_connections`` (httpcore compares the number of *all* connections, which
    is kept); then give each queued request the first available connection to its origin,
    else a new one if there is room, else a new one in place of the first idle connection.
    Returns the connections to close. Called with the pool's lock held, like the original.
    """
    closing: list[typing.Any] = []
    connections = pool._connections
    keepalive = pool._max_keepalive_connections
    for connection in list(connections):
        if connection.is_closed():
            connections.remove(connection)
        elif connection.has_expired() or (connection.is_idle() and len(connections) > keepalive):
            connections.remove(connection)
            closing.append(connection)

    for pool_request in [request for request in pool._requests if request.is_queued()]:
        origin = pool_request.request.url.origin
        connection = next(
            (c for c in connections if c.can_handle_request(origin) and c.is_available()),
            None,
        )
        if connection is None:
            if len(connections) >= pool._max_connections:
                idle = next((c for c in connections if c.is_idle()), None)
                if idle is None:
                    continue  # the request waits for a connection
                connections.remove(idle)
                closing.append(idle)
            connection = pool.create_connection(origin)
            connections.append(connection)
        pool_request.assign_to_connection(connection)
    return closing


_ASSIGN_MATCHES = httpcore.__version__.split(".")[:2] == ["1", "0"]


def speed_up_pool(client: httpx.AsyncClient) -> bool:
    """Install the cheaper check in *client*'s own pool; True if it could be installed."""
    pool = getattr(getattr(client, "_transport", None), "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if not isinstance(pool, httpcore.AsyncConnectionPool) or not isinstance(
        backend, httpcore.AsyncNetworkBackend
    ):
        return False
    if not isinstance(backend, _Backend):
        pool._network_backend = _Backend(backend)
    if _ASSIGN_MATCHES and hasattr(pool, "_assign_requests_to_connections"):
        pool._assign_requests_to_connections = types.MethodType(  # type: ignore[method-assign]
            assign_requests_to_connections, pool
        )
    return True
