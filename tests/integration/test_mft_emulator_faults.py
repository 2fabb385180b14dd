"""MFT emulator: scripted faults (status on the next K calls of a route, delays)."""

from __future__ import annotations

import time

import httpx
import pytest

from as2gw_async.emulator.mft import MftEmulator

from ._mft_emulator_helpers import api, q, submit


def test_status_on_the_next_k_calls_of_one_route(mft_emulator: MftEmulator) -> None:
    with api(mft_emulator) as c:
        mft_emulator.faults.fail("list", 503, times=2)
        assert c.get("/certificate").status_code == 200  # another route: untouched
        statuses = [c.get("/message/inbox").status_code for _ in range(3)]
        assert statuses == [503, 503, 200]
        assert mft_emulator.faults.pending == 0
        assert mft_emulator.stats.faults["503"] == 2


def test_429_with_retry_after(mft_emulator: MftEmulator) -> None:
    with api(mft_emulator) as c:
        mft_emulator.faults.fail("submit", 429, retry_after=2)
        r = submit(c)
        assert r.status_code == 429
        assert r.headers["retry-after"] == "2"
        assert "message" in r.json()
        assert mft_emulator.stats.submits == 0  # refused before anything was queued
        assert submit(c).status_code == 202


def test_faults_come_before_the_token_check(mft_emulator: MftEmulator) -> None:
    mft_emulator.faults.fail("authorize", 500)
    with httpx.Client(base_url=mft_emulator.base_url) as c:
        body = {"username": mft_emulator.username, "password": mft_emulator.password}
        assert c.post("/authorize", json=body).status_code == 500
        assert c.post("/authorize", json=body).status_code == 200
        mft_emulator.faults.fail(None, 500)  # any route
        assert c.get("/message/inbox").status_code == 500
        assert c.get("/message/inbox").status_code == 401


def test_delay_fault_and_latency(mft_emulator: MftEmulator) -> None:
    (mid,) = mft_emulator.seed_inbox(1)
    with api(mft_emulator) as c:
        mft_emulator.faults.delay("get", 0.2)
        start = time.monotonic()
        assert c.get(f"/message/inbox/{q(mid)}?markAsRead=false").status_code == 200
        assert time.monotonic() - start >= 0.2
        mft_emulator.faults.latency = 0.1
        start = time.monotonic()
        assert c.get("/message/outbox").status_code == 200
        assert time.monotonic() - start >= 0.1


def test_fault_script_validation(mft_emulator: MftEmulator) -> None:
    with pytest.raises(ValueError, match="unknown route"):
        mft_emulator.faults.fail("nope", 500)
    with pytest.raises(ValueError, match="4xx or 5xx"):
        mft_emulator.faults.fail("list", 200)
    mft_emulator.faults.fail("list", 500, times=3)
    mft_emulator.faults.clear()
    assert mft_emulator.faults.pending == 0


def test_counters_by_route_and_status(mft_emulator: MftEmulator) -> None:
    with api(mft_emulator) as c:
        c.get("/message/inbox")
        c.get("/message/inbox/%3Cx%3E")
        c.get("/no/such/path")
    stats = mft_emulator.stats.as_dict()
    assert stats["routes"]["list"] == 1
    assert stats["routes"]["get"] == 1
    assert stats["statuses"]["404"] == 2
    assert stats["requests"] == 4  # authorize included
