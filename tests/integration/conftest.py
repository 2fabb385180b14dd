"""Shared helpers for the integration tests: real loopback sockets against the emulator.

The emulator fixtures (``as2gw_gateway``, ``as2gw_emulator``) come from the package's pytest
plugin (entry point ``as2gw_emulator``); if the package is not installed, it is registered here.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

try:
    import as2gw_async.emulator.pytest_plugin as _plugin
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    import as2gw_async.emulator.pytest_plugin as _plugin

from as2gw_async.emulator import EmulatorServer


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("as2gw_emulator"):
        config.pluginmanager.register(_plugin, "as2gw_emulator")


def q(message_id: str) -> str:
    """A message id as one path segment: everything percent-encoded, `/` and `<` included."""
    return quote(message_id, safe="")


async def login(client: httpx.AsyncClient, server: EmulatorServer) -> str:
    r = await client.post(
        "/authorize", json={"username": server.username, "password": server.password}
    )
    assert r.status_code == 200, r.text
    token: str = r.json()["token"]
    client.headers["Authorization"] = token
    return token


@pytest.fixture
async def api(as2gw_emulator: EmulatorServer) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the emulator's base URL, already carrying a token."""
    async with httpx.AsyncClient(base_url=as2gw_emulator.base_url, timeout=20) as client:
        await login(client, as2gw_emulator)
        yield client


@pytest.fixture
async def control(as2gw_emulator: EmulatorServer) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the emulator's origin, for the /_emulator/ control routes."""
    origin = as2gw_emulator.base_url.rsplit("/v1", 1)[0]
    async with httpx.AsyncClient(base_url=origin, timeout=20) as client:
        yield client
