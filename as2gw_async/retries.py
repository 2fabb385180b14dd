"""The retry policy: every decision about retrying a request is made here.

Two questions, two methods (the shape of the Stainless SDKs' ``_should_retry`` and
``_calculate_retry_timeout``): may this failure be retried, and how long to wait first.
"""

from __future__ import annotations

import email.utils
import random
import time

import httpx
from attrs import define, field, validators

from .errors import APIStatusError, IntegrityError, InternalServerError, RateLimitError

__all__ = ["RetryPolicy"]

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
# Errors raised before the request could have reached the server: safe to retry even a send.
_NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@define(frozen=True, kw_only=True)
class RetryPolicy:
    """When and how long to wait before trying a request again.

    Idempotent calls (every GET; authorize, mark_unread, stop, retry) are retried on
    connection errors, timeouts, incomplete bodies, 408, 429 and 5xx. A send is retried only
    when it certainly did not reach the gateway: the connection was never made, or the
    gateway refused it with 429 before reading it. Delays grow exponentially with full
    jitter, capped at ``max_delay``; a ``Retry-After`` header (seconds or HTTP date) wins
    when it asks for no more than ``max_retry_after``. ``retry_statuses`` are the statuses
    an idempotent call is retried on (a gateway may narrow them: ECGrid uses 429, 500, 503).
    An `IntegrityError` whose ``retryable`` is False (a body over the size cap) is not
    retried: the same body would come again.

    >>> RetryPolicy(max_retries=0)  # disable retries  # doctest: +SKIP
    """

    max_retries: int = field(default=3, validator=validators.ge(0))
    initial_delay: float = field(default=0.5, validator=validators.ge(0))
    max_delay: float = field(default=8.0, validator=validators.ge(0))
    max_retry_after: float = field(default=60.0, validator=validators.ge(0))
    retry_statuses: frozenset[int] = field(default=RETRYABLE_STATUS, converter=frozenset)

    def should_retry(
        self,
        attempt: int,
        *,
        idempotent: bool,
        response: httpx.Response | None = None,
        error: BaseException | None = None,
    ) -> bool:
        """Whether to try again after ``attempt`` failed tries (1 after the first failure)."""
        if attempt > self.max_retries:
            return False
        if response is not None:
            if idempotent:
                return response.status_code in self.retry_statuses
            return response.status_code == 429 and 429 in self.retry_statuses
        if error is None:
            return False
        if isinstance(error, APIStatusError):
            status = _status_meant(error)
            if idempotent:
                return status in self.retry_statuses
            return status == 429 and 429 in self.retry_statuses
        if not idempotent:
            return isinstance(error, _NOT_SENT_ERRORS)
        if isinstance(error, IntegrityError):
            return error.retryable
        return isinstance(error, httpx.TransportError)

    def retry_delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        """Seconds to wait before try number ``attempt + 1``."""
        retry_after = _parse_retry_after(response)
        if retry_after is not None and 0 <= retry_after <= self.max_retry_after:
            return retry_after
        ceiling = min(self.max_delay, self.initial_delay * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)


def _parse_retry_after(response: httpx.Response | None) -> float | None:
    if response is None:
        return None
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _status_meant(error: APIStatusError) -> int:
    """The HTTP status an error answer stands for: its own, or for an error envelope inside
    a 2xx (ECGrid's ``success: false``), the one its class names (never-retried 400 else)."""
    if error.status_code >= 400:
        return error.status_code
    if isinstance(error, RateLimitError):
        return 429
    if isinstance(error, InternalServerError):
        return 500
    return 400
