"""The ECGrid envelope, in one place: ``{"success", "data", "errorCode", "message"}``.

Every answer is wrapped in it. ``success: false`` is an error **whatever the HTTP status**
(a 200 with ``success: false`` raises the error its ``errorCode`` names). `error_for` is the
session's error function (the core runs it on error statuses and on every successful body
`BaseSession.request` reads); `error_from_envelope` does the same for an envelope already
parsed (the streamed download's); `unwrap` returns ``data``. `RETRY_POLICY` is the vendor's
advice: retry 429, 500 and 503, at most 3 times; never a 4xx.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from .._core.bodies import endpoint_of, json_body
from ..errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    make_status_error,
)
from ..retries import RetryPolicy

__all__ = [
    "ERROR_CLASSES",
    "RETRY_POLICY",
    "envelope_of",
    "error_for",
    "error_from_envelope",
    "malformed",
    "retry_policy",
    "unwrap",
]

#: errorCode -> the shared error class (spec "Envelope and errors").
ERROR_CLASSES: dict[str, type[APIStatusError]] = {
    "InvalidAPIKey": AuthenticationError,
    "InvalidSession": AuthenticationError,
    "AccessDenied": PermissionDeniedError,
    "ObjectNotFound": NotFoundError,
    "InvalidParameter": BadRequestError,
    "DuplicateObject": BadRequestError,
    "RateLimitExceeded": RateLimitError,
    "InternalError": InternalServerError,
}

#: The statuses ECGrid's own guide says to retry (with backoff, ``Retry-After`` honoured).
RETRY_STATUSES = frozenset({429, 500, 503})


def retry_policy(max_retries: int = 3) -> RetryPolicy:
    """ECGrid's retry policy: 429 (after ``Retry-After``), 500 and 503; never a 4xx."""
    return RetryPolicy(
        max_retries=max_retries,
        retry_statuses=RETRY_STATUSES,  # type: ignore[arg-type]  # attrs converter=frozenset
    )


RETRY_POLICY = retry_policy()


def error_from_envelope(response: httpx.Response, envelope: Any) -> APIStatusError | None:
    """The error an answer means, given its parsed body; None for a success.

    ``success: false`` (any HTTP status) is an error of the class its ``errorCode`` names;
    an unknown or missing code falls back to the HTTP status (a 200 then gives the plain
    `APIStatusError`). An error status without a readable envelope is classed by status.
    """
    if isinstance(envelope, dict) and envelope.get("success") is False:
        code = envelope.get("errorCode")
        code = code if isinstance(code, str) and code else None
        message = envelope.get("message")
        text = message if isinstance(message, str) and message else (code or "request failed")
        cls = ERROR_CLASSES.get(code or "")
        if cls is None:
            cls = type(make_status_error(response)) if not response.is_success else APIStatusError
        if code:
            text = f"{code}: {text}" if not text.startswith(code) else text
        return cls(text, response=response, error_code=code)
    if response.is_success:
        return None
    error = make_status_error(response)
    if isinstance(envelope, dict):
        code = envelope.get("errorCode")
        if isinstance(code, str) and code:
            error.error_code = code
    return error


def error_for(response: httpx.Response, body: bytes) -> APIStatusError | None:
    """The session's error function: the error ``body`` (read) means, or None.

    A successful body that is not JSON is left to `unwrap` (which names the endpoint).
    """
    if response.is_success and b'"success"' not in body:
        return None  # no envelope to read: unwrap reports it
    try:
        envelope = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        envelope = None
    return error_from_envelope(response, envelope)


def malformed(response: httpx.Response, text: str) -> MalformedResponseError:
    """The error for a successful answer the client cannot read, naming the endpoint."""
    endpoint = endpoint_of(response.request)
    return MalformedResponseError(f"{endpoint}: {text}", endpoint=endpoint, response=response)


def envelope_of(response: httpx.Response) -> dict[str, Any]:
    """The envelope of a successful answer (read); `MalformedResponseError` without one."""
    body = json_body(response)
    if not isinstance(body, dict) or body.get("success") is not True:
        raise malformed(response, "answered without the ECGrid envelope (no success: true)")
    return body


def unwrap(response: httpx.Response) -> Any:
    """``data`` of a successful answer (read); `MalformedResponseError` without an envelope."""
    return envelope_of(response).get("data")
