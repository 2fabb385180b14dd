"""Shared helpers for the ECGrid emulator tests: plain httpx over real loopback sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from as2gw_async.emulator.ecgrid import ECGridServer, ECGridState


@pytest.fixture
def state(ecgrid_emulator: ECGridServer) -> ECGridState:
    """The running emulator's state (seed, switch, fault, inspect)."""
    return ecgrid_emulator.state


@pytest.fixture
async def api(ecgrid_emulator: ECGridServer) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the emulator's origin, carrying the default X-API-Key."""
    async with httpx.AsyncClient(
        base_url=ecgrid_emulator.base_url,
        headers={"X-API-Key": ecgrid_emulator.api_key},
        timeout=60,
    ) as client:
        yield client


@pytest.fixture
async def anon(ecgrid_emulator: ECGridServer) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the emulator's origin without credentials."""
    async with httpx.AsyncClient(base_url=ecgrid_emulator.base_url, timeout=60) as client:
        yield client


async def ok(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> Any:
    """Call, assert HTTP 200 and ``success: true``, return ``data``."""
    r = await client.request(method, path, **kwargs)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True, body
    return body["data"]


async def fails(
    client: httpx.AsyncClient, method: str, path: str, status: int, code: str, **kwargs: Any
) -> httpx.Response:
    """Call, assert the HTTP status and the envelope's errorCode with ``data: null``."""
    r = await client.request(method, path, **kwargs)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is False
    assert body["errorCode"] == code
    assert body["data"] is None
    assert body["message"]
    return r
