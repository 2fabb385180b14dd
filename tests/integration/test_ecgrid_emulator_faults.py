"""ECGrid emulator: injected faults (5xx, 429, 200 + success false, reset, size mismatch)."""

from __future__ import annotations

import base64

import httpx
import pytest

from as2gw_async.emulator.ecgrid import ECGridState

from ._ecgrid import api, fails, ok, state

__all__ = ["api", "state"]


@pytest.mark.parametrize("status", [500, 503])
async def test_next_k_calls_fail(api: httpx.AsyncClient, state: ECGridState, status: int) -> None:
    state.seed_inbox(1)
    state.fail_next("parcels/pending-inbox-list", status=status, count=2)
    await ok(api, "GET", "/v2/auth/version")  # other routes are not touched
    for _ in range(2):
        await fails(api, "POST", "/v2/parcels/pending-inbox-list", status, "InternalError", json={})
    assert len(await ok(api, "POST", "/v2/parcels/pending-inbox-list", json={})) == 1
    assert state.stats.faults["status"] == 2
    assert state.stats.statuses[status] == 2


async def test_fault_happens_before_processing(api: httpx.AsyncClient, state: ECGridState) -> None:
    (pid,) = state.seed_inbox(1)
    state.fail_next("parcels/confirm", status=500)
    state.fail_next("parcels/upload", status=503)
    await fails(api, "POST", "/v2/parcels/confirm", 500, "InternalError", json={"parcelId": pid})
    assert state.parcel(pid).status == "InBoxReady"
    await fails(
        api,
        "POST",
        "/v2/parcels/upload",
        503,
        "InternalError",
        json={"fileName": "a", "content": base64.b64encode(b"x" * 100_000).decode()},
    )
    assert state.stats.uploads == 0


async def test_rate_limited_with_retry_after(api: httpx.AsyncClient, state: ECGridState) -> None:
    state.rate_limit_next("*", retry_after=2)
    r = await fails(api, "POST", "/v2/parcels/inbox-list", 429, "RateLimitExceeded", json={})
    assert r.headers["retry-after"] == "2"
    await ok(api, "POST", "/v2/parcels/inbox-list", json={})
    state.rate_limit_next("parcels/inbox-list", retry_after=0.25)
    r = await fails(api, "POST", "/v2/parcels/inbox-list", 429, "RateLimitExceeded", json={})
    assert r.headers["retry-after"] == "0.25"
    assert state.stats.error_codes["RateLimitExceeded"] == 2


async def test_http_200_with_success_false(api: httpx.AsyncClient, state: ECGridState) -> None:
    state.envelope_error_next("parcels/inbox-list", "AccessDenied", message="too low")
    r = await fails(api, "POST", "/v2/parcels/inbox-list", 200, "AccessDenied", json={})
    assert r.json()["message"] == "too low"
    await ok(api, "POST", "/v2/parcels/inbox-list", json={})


async def test_latency_fault_still_answers(api: httpx.AsyncClient, state: ECGridState) -> None:
    state.delay_next("auth/version", 0.01, count=2)
    await ok(api, "GET", "/v2/auth/version")
    await ok(api, "GET", "/v2/auth/version")
    assert state.stats.faults["latency"] == 2
    assert len(state.faults) == 0


async def test_reset_mid_download(api: httpx.AsyncClient, state: ECGridState) -> None:
    (pid,) = state.seed_inbox(1, sizes=3_000_000)
    state.reset_next_download(fraction=0.4)
    seen: list[int] = []  # [declared Content-Length, bytes received so far]

    async def read_all() -> None:
        async with api.stream("POST", "/v2/parcels/download", json={"parcelId": pid}) as r:
            assert r.status_code == 200
            seen[:] = [int(r.headers["content-length"]), 0]
            async for chunk in r.aiter_raw():
                seen[1] += len(chunk)

    with pytest.raises(httpx.TransportError):
        await read_all()
    declared, received = seen
    assert 0 < received < declared
    assert state.parcel(pid).downloads == 1  # the call was processed
    assert state.parcel(pid).status == "InBoxReady"
    data = await ok(api, "POST", "/v2/parcels/download", json={"parcelId": pid})
    assert base64.b64decode(data["content"]) == state.parcel(pid).read()


async def test_size_mismatch(api: httpx.AsyncClient, state: ECGridState) -> None:
    (pid,) = state.seed_inbox(1, sizes=100)
    state.mismatch_next_download(delta=-1)
    data = await ok(api, "POST", "/v2/parcels/download", json={"parcelId": pid})
    assert len(base64.b64decode(data["content"])) == 100
    assert data["bytes"] == 99
    assert (await ok(api, "POST", "/v2/parcels/download", json={"parcelId": pid}))["bytes"] == 100
    state.parcel(pid).declared_bytes = 1234  # or pinned on one parcel
    assert (await ok(api, "POST", "/v2/parcels/download", json={"parcelId": pid}))["bytes"] == 1234


async def test_control_routes(api: httpx.AsyncClient, state: ECGridState) -> None:
    r = await api.post("/_emulator/config", json={"pageShape": 2, "spelling": "guide"})
    assert r.json()["pageShape"] == 2
    assert (state.page_shape, state.spelling) == (2, "guide")
    r = await api.post("/_emulator/seed", json={"n": 3, "hostile": True})
    assert len(r.json()["ids"]) == 3
    r = await api.post(
        "/_emulator/faults", json={"kind": "status", "status": 503, "route": "parcels/inbox-list"}
    )
    await fails(api, "POST", "/v2/parcels/inbox-list", 503, "InternalError", json={})
    assert (await api.get("/_emulator/stats")).json()["statuses"]["503"] == 1
    assert (await api.post("/_emulator/faults", json={"kind": "nope"})).status_code == 400
    assert (await api.post("/_emulator/expire-tokens")).status_code == 200
    assert (await api.get("/_emulator/nothing")).status_code == 404
