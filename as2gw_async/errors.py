"""Exceptions raised by as2gw_async.

Our exception hierarchy:

* AS2GatewayError
  + APIConnectionError ........ the request did not get an HTTP answer
    + APITimeoutError
  + APIStatusError ............ the gateway answered with an error status
    + BadRequestError ......... 400
    + AuthenticationError ..... 401
    + PermissionDeniedError ... 403
    + NotFoundError ........... 404
    + RateLimitError .......... 429
    + InternalServerError ..... 5xx
    + RedirectError ........... a 3xx the session will not follow (another host, a downgrade)
  + LimitExceededError ........ a send over the documented limits, raised before any byte leaves
  + DeliveryFailedError ....... the gateway gave up sending a message
  + DeliveryTimeoutError ...... wait_for_delivery ran out of time
  + IntegrityError ............ a body or archive that is short, corrupt or unsafe
  + InsecureTransportError .... credentials would cross plain http to a remote host
  + NotADirectoryDestinationError  a download's directory is a file (also NotADirectoryError)
  + JournalMismatchError ...... an inbox journal that belongs to another gateway or account
  + JournalDatabaseError ...... the inbox journal's database refused a statement
    + JournalUnavailableError . the journal's database stayed unreachable (after waiting)
  + ClaimLostError ............ another consumer took over a message this one was storing
  + AsyncBackendError ......... a part that runs only under asyncio was used under trio

Every `APIStatusError` is built by `make_status_error`, the one place that turns a
response into an exception. Exception texts never hold the password or the token.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from .models import AS2Message

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AS2GatewayError",
    "AsyncBackendError",
    "AuthenticationError",
    "BadRequestError",
    "ClaimLostError",
    "DeliveryFailedError",
    "DeliveryTimeoutError",
    "InsecureTransportError",
    "IntegrityError",
    "InternalServerError",
    "JournalDatabaseError",
    "JournalMismatchError",
    "JournalUnavailableError",
    "LimitExceededError",
    "NotADirectoryDestinationError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedirectError",
    "make_status_error",
]

_MAX_BODY_IN_MESSAGE = 200


class AS2GatewayError(Exception):
    """Base class of every error this library raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class APIConnectionError(AS2GatewayError):
    """The request failed before an HTTP response arrived (DNS, connect, reset, TLS)."""

    def __init__(self, message: str = "Connection error.", *, request: httpx.Request) -> None:
        super().__init__(message)
        self.request = request


class APITimeoutError(APIConnectionError):
    """The request timed out."""

    def __init__(self, request: httpx.Request, message: str = "Request timed out.") -> None:
        super().__init__(message, request=request)


class APIStatusError(AS2GatewayError):
    """The gateway answered with a 4xx or 5xx status.

    ``message`` is the gateway's own ``{"message": ...}`` text when it sent one.
    """

    def __init__(self, message: str, *, response: httpx.Response) -> None:
        super().__init__(message)
        self.response = response
        self.status_code = response.status_code
        self.request = response.request

    def __str__(self) -> str:
        return f"{self.status_code}: {self.message}"


class BadRequestError(APIStatusError):
    """400: the gateway rejected the request's parameters or body."""


class AuthenticationError(APIStatusError):
    """401: bad credentials, or a token the gateway no longer accepts."""


class PermissionDeniedError(APIStatusError):
    """403: the account may not do this."""


class NotFoundError(APIStatusError):
    """404: no such message, attachment, station or partner."""


class RateLimitError(APIStatusError):
    """429: too many requests, still refused after the retries the policy allows."""


class InternalServerError(APIStatusError):
    """5xx: the gateway failed, still failing after the retries the policy allows."""


class RedirectError(APIStatusError):
    """A redirect the session refuses to follow silently (another host, https to http)."""


class LimitExceededError(AS2GatewayError, ValueError):
    """A send breaks a documented limit (files per message, size, unique names).

    Raised before any byte is sent. ``limit`` names the rule, ``file`` the offending file.
    """

    def __init__(self, message: str, *, limit: str, file: str | None = None) -> None:
        super().__init__(message)
        self.limit = limit
        self.file = file


class DeliveryFailedError(AS2GatewayError):
    """The gateway gave up sending a message; ``attempts`` are its failed-folder records."""

    def __init__(
        self, message: str, *, as2_message_id: str, attempts: Sequence[AS2Message] = ()
    ) -> None:
        super().__init__(message)
        self.as2_message_id = as2_message_id
        self.attempts = tuple(attempts)


class DeliveryTimeoutError(AS2GatewayError, TimeoutError):
    """``wait_for_delivery`` ran out of time; ``last_seen`` names the folder, or None."""

    def __init__(self, message: str, *, as2_message_id: str, last_seen: str | None) -> None:
        super().__init__(message)
        self.as2_message_id = as2_message_id
        self.last_seen = last_seen


class IntegrityError(AS2GatewayError):
    """A downloaded body or archive is incomplete, corrupt or unsafe to extract."""


class InsecureTransportError(AS2GatewayError, ValueError):
    """Credentials would be sent over plain http to a host that is not loopback."""


class JournalMismatchError(AS2GatewayError):
    """An inbox ``dest_dir`` (its journal) belongs to another gateway or account."""


class JournalDatabaseError(AS2GatewayError):
    """The inbox journal's database refused a statement (permissions, a newer schema)."""


class JournalUnavailableError(JournalDatabaseError):
    """The inbox journal's database could not be reached, after waiting as configured."""


class ClaimLostError(AS2GatewayError):
    """A message's claim passed to another consumer (its lease expired) before this one
    journaled it as stored: it is not handed over here. ``message_ids``: the ids."""

    def __init__(self, message: str, *, message_ids: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message_ids = tuple(message_ids)


class AsyncBackendError(AS2GatewayError, RuntimeError):
    """A part that runs only under asyncio (its driver is asyncio-only) was used under trio."""


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


def make_status_error(response: httpx.Response) -> APIStatusError:
    """Build the exception for an error response; its body must already be read."""
    status = response.status_code
    cls = _STATUS_ERRORS.get(status)
    if cls is None:
        if status >= 500:
            cls = InternalServerError
        elif 300 <= status < 400:
            cls = RedirectError
        else:
            cls = APIStatusError
    return cls(_error_text(response), response=response)


def _error_text(response: httpx.Response) -> str:
    """The gateway's ``message`` field, else a short, clean summary of the body."""
    try:
        body = response.content
    except httpx.ResponseNotRead:
        body = b""
    if body:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            data = None
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            return str(data["message"])
    reason = response.reason_phrase or "HTTP error"
    ctype = response.headers.get("content-type", "").split(";")[0].strip()
    if body and ctype.startswith("text/plain"):
        text = " ".join(body.decode("utf-8", "replace").split())
        if len(text) > _MAX_BODY_IN_MESSAGE:
            text = text[:_MAX_BODY_IN_MESSAGE] + "..."
        return f"{reason}: {text}"
    if body:
        return f"{reason} (non-JSON {ctype or 'unknown'} body of {len(body)} bytes)"
    return reason


class NotADirectoryDestinationError(AS2GatewayError, NotADirectoryError):
    """A download's destination directory (or one of its parents) is a file, not a directory.

    Also a `NotADirectoryError` (``errno`` ENOTDIR, ``filename`` the path), so an existing
    ``except OSError`` keeps working. ``path`` is the offending path.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        text = os.fspath(path)
        super().__init__(f"{text} is not a directory (it is a file); pass a directory")
        self.errno = errno.ENOTDIR
        self.strerror = self.message
        self.filename = text
        self.path = text

    def __str__(self) -> str:
        return self.message
