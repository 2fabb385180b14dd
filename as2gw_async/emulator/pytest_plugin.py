"""pytest fixtures for testing code against a local AS2 Gateway emulator.

Installed with the package (entry point ``pytest11: as2gw_emulator``), so the fixtures are
available in any project that has ``as2gw_async`` installed; disable with
``-p no:as2gw_emulator``. The plugin itself loads without the ``emulator`` extra (a project
that only uses the client keeps a working pytest); ``as2gw_emulator`` needs it, and a test
that uses it without the extra fails saying ``pip install "as2gw_async[emulator]"``.

* ``as2gw_gateway`` — a fresh :class:`~as2gw_async.emulator.Gateway` (default account
  ``demo@example.com`` / ``demo-password``, station ``RJ_Station``, partner ``RJ_Partner``).
* ``as2gw_emulator`` — that gateway served over real loopback sockets on a free port, as an
  :class:`~as2gw_async.emulator.EmulatorServer` (``.base_url``, ``.username``, ``.password``,
  ``.gateway``). The server runs in a background thread with its own event loop, so the
  fixture works in sync tests and under any async framework or event-loop scope (asyncio,
  trio, pytest-asyncio in strict or auto mode) with no async fixture machinery.

Options go through the ``as2gw_emulator`` marker: any :class:`Gateway` keyword argument,
plus ``https=True`` (TLS with a trustme CA; ``http_url`` then answers 307), ``seed_messages=N``
(fill the received folder with ``gateway.seed(N)``) and ``latency``/``rate_limit``::

    @pytest.mark.as2gw_emulator(send_delay=0.0, seed_messages=20)
    async def test_drain(as2gw_emulator):
        async with Session(as2gw_emulator.username, as2gw_emulator.password,
                           base_url=as2gw_emulator.base_url) as s:
            ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from ._extra import MissingExtraError, require_extra
from .state import Gateway

if TYPE_CHECKING:
    from .server import EmulatorServer

__all__ = ["as2gw_emulator", "as2gw_gateway", "ecgrid_emulator", "mft_emulator"]

_SERVER_OPTIONS = ("https", "cert", "key")


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``as2gw_emulator`` marker (so ``--strict-markers`` accepts it)."""
    config.addinivalue_line(
        "markers",
        "as2gw_emulator(**options): configure the as2gw_gateway/as2gw_emulator fixtures "
        "(Gateway keyword arguments, https=True, seed_messages=N, latency=S, "
        "rate_limit=(N, S))",
    )
    config.addinivalue_line(
        "markers", "mft_emulator(**options): MftEmulator keyword arguments for mft_emulator"
    )


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker("as2gw_emulator")
    return dict(marker.kwargs) if marker is not None else {}


@pytest.fixture
def as2gw_gateway(request: pytest.FixtureRequest) -> Gateway:
    """A fresh emulated gateway (configure it with the ``as2gw_emulator`` marker)."""
    options = _options(request)
    for name in _SERVER_OPTIONS:
        options.pop(name, None)
    seed_messages = int(options.pop("seed_messages", 0))
    latency = float(options.pop("latency", 0.0))
    rate_limit = options.pop("rate_limit", None)
    gateway = Gateway(**options)
    gateway.latency = latency
    gateway.rate_limit = rate_limit
    if seed_messages:
        gateway.seed(seed_messages)
    return gateway


@pytest.fixture
def as2gw_emulator(
    as2gw_gateway: Gateway, request: pytest.FixtureRequest
) -> Iterator[EmulatorServer]:
    """``as2gw_gateway`` served on a free 127.0.0.1 port; yields the running server."""
    try:
        with require_extra():
            from .server import serve_in_thread
    except MissingExtraError as exc:
        pytest.fail(f"as2gw_emulator: {exc}", pytrace=False)
    options = _options(request)
    server_options = {k: options[k] for k in _SERVER_OPTIONS if k in options}
    with serve_in_thread(as2gw_gateway, host="127.0.0.1", port=0, **server_options) as server:
        yield server


@pytest.fixture
def mft_emulator(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A running MFT Gateway emulator and its fake object store (an ``MftEmulator``).

    Options go through the ``mft_emulator`` marker (``MftEmulator`` keyword arguments, e.g.
    ``naming="legacy"``). Imported here, not at the top: the MFT emulator is optional.
    """
    try:
        with require_extra():
            from .mft import MftEmulator
    except MissingExtraError as exc:
        pytest.fail(f"mft_emulator: {exc}", pytrace=False)

    marker = request.node.get_closest_marker("mft_emulator")
    options = dict(marker.kwargs) if marker is not None else {}
    with MftEmulator(**options) as emulator:
        yield emulator


@pytest.fixture
def ecgrid_emulator() -> Iterator[Any]:
    """A local ECGrid REST v2.6 emulator on a free 127.0.0.1 port, in a background thread.

    Yields an ``ECGridServer`` (``.base_url``, ``.api_key``, ``.login``, ``.password``,
    ``.state`` to seed, switch and fault, ``.stats``).
    """
    try:
        with require_extra():
            from .ecgrid import start  # imported here: the ECGrid emulator is optional
    except MissingExtraError as exc:
        pytest.fail(f"ecgrid_emulator: {exc}", pytrace=False)

    with start() as server:
        yield server
