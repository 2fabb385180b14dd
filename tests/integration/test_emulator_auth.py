"""Spec section 2: POST /v1/authorize and the bare Authorization header."""

from __future__ import annotations

import time

import httpx
import pytest

from as2gw_async.emulator import EmulatorServer, Gateway

from ._clock import ManualClock
from .conftest import login


async def test_authorize_returns_token_and_expiry_in_ms(as2gw_emulator: EmulatorServer) -> None:
    async with httpx.AsyncClient(base_url=as2gw_emulator.base_url) as c:
        before = time.time() * 1000
        r = await c.post(
            "/authorize",
            json={"username": "demo@example.com", "password": "demo-password"},
        )
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"token", "expiry"}
    assert isinstance(body["token"], str)
    assert body["token"].count(".") == 2  # JWT-shaped
    # expiry is a timestamp in ms since the epoch, ~24 h ahead (spec: "valid for ~24 hours")
    assert isinstance(body["expiry"], int)
    assert before + 86_000_000 < body["expiry"] < before + 87_000_000


@pytest.mark.parametrize(
    "payload",
    [
        {"username": "demo@example.com", "password": "wrong"},
        {"username": "nobody@example.com", "password": "demo-password"},
    ],
)
async def test_bad_credentials_are_401(as2gw_emulator: EmulatorServer, payload: dict) -> None:
    async with httpx.AsyncClient(base_url=as2gw_emulator.base_url) as c:
        r = await c.post("/authorize", json=payload)
    assert r.status_code == 401
    assert isinstance(r.json()["message"], str)


async def test_malformed_authorize_body_is_400(as2gw_emulator: EmulatorServer) -> None:
    async with httpx.AsyncClient(base_url=as2gw_emulator.base_url) as c:
        r = await c.post("/authorize", content=b"not json")
        assert r.status_code == 400
        r = await c.post("/authorize", json={"username": "demo@example.com"})
        assert r.status_code == 400
    assert "message" in r.json()


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "no-such-token"}],
    ids=["missing", "unknown"],
)
async def test_requests_without_a_valid_token_are_401(
    as2gw_emulator: EmulatorServer, headers: dict[str, str]
) -> None:
    async with httpx.AsyncClient(base_url=as2gw_emulator.base_url) as c:
        r = await c.get("/message/received", headers=headers)
    assert r.status_code == 401
    assert set(r.json()) == {"message"}


async def test_token_is_the_bare_header_value_not_bearer(as2gw_emulator: EmulatorServer) -> None:
    async with httpx.AsyncClient(base_url=as2gw_emulator.base_url) as c:
        token = await login(c, as2gw_emulator)
        assert (await c.get("/message/received")).status_code == 200
        r = await c.get("/message/received", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


@pytest.mark.as2gw_emulator(token_ttl=0.3)
async def test_token_expires_after_its_ttl(
    as2gw_emulator: EmulatorServer, as2gw_gateway: Gateway
) -> None:
    clock = ManualClock()
    as2gw_gateway.clock = clock  # the token's life is measured on the gateway's clock
    async with httpx.AsyncClient(base_url=as2gw_emulator.base_url) as c:
        r = await c.post(
            "/authorize",
            json={"username": as2gw_emulator.username, "password": as2gw_emulator.password},
        )
        expiry = r.json()["expiry"]
        assert expiry == pytest.approx((clock.now + 0.3) * 1000, abs=1)  # a timestamp in ms
        c.headers["Authorization"] = r.json()["token"]
        clock.advance(0.29)
        assert (await c.get("/message/received")).status_code == 200
        clock.advance(0.01)
        r = await c.get("/message/received")
        assert r.status_code == 401
        assert "expired" in r.json()["message"]
        await login(c, as2gw_emulator)  # a fresh token works again
        assert (await c.get("/message/received")).status_code == 200


async def test_expire_all_tokens(as2gw_emulator: EmulatorServer) -> None:
    async with httpx.AsyncClient(base_url=as2gw_emulator.base_url) as c:
        await login(c, as2gw_emulator)
        assert (await c.get("/message/sent")).status_code == 200
        as2gw_emulator.gateway.expire_all_tokens()
        assert (await c.get("/message/sent")).status_code == 401


async def test_additional_accounts(as2gw_gateway: Gateway, as2gw_emulator: EmulatorServer) -> None:
    as2gw_gateway.add_account("ops@example.com", "s3cret")
    async with httpx.AsyncClient(base_url=as2gw_emulator.base_url) as c:
        r = await c.post("/authorize", json={"username": "ops@example.com", "password": "s3cret"})
        assert r.status_code == 200
        c.headers["Authorization"] = r.json()["token"]
        assert (await c.get("/message/queued")).status_code == 200
