"""``Retry-After`` at the edges: exactly the cap, and an HTTP date already past.

Each test names the mutant of ``retries.py`` it kills (issue 19).
"""

from __future__ import annotations

import email.utils
import time

import httpx

from as2gw_async import RetryPolicy

# Backoff alone would wait up to 30 s here: any answer below is Retry-After's, not jitter's.
POLICY = RetryPolicy(max_retries=3, initial_delay=30.0, max_delay=30.0, max_retry_after=60.0)


def _response(headers: dict[str, str]) -> httpx.Response:
    return httpx.Response(503, headers=headers, request=httpx.Request("GET", "https://x/"))


def test_retry_after_equal_to_the_cap_is_honoured() -> None:
    # kills: `retry_after <= self.max_retry_after` -> `<`
    assert POLICY.retry_delay(1, _response({"Retry-After": "60"})) == 60.0
    assert POLICY.retry_delay(1, _response({"Retry-After": "60.5"})) <= 30.0  # over: backoff


def test_retry_after_date_in_the_past_means_retry_now() -> None:
    # kills: the `max(0.0, ...)` of the date branch dropped (a negative wait would fail the
    # `0 <=` check and fall back to up to 30 s of backoff)
    past = email.utils.formatdate(time.time() - 3600, usegmt=True)
    for attempt in (1, 2, 3):
        assert POLICY.retry_delay(attempt, _response({"Retry-After": past})) == 0.0


def test_negative_retry_after_seconds_means_retry_now() -> None:
    # kills: the `max(0.0, ...)` of the seconds branch dropped
    assert POLICY.retry_delay(1, _response({"Retry-After": "-5"})) == 0.0


def test_nothing_failed_means_nothing_to_retry() -> None:
    # kills: `if error is None: return False` -> `return True` (found by tools/mutation.py)
    assert not POLICY.should_retry(1, idempotent=True)
    assert not POLICY.should_retry(1, idempotent=False)
