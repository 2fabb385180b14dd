"""An error envelope inside an HTTP 200 is retried like the status it names (issue 15: the
vendor's advice is to retry RateLimitExceeded and InternalError; never the 4xx codes)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from as2gw_async import ecgrid
from as2gw_async.emulator.ecgrid import ECGridServer, ECGridState
from as2gw_async.errors import PermissionDeniedError, RateLimitError
from as2gw_async.retries import RetryPolicy

ROUTE = "parcels/pending-inbox-list"


@pytest.fixture
def state(ecgrid_emulator: ECGridServer) -> ECGridState:
    return ecgrid_emulator.state


@pytest.fixture
async def s(ecgrid_emulator: ECGridServer) -> AsyncIterator[ecgrid.Session]:
    policy = RetryPolicy(max_retries=2, initial_delay=0, retry_statuses={429, 500, 503})
    async with ecgrid.Session(
        api_key=ecgrid_emulator.api_key, base_url=ecgrid_emulator.base_url, retry_policy=policy
    ) as session:
        yield session


@pytest.mark.parametrize("code", ["RateLimitExceeded", "InternalError"])
async def test_a_retryable_envelope_in_a_200_is_retried(
    s: ecgrid.Session, state: ECGridState, code: str
) -> None:
    ids = state.seed_inbox(3)
    state.envelope_error_next(ROUTE, code, count=2)
    got = [p.parcel_id async for p in s.parcels.pending()]
    assert got == ids
    assert s.stats.retries == 2


async def test_a_rate_limit_envelope_beyond_the_retries_is_a_rate_limit_error(
    s: ecgrid.Session, state: ECGridState
) -> None:
    state.envelope_error_next(ROUTE, "RateLimitExceeded", count=3)
    with pytest.raises(RateLimitError) as caught:
        [p async for p in s.parcels.pending()]
    assert caught.value.error_code == "RateLimitExceeded"
    assert s.stats.retries == 2


async def test_an_access_denied_envelope_is_never_retried(
    s: ecgrid.Session, state: ECGridState
) -> None:
    state.envelope_error_next(ROUTE, "AccessDenied", count=1)
    with pytest.raises(PermissionDeniedError):
        [p async for p in s.parcels.pending()]
    assert s.stats.retries == 0
