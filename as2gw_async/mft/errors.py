"""The MFT Gateway's error answers, read in one place (`error_for`).

Every error body is ``{"message": "..."}``; validation errors of the create calls add
``"errors": [{"<field>": "<reason>"}]``. The shared classes of `as2gw_async.errors` are
raised, so one ``except`` works for every gateway: 400 `BadRequestError`, 401
`AuthenticationError`, 403 `PermissionDeniedError`, 404 `NotFoundError`, 413
`PayloadTooLargeError`, 422 `UnprocessableEntityError` (with ``field_errors``), 429
`RateLimitError`, 5xx `InternalServerError`.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from ..errors import (
    APIStatusError,
    PayloadTooLargeError,
    UnprocessableEntityError,
    make_status_error,
)

__all__ = ["error_for"]

_TOO_LARGE_HINT = (
    "the MFT Gateway does not document a size limit; it sends large files (over ~3 MB) "
    "through the account's own S3 bucket instead of the API"
)


def error_for(response: httpx.Response, body: bytes) -> APIStatusError | None:
    """The error an MFT Gateway answer means (None for a 2xx); ``body`` is already read."""
    if response.is_success:
        return None
    error = make_status_error(response)
    if isinstance(error, PayloadTooLargeError):
        error.message = f"the message is too large for the gateway ({error.message}); " + (
            _TOO_LARGE_HINT
        )
    elif isinstance(error, UnprocessableEntityError):
        fields = _field_errors(body)
        if fields:
            error.field_errors = fields
            details = "; ".join(f"{k}: {v}" for item in fields for k, v in item.items())
            error.message = f"{error.message} ({details})"
    return error


def _field_errors(body: bytes) -> tuple[dict[str, str], ...]:
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ()
    items = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return ()
    return tuple(
        {str(k): str(v) for k, v in item.items()} for item in items if isinstance(item, dict)
    )
