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
"""

from __future__ import annotations

import select
import ssl
import sys
import typing

import httpcore
import httpx

__all__ = ["speed_up_pool"]

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
    return True
