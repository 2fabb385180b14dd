"""Running the emulator under uvicorn: in the current event loop, or in a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
import ssl
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import uvicorn

from .app import InjectedFault, create_app, create_redirect_app
from .state import Gateway

__all__ = ["EmulatorServer", "serve", "serve_in_thread"]


class _InjectedFaultFilter(logging.Filter):
    """Keeps uvicorn from logging tracebacks of connections we broke on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        while exc is not None:
            if isinstance(exc, InjectedFault):
                return False
            exc = exc.__cause__ or exc.__context__
        return True


_FILTER = _InjectedFaultFilter()


def _install_log_filter() -> None:
    logger = logging.getLogger("uvicorn.error")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host (tests, our CLI)."""

    _wake: asyncio.Event | None = None

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def main_loop(self) -> None:
        # uvicorn polls should_exit every 0.1 s; waking up at once makes stopping (once per
        # test with the pytest fixtures) quicker. on_tick still runs every 0.1 s (Date header).
        self._wake = asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)

    def request_exit(self) -> None:
        """Ask the server to stop (from its own event loop)."""
        self.should_exit = True
        if self._wake is not None:
            self._wake.set()


class EmulatorServer:
    """A running emulator: where it listens and how to log in.

    ``base_url`` is what a client should be given (``https_url`` when https is enabled, else
    ``http_url``); with https, ``http_url`` is a plain-http listener answering every request
    with 307 to the same path on ``https_url``. ``ca`` is the ``trustme.CA`` that signed the
    certificate when none was supplied; ``ca_pem_path`` its PEM file; :meth:`ssl_context`
    builds a client context trusting it.
    """

    def __init__(
        self,
        gateway: Gateway,
        host: str,
        port: int,
        http_url: str,
        https_url: str | None,
        ca: Any = None,
        ca_pem_path: str | None = None,
        http_port: int | None = None,
    ) -> None:
        self.gateway = gateway
        self.host = host
        self.port = port
        self.http_port = http_port if http_port is not None else port
        self.http_url = http_url
        self.https_url = https_url
        self.base_url = https_url or http_url
        self.ca = ca
        self.ca_pem_path = ca_pem_path
        self._servers: list[_Server] = []
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def username(self) -> str:
        """The default account's username."""
        return self.gateway.username

    @property
    def password(self) -> str:
        """The default account's password."""
        return self.gateway.password

    @property
    def url(self) -> str:
        """Alias of :attr:`base_url`."""
        return self.base_url

    def ssl_context(self) -> ssl.SSLContext:
        """A client SSL context trusting this server's certificate (https only)."""
        ctx = ssl.create_default_context()
        if self.ca_pem_path is not None:
            ctx.load_verify_locations(cafile=self.ca_pem_path)
        return ctx

    def __repr__(self) -> str:
        return f"EmulatorServer(base_url={self.base_url!r}, username={self.username!r})"

    async def _start(self, sock: socket.socket, app: Any, **config: Any) -> None:
        cfg = uvicorn.Config(
            app,
            lifespan="off",
            http="h11",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=2,
            **config,
        )
        server = _Server(cfg)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        self._servers.append(server)
        self._tasks.append(task)
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the emulator's server stopped while starting")
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        """Stop listening and wait for the servers to finish."""
        for server in self._servers:
            server.request_exit()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto
    # says TCP; without it Nagle + delayed ACKs add ~40 ms to every keep-alive response.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _test_certificate(tmpdir: str) -> tuple[Any, str, str, str]:
    """A fresh trustme CA and a server certificate for 127.0.0.1/localhost, as PEM files."""
    try:
        import trustme
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "https=True without cert= needs the 'trustme' package for a test CA"
        ) from exc
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost", "::1")
    cert = str(Path(tmpdir, "server.pem"))
    key = str(Path(tmpdir, "server.key"))
    ca_pem = str(Path(tmpdir, "ca.pem"))
    issued.private_key_pem.write_to_path(key)
    Path(cert).write_bytes(b"".join(b.bytes() for b in issued.cert_chain_pems))
    ca.cert_pem.write_to_path(ca_pem)
    return ca, cert, key, ca_pem


def _origin(scheme: str, host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"{scheme}://{shown}:{port}"


@contextlib.asynccontextmanager
async def serve(
    gateway: Gateway | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    https: bool = False,
    *,
    cert: str | None = None,
    key: str | None = None,
    http_port: int = 0,
    log_level: str = "warning",
) -> AsyncIterator[EmulatorServer]:
    """Run the emulator under uvicorn in the current (asyncio) event loop.

    ``port=0`` picks a free port. With ``https=True`` the API listens with TLS on ``port``
    and a plain-http listener on ``http_port`` answers everything with 307 to it; the
    certificate is ``cert``/``key`` (PEM files) or, if not given, one issued for 127.0.0.1
    and localhost by a fresh ``trustme`` test CA (``server.ca``, ``server.ca_pem_path``).

    Example::

        async with serve(Gateway()) as server:
            async with httpx.AsyncClient(base_url=server.base_url) as client:
                r = await client.post("/authorize", json={"username": server.username,
                                                          "password": server.password})
    """
    gw = gateway if gateway is not None else Gateway()
    _install_log_filter()
    tmpdir: str | None = None
    sockets: list[socket.socket] = []
    server: EmulatorServer | None = None
    try:
        if not https:
            sock = _bind(host, port)
            sockets.append(sock)
            actual = sock.getsockname()[1]
            server = EmulatorServer(gw, host, actual, _origin("http", host, actual) + "/v1", None)
            await server._start(sock, create_app(gw), log_level=log_level)
        else:
            ca: Any = None
            ca_pem: str | None = None
            if cert is None:
                tmpdir = tempfile.mkdtemp(prefix="as2gw-emulator-")
                ca, cert, key, ca_pem = _test_certificate(tmpdir)
            tls_sock = _bind(host, port)
            plain_sock = _bind(host, http_port)
            sockets += [tls_sock, plain_sock]
            tls_port = tls_sock.getsockname()[1]
            plain_port = plain_sock.getsockname()[1]
            https_origin = _origin("https", host, tls_port)
            server = EmulatorServer(
                gw,
                host,
                tls_port,
                _origin("http", host, plain_port) + "/v1",
                https_origin + "/v1",
                ca=ca,
                ca_pem_path=ca_pem,
                http_port=plain_port,
            )
            await server._start(
                tls_sock, create_app(gw), log_level=log_level, ssl_certfile=cert, ssl_keyfile=key
            )
            await server._start(plain_sock, create_redirect_app(https_origin), log_level=log_level)
        yield server
    finally:
        if server is not None:
            await server.stop()
        for sock in sockets:
            sock.close()
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)


@contextlib.contextmanager
def serve_in_thread(gateway: Gateway | None = None, **kwargs: Any) -> Iterator[EmulatorServer]:
    """Run :func:`serve` in a background thread with its own event loop.

    Works from synchronous code and from any async framework (trio included); the gateway is
    thread-safe, so the test may inspect and drive it while requests are served.

    Example::

        with serve_in_thread(Gateway()) as server:
            httpx.get(server.base_url + "/message/received")  # -> 401 without a token
    """
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        stop = asyncio.Event()
        box["loop"] = asyncio.get_running_loop()
        box["stop"] = stop
        async with serve(gateway, **kwargs) as server:
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

    thread = threading.Thread(target=target, name="as2gw-emulator", daemon=True)
    thread.start()
    ready.wait(timeout=60)
    if "server" not in box:
        thread.join(timeout=5)
        raise RuntimeError("the emulator did not start") from box.get("error")
    try:
        yield box["server"]
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(timeout=30)
