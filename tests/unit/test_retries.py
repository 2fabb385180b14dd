from __future__ import annotations

import email.utils
import time

import httpx
import pytest

from as2gw_async import IntegrityError, RetryPolicy


def _response(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=httpx.Request("GET", "https://x/"))


POLICY = RetryPolicy(max_retries=3, initial_delay=0.5, max_delay=8.0)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_idempotent_calls_retry_retryable_statuses(status: int) -> None:
    assert POLICY.should_retry(1, idempotent=True, response=_response(status))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409])
def test_client_errors_are_not_retried(status: int) -> None:
    assert not POLICY.should_retry(1, idempotent=True, response=_response(status))


def test_attempts_are_capped_and_zero_disables() -> None:
    assert POLICY.should_retry(3, idempotent=True, response=_response(503))
    assert not POLICY.should_retry(4, idempotent=True, response=_response(503))
    assert not RetryPolicy(max_retries=0).should_retry(1, idempotent=True, response=_response(503))


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadError("reset"),
        httpx.RemoteProtocolError("incomplete body"),
        httpx.ReadTimeout("slow"),
        IntegrityError("short body"),
    ],
)
def test_send_is_not_retried_once_its_body_may_have_left(error: Exception) -> None:
    assert POLICY.should_retry(1, idempotent=True, error=error)
    assert not POLICY.should_retry(1, idempotent=False, error=error)


def test_send_is_retried_when_it_never_left_or_was_refused_unread() -> None:
    for error in (httpx.ConnectError("refused"), httpx.ConnectTimeout("t"), httpx.PoolTimeout("p")):
        assert POLICY.should_retry(1, idempotent=False, error=error)
    assert POLICY.should_retry(1, idempotent=False, response=_response(429))
    for status in (500, 502, 503, 504, 408):
        assert not POLICY.should_retry(1, idempotent=False, response=_response(status))


def test_backoff_is_exponential_with_full_jitter() -> None:
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (6, 8.0)]:
        delays = [POLICY.retry_delay(attempt) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # jitter spreads across the range


def test_retry_after_seconds_wins() -> None:
    assert POLICY.retry_delay(1, _response(429, {"Retry-After": "3"})) == 3.0
    assert POLICY.retry_delay(1, _response(429, {"Retry-After": "0"})) == 0.0


def test_retry_after_http_date() -> None:
    when = email.utils.formatdate(time.time() + 5, usegmt=True)
    delay = POLICY.retry_delay(1, _response(503, {"Retry-After": when}))
    assert 3.0 <= delay <= 5.0


def test_unreasonable_or_garbled_retry_after_falls_back_to_backoff() -> None:
    assert POLICY.retry_delay(1, _response(429, {"Retry-After": "86400"})) <= 0.5
    assert POLICY.retry_delay(1, _response(429, {"Retry-After": "soon"})) <= 0.5


def test_policy_validates_its_arguments() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)


def test_an_error_envelope_in_a_200_is_retried_as_the_status_it_names() -> None:
    from as2gw_async.errors import BadRequestError, InternalServerError, RateLimitError

    ok = httpx.Response(200, request=httpx.Request("POST", "https://h/v2/parcels/upload"))
    policy = RetryPolicy(retry_statuses={429, 500, 503})
    limited = RateLimitError("slow down", response=ok, error_code="RateLimitExceeded")
    failed = InternalServerError("boom", response=ok, error_code="InternalError")
    refused = BadRequestError("bad", response=ok, error_code="InvalidParameter")
    assert policy.should_retry(1, idempotent=True, error=limited)
    assert policy.should_retry(1, idempotent=False, error=limited)  # refused before processing
    assert policy.should_retry(1, idempotent=True, error=failed)
    assert not policy.should_retry(1, idempotent=False, error=failed)  # an upload: never again
    assert not policy.should_retry(1, idempotent=True, error=refused)
    assert not RetryPolicy(retry_statuses={503}).should_retry(1, idempotent=True, error=failed)
