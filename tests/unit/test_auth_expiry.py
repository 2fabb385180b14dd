"""Token expiry edge cases: a zero ``expiry``, and a token already expired by our clock.

Each test names the mutant of ``auth.py`` it kills (issue 19).
"""

from __future__ import annotations

import logging
import math

import pytest

from as2gw_async.auth import Grant, Token, TokenManager, parse_expiry
from as2gw_async.errors import InvalidTokenError


class FakeClock:
    """``time.time`` under the test's control."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("value", [0, "0", 0.0, "0.0", -0.0])
def test_zero_expiry_means_no_known_expiry(value: object) -> None:
    # kills: `number <= 0` -> `number < 0` (a zero expiry read as the epoch: every call
    # would find the token long expired)
    assert parse_expiry(value) == math.inf


def _counting_fetch(clock: FakeClock, lifetime: float) -> tuple[list[str], object]:
    issued: list[str] = []

    async def fetch() -> tuple[str, float]:
        issued.append(f"t{len(issued)}")
        return issued[-1], clock.now + lifetime

    return issued, fetch


@pytest.mark.parametrize("lifetime", [-120.0, 0.0])
async def test_a_token_already_expired_by_our_clock_is_used_briefly_then_refreshed(
    lifetime: float,
) -> None:
    # The gateway's clock is behind ours: the expiry it gives is already past (or now).
    # kills: the skew branch removed (every call would authorize again), `<=` -> `<`
    # (lifetime 0 would authorize on every call), and the 60 s use shortened or lengthened.
    clock = FakeClock(1_000_000.0)
    issued, fetch = _counting_fetch(clock, lifetime)
    tokens = TokenManager(fetch, refresh_margin=300, clock=clock)  # type: ignore[arg-type]
    assert await tokens.get() == "t0"
    clock.now += 59.0
    assert await tokens.get() == "t0"  # reused: the gateway answers 401 if it disagrees
    assert issued == ["t0"]
    clock.now += 1.0  # 60 s after it was issued
    assert await tokens.get() == "t1"
    assert tokens.authorizations == 2


async def test_a_token_expiring_just_after_now_is_not_treated_as_skewed() -> None:
    # A future expiry takes the normal branch (half of a 2 s life), not the skew's 60 s.
    # kills: the skew condition widened (`if True`, `expires_at <= now + margin`)
    clock = FakeClock(500.0)
    issued, fetch = _counting_fetch(clock, 2.0)
    tokens = TokenManager(fetch, refresh_margin=300, clock=clock)  # type: ignore[arg-type]
    await tokens.get()
    clock.now += 0.9
    await tokens.get()
    assert issued == ["t0"]
    clock.now += 0.2  # past half its life
    await tokens.get()
    assert issued == ["t0", "t1"]


def test_the_milliseconds_threshold_is_exclusive_and_small_timestamps_are_seconds() -> None:
    # kills: `number > _MS_THRESHOLD` -> `>=`, and `number <= 0` -> `<= 1` (tools/mutation.py)
    assert parse_expiry(100_000_000_000) == 100_000_000_000.0  # 1e11 s: not yet milliseconds
    assert parse_expiry(100_000_000_001) == 100_000_000.001
    assert parse_expiry(1) == 1.0  # a second after the epoch: past, but a timestamp
    assert parse_expiry("0.5") == 0.5


async def test_the_default_refresh_margin_is_five_minutes() -> None:
    # kills: the default `refresh_margin` changed
    clock = FakeClock(0.0)
    issued, fetch = _counting_fetch(clock, 3600.0)
    tokens = TokenManager(fetch, clock=clock)  # type: ignore[arg-type]
    await tokens.get()
    clock.now = 3600.0 - 300.0 - 0.001
    await tokens.get()
    assert len(issued) == 1
    clock.now = 3600.0 - 300.0
    await tokens.get()
    assert len(issued) == 2


async def test_repr_shows_the_expiry_never_the_token() -> None:
    # kills: every mutant of `TokenManager.__repr__` (it had no test at all)
    clock = FakeClock(1000.0)

    async def fetch() -> tuple[str, float]:
        return "SECRET-token-value", 4600.0

    tokens = TokenManager(fetch, clock=clock)
    assert repr(tokens) == "<TokenManager none>"
    await tokens.get()
    assert repr(tokens) == "<TokenManager expires_at=4600.0>"
    assert "SECRET" not in repr(tokens) + repr(tokens.token)


async def test_refreshes_are_counted_and_a_failed_refresh_says_why_then_authorizes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # kills: `self.refreshes += 1` -> `= 1`, and the refresh-failure log line losing its
    # text or its reason (found by tools/mutation.py on the shared core's auth.py)
    clock = FakeClock(0.0)
    authorized: list[str] = []
    refreshed: list[str] = []
    fail = False

    async def authorize() -> Grant:
        authorized.append(f"a{len(authorized)}")
        return Grant(authorized[-1], clock.now + 1000.0, refresh_token="r")

    async def refresh(stale: Token) -> Grant:
        if fail:
            raise InvalidTokenError("the gateway issued a token that cannot be sent")
        refreshed.append(f"f{len(refreshed)}")
        return Grant(refreshed[-1], clock.now + 1000.0, refresh_token="r")

    tokens = TokenManager(authorize, refresh=refresh, clock=clock)
    assert await tokens.get() == "a0"
    for expected in ("f0", "f1"):
        clock.now += 750.0  # inside the 300 s margin of a 1000 s token
        assert await tokens.get() == expected
    assert tokens.refreshes == 2
    fail = True
    clock.now += 750.0
    with caplog.at_level(logging.INFO, logger="as2gw_async"):
        assert await tokens.get() == "a1"
    assert tokens.authorizations == 2
    assert tokens.refreshes == 2
    assert caplog.messages == ["token refresh failed (InvalidTokenError); authorizing again"]
