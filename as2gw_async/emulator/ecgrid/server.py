"""Running the ECGrid emulator under uvicorn: in the current loop, in a thread, or for ever.

:func:`serve_ecgrid` (async context manager), :func:`start` (a plain context manager running
the server in a background thread: sync tests, any event loop) and :func:`run_forever` (for a
CLI: prints machine-readable ``ECGRID_EMULATOR_*`` lines and serves until cancelled).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any, TextIO

import uvicorn

from ..server import _bind, _install_log_filter, _origin, _Server
from .app import create_app
from .state import ECGridState, Stats

__all__ = ["ECGridServer", "run_forever", "serve_ecgrid", "start"]


class ECGridServer:
    """A running ECGrid emulator: where it listens, how to authenticate, its state.

    ``base_url`` is the origin (every path carries ``/v2/``), as the real
    ``https://rest.ecgrid.io``. ``state`` is the :class:`ECGridState` to seed, switch, fault
    and inspect; ``stats`` its counters.
    """

    def __init__(self, state: ECGridState, host: str, port: int) -> None:
        self.state = state
        self.host = host
        self.port = port
        self.base_url = _origin("http", host, port)
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def api_key(self) -> str:
        """One valid ``X-API-Key`` (the first configured)."""
        return sorted(self.state.api_keys)[0]

    @property
    def api_keys(self) -> list[str]:
        """Every valid ``X-API-Key``."""
        return sorted(self.state.api_keys)

    @property
    def login(self) -> str:
        """The default user's login."""
        return self.state.login

    @property
    def password(self) -> str:
        """The default user's password."""
        return self.state.password

    @property
    def stats(self) -> Stats:
        """The state's counters (logins, refreshes, errorCodes, downloads, ...)."""
        return self.state.stats

    def __repr__(self) -> str:
        return f"ECGridServer(base_url={self.base_url!r})"

    async def _start(self, sock: socket.socket, log_level: str) -> None:
        cfg = uvicorn.Config(
            create_app(self.state),
            lifespan="off",
            http="h11",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=2,
            log_level=log_level,
        )
        server = _Server(cfg)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        self._server, self._task = server, task
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the ECGrid emulator stopped while starting")
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        """Stop listening and wait for the server to finish."""
        if self._server is not None:
            self._server.request_exit()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


@contextlib.asynccontextmanager
async def serve_ecgrid(
    state: ECGridState | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    log_level: str = "warning",
) -> AsyncIterator[ECGridServer]:
    """Serve ``state`` (a fresh one if None) under uvicorn in the running event loop.

    ``port=0`` picks a free port. Example::

        async with serve_ecgrid() as emu:
            async with httpx.AsyncClient(base_url=emu.base_url) as c:
                r = await c.post("/v2/parcels/pending-inbox-list", json={},
                                 headers={"X-API-Key": emu.api_key})
    """
    st = state if state is not None else ECGridState()
    _install_log_filter()
    sock = _bind(host, port)
    server = ECGridServer(st, host, sock.getsockname()[1])
    try:
        await server._start(sock, log_level)
        yield server
    finally:
        await server.stop()
        sock.close()


@contextlib.contextmanager
def start(state: ECGridState | None = None, **kwargs: Any) -> Iterator[ECGridServer]:
    """Run :func:`serve_ecgrid` in a background thread with its own event loop.

    Works from synchronous code and from any async framework; the state is thread-safe, so
    the test may seed, switch and inspect it while requests are served. Example::

        with start() as emu:
            emu.state.seed_inbox(3)
            httpx.post(emu.base_url + "/v2/parcels/pending-inbox-list", json={},
                       headers={"X-API-Key": emu.api_key})
    """
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        stop = asyncio.Event()
        box["loop"] = asyncio.get_running_loop()
        box["stop"] = stop
        async with serve_ecgrid(state, **kwargs) as server:
            box["server"] = server
            ready.set()
            await stop.wait()

    def target() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:
            box["error"] = exc
        finally:
            ready.set()

    thread = threading.Thread(target=target, name="ecgrid-emulator", daemon=True)
    thread.start()
    ready.wait(timeout=60)
    if "server" not in box:
        thread.join(timeout=5)
        raise RuntimeError("the ECGrid emulator did not start") from box.get("error")
    try:
        yield box["server"]
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(timeout=30)


async def run_forever(
    state: ECGridState | None = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    out: TextIO | None = None,
    log_level: str = "warning",
) -> None:
    """Serve until cancelled, after printing ``ECGRID_EMULATOR_READY <base_url>``,
    ``ECGRID_EMULATOR_API_KEY``, ``ECGRID_EMULATOR_LOGIN`` and ``ECGRID_EMULATOR_PASSWORD``
    lines (for ``as2gw emulator --gateway ecgrid`` and scripts that wait for the first line)."""
    stream = out if out is not None else sys.stdout
    async with serve_ecgrid(state, host, port, log_level=log_level) as server:
        print(f"ECGRID_EMULATOR_READY {server.base_url}", file=stream)
        print(f"ECGRID_EMULATOR_API_KEY {server.api_key}", file=stream)
        print(f"ECGRID_EMULATOR_LOGIN {server.login}", file=stream)
        print(f"ECGRID_EMULATOR_PASSWORD {server.password}", file=stream, flush=True)
        await asyncio.Event().wait()
