"""Running the MFT emulator: the gateway and its object store on two loopback ports.

:func:`serve` runs both under uvicorn in the current event loop; :class:`MftEmulator` runs
them in a background thread (usable from sync tests, any async framework, any event loop
scope) and is the handle tests drive: URLs, credentials, counters and controls.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import uvicorn

from ..server import _bind, _install_log_filter, _origin, _Server
from .app import create_app
from .faults import FaultScript
from .state import GatewayStats, MftGateway
from .store import ObjectStore, StoreStats, create_store_app

__all__ = ["MftEmulator", "MftServer", "ready_lines", "run", "serve"]


@dataclass
class MftServer:
    """A running MFT emulator: the gateway's ``base_url`` and the store's ``store_url``."""

    gateway: MftGateway
    base_url: str
    store_url: str
    port: int
    store_port: int

    @property
    def store(self) -> ObjectStore:
        """The object store serving the presigned links."""
        return self.gateway.store


@contextlib.asynccontextmanager
async def serve(
    gateway: MftGateway | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    store_port: int = 0,
    *,
    log_level: str = "warning",
) -> AsyncIterator[MftServer]:
    """Run the gateway and its object store under uvicorn in this (asyncio) event loop.

    ``port=0``/``store_port=0`` pick free ports. The store listens on its own socket, so
    its links name another host:port than the gateway, as S3 links do.

    Example::

        async with serve(MftGateway()) as server:
            async with httpx.AsyncClient(base_url=server.base_url) as client: ...
    """
    gw = gateway if gateway is not None else MftGateway()
    _install_log_filter()
    sockets = [_bind(host, port), _bind(host, store_port)]
    servers: list[_Server] = []
    tasks: list[asyncio.Task[None]] = []
    try:
        api_port = sockets[0].getsockname()[1]
        s3_port = sockets[1].getsockname()[1]
        gw.store.base_url = _origin("http", host, s3_port)
        for sock, app in ((sockets[0], create_app(gw)), (sockets[1], create_store_app(gw.store))):
            config = uvicorn.Config(
                app,
                lifespan="off",
                http="h11",
                log_config=None,
                log_level=log_level,
                access_log=False,
                timeout_graceful_shutdown=2,
            )
            server = _Server(config)
            task = asyncio.create_task(server.serve(sockets=[sock]))
            servers.append(server)
            tasks.append(task)
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("the MFT emulator's server stopped while starting")
                await asyncio.sleep(0.005)
        yield MftServer(gw, _origin("http", host, api_port), gw.store.base_url, api_port, s3_port)
    finally:
        for server in servers:
            server.request_exit()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for sock in sockets:
            sock.close()


class MftEmulator:
    """A running MFT Gateway emulator and fake object store, for tests.

    Starts on free loopback ports in a background thread; the state is thread-safe, so the
    test drives it while requests are served. Keyword arguments other than ``host``,
    ``port`` and ``store_port`` go to :class:`MftGateway` (``naming``, ``token_ttl``,
    ``send_delay``, ``max_body``, ``seed``, ...); ``link_ttl`` to the :class:`ObjectStore`.

    Example::

        with MftEmulator(naming="legacy") as emu:
            ids = emu.seed_inbox(25, names=["../../etc/passwd"])
            httpx.post(emu.base_url + "/authorize",
                       json={"username": emu.username, "password": emu.password})
            emu.expire_links(); emu.expire_tokens()
            emu.store_stats.authorization_headers   # must stay 0
    """

    def __init__(
        self,
        gateway: MftGateway | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        store_port: int = 0,
        link_ttl: int | None = None,
        **gateway_options: Any,
    ) -> None:
        if gateway is not None and gateway_options:
            raise TypeError("pass either a gateway or gateway options, not both")
        self.gateway = gateway if gateway is not None else MftGateway(**gateway_options)
        if link_ttl is not None:
            self.gateway.store.link_ttl = link_ttl
        self._where = (host, port, store_port)
        self._server: MftServer | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> MftEmulator:
        """Start listening (returns self); ``stop()`` or the ``with`` block ends it."""
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        ready = threading.Event()
        box: dict[str, BaseException] = {}
        host, port, store_port = self._where

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            async with serve(self.gateway, host, port, store_port) as server:
                self._server = server
                ready.set()
                await self._stop.wait()

        def target() -> None:
            try:
                asyncio.run(main())
            except BaseException as exc:
                box["error"] = exc
            finally:
                ready.set()

        self._thread = threading.Thread(target=target, name="mft-emulator", daemon=True)
        self._thread.start()
        ready.wait(timeout=60)
        if self._server is None:
            self._thread.join(timeout=5)
            self._thread = None
            raise RuntimeError("the MFT emulator did not start") from box.get("error")
        return self

    def stop(self) -> None:
        """Stop both servers and wait for the thread."""
        if self._thread is None:
            return
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)
        self._thread = None
        self._server = None

    def __enter__(self) -> MftEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _running(self) -> MftServer:
        if self._server is None:
            raise RuntimeError("the MFT emulator is not running: call start() first")
        return self._server

    # ------------------------------------------------------------------ where and who

    @property
    def base_url(self) -> str:
        """The gateway's URL (``http://127.0.0.1:<port>``, no version segment)."""
        return self._running().base_url

    @property
    def store_url(self) -> str:
        """The object store's origin (another port: the links' host)."""
        return self._running().store_url

    @property
    def username(self) -> str:
        """The default account's username."""
        return self.gateway.username

    @property
    def password(self) -> str:
        """The default account's password."""
        return self.gateway.password

    @property
    def token_id(self) -> str:
        """The default API token id (``tokenID`` for ``/authorize``)."""
        return self.gateway.token_id

    @property
    def token_secret(self) -> str:
        """The default API token secret."""
        return self.gateway.token_secret

    @property
    def store(self) -> ObjectStore:
        """The object store (objects, links, its own faults)."""
        return self.gateway.store

    # ------------------------------------------------------------------ counters

    @property
    def stats(self) -> GatewayStats:
        """Gateway counters: routes, statuses, authorizations, refreshes, ..."""
        return self.gateway.stats

    @property
    def store_stats(self) -> StoreStats:
        """Object store counters: downloads, refusals, ``authorization_headers``, resets."""
        return self.gateway.store.stats

    # ------------------------------------------------------------------ controls

    @property
    def faults(self) -> FaultScript:
        """The gateway's fault script (``faults.fail("list", 503, times=2)``)."""
        return self.gateway.faults

    @property
    def store_faults(self) -> FaultScript:
        """The store's fault script (``store_faults.reset(after_bytes=100, times=2)``)."""
        return self.gateway.store.faults

    @property
    def naming(self) -> str:
        """``current`` or ``legacy``: the field names served (settable at any time)."""
        return self.gateway.naming

    @naming.setter
    def naming(self, value: str) -> None:
        self.gateway.set_naming(value)

    def seed_inbox(self, n: int, **options: Any) -> list[str]:
        """``gateway.seed_inbox(n, ...)``: n inbox messages; identifiers, oldest first."""
        return self.gateway.seed_inbox(n, **options)

    def deliver(self, *args: Any, **kwargs: Any) -> str:
        """``gateway.deliver(...)``: one inbox message; its identifier."""
        return self.gateway.deliver(*args, **kwargs)

    def expire_tokens(self, *, refresh: bool = False) -> None:
        """Expire every api token issued so far (and refresh tokens, if asked)."""
        self.gateway.expire_tokens(refresh=refresh)

    def expire_links(self) -> None:
        """Expire every presigned link issued so far."""
        self.gateway.store.expire_links()

    def __repr__(self) -> str:
        where = self._server.base_url if self._server is not None else "not running"
        return f"MftEmulator({where}, naming={self.gateway.naming!r})"


async def run(
    gateway: MftGateway,
    host: str = "127.0.0.1",
    port: int = 0,
    store_port: int = 0,
    *,
    on_ready: Any = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until ``stop`` is set (forever if None): for a command line front end.

    ``on_ready(server)`` is called once both ports listen (print the URLs there).
    """
    async with serve(gateway, host, port, store_port) as server:
        if on_ready is not None:
            on_ready(server)
        await (stop or asyncio.Event()).wait()


def ready_lines(server: MftServer) -> Sequence[str]:
    """Machine-readable lines announcing a running emulator (for a CLI to print)."""
    gw = server.gateway
    return (
        f"MFTGW_EMULATOR_READY {server.base_url}",
        f"MFTGW_EMULATOR_STORE {server.store_url}",
        f"MFTGW_EMULATOR_USERNAME {gw.username}",
        f"MFTGW_EMULATOR_PASSWORD {gw.password}",
        f"MFTGW_EMULATOR_TOKEN_ID {gw.token_id}",
        f"MFTGW_EMULATOR_TOKEN_SECRET {gw.token_secret}",
    )
