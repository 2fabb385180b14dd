"""Exceptions raised by as2gw_async.

Our exception hierarchy:

* AS2GatewayError
  + APIConnectionError ........ the request did not get an HTTP answer
    + APITimeoutError ......... a read timed out, or the call's overall deadline passed
      + DeadlineExceededError . the call's overall deadline passed (never retried)
  + APIStatusError ............ the gateway answered with an error status
    + BadRequestError ......... 400
    + AuthenticationError ..... 401
    + PermissionDeniedError ... 403
    + NotFoundError ........... 404
    + PayloadTooLargeError .... 413 (a send the gateway found too big)
    + UnprocessableEntityError  422 (a well-formed request the gateway refused: unknown
                                partner, invalid fields)
    + RateLimitError .......... 429
    + InternalServerError ..... 5xx
    + RedirectError ........... a 3xx the session will not follow (another host, a downgrade)
  + LimitExceededError ........ a send over the documented limits, raised before any byte leaves
  + InvalidFilterError ........ list filters the gateway would silently ignore (also ValueError)
  + DeliveryFailedError ....... the gateway gave up sending a message
  + DeliveryTimeoutError ...... wait_for_delivery ran out of time
  + IntegrityError ............ a body or archive that is short, corrupt or unsafe
    + ContentEncodingError .... a gzip/deflate body that is cut short or undecodable
    + BodyTooLargeError ....... a body that decodes past the session's cap (not retried)
  + MalformedResponseError .... a successful answer the client cannot read (bad JSON)
  + InvalidTokenError ......... the gateway issued a token that cannot travel in a header
  + InvalidDataError .......... a successful JSON answer that does not fit the data model
  | + InvalidRecordError ...... one record of it (a page's other records are still good)
  + InconsistentListingError .. pages that do not add up to the listing's total
  + InsecureTransportError .... credentials would cross plain http to a remote host
  + NotADirectoryDestinationError  a download's directory is a file (also NotADirectoryError)
  + JournalMismatchError ...... an inbox journal that belongs to another gateway or account
  + JournalDatabaseError ...... the inbox journal's database refused a statement
    + JournalUnavailableError . the journal's database stayed unreachable (after waiting)
  + ClaimLostError ............ another consumer took over a message this one was storing
  + AsyncBackendError ......... a part that runs only under asyncio was used under trio

Every v1 `APIStatusError` is built by `make_status_error`, the one place that turns a
response into an exception; each other gateway has its own such function, and the shared
core (``_core/session.py``) scrubs secrets from whatever they build. Exception texts never
hold the password or the token.
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
    "BodyTooLargeError",
    "ClaimLostError",
    "ContentEncodingError",
    "DeadlineExceededError",
    "DeliveryFailedError",
    "DeliveryTimeoutError",
    "InconsistentListingError",
    "InsecureTransportError",
    "IntegrityError",
    "InternalServerError",
    "InvalidDataError",
    "InvalidFilterError",
    "InvalidRecordError",
    "InvalidTokenError",
    "JournalDatabaseError",
    "JournalMismatchError",
    "JournalUnavailableError",
    "LimitExceededError",
    "MalformedResponseError",
    "NotADirectoryDestinationError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedirectError",
    "UnprocessableEntityError",
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


class DeadlineExceededError(APITimeoutError):
    """The call's overall deadline passed (``deadline=``): the time is spent, so neither the
    session nor a resuming download tries again."""


class APIStatusError(AS2GatewayError):
    """The gateway answered with a 4xx or 5xx status.

    ``message`` is the gateway's own ``{"message": ...}`` text when it sent one.
    ``error_code`` is the gateway's machine-readable code when it has one (ECGrid's
    ``errorCode``, which may come with an HTTP 200); None for the AS2 Gateway v1.
    """

    def __init__(
        self, message: str, *, response: httpx.Response, error_code: str | None = None
    ) -> None:
        super().__init__(message)
        self.response = response
        self.status_code = response.status_code
        self.request = response.request
        self.error_code = error_code

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


class PayloadTooLargeError(APIStatusError):
    """413: the request body (a send) is bigger than the gateway accepts."""


class UnprocessableEntityError(APIStatusError):
    """422: the gateway understood the request and refused it (unknown partner or station,
    invalid fields: see ``field_errors``)."""

    #: The gateway's per-field reasons (``{"field": "reason"}``), when it sent any.
    field_errors: tuple[dict[str, str], ...] = ()


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


class InvalidFilterError(AS2GatewayError, ValueError):
    """A combination of list filters the gateway would silently ignore part of; raised
    before any request, so a listing never quietly returns more than was asked for."""


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
    """A downloaded body or archive is incomplete, corrupt or unsafe to extract.

    ``retryable`` tells the retry policy whether fetching the body again may help (a short
    body: yes; a body over a size cap: no).
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class ContentEncodingError(IntegrityError):
    """A compressed (``Content-Encoding``) body is cut short or cannot be decoded."""


class BodyTooLargeError(IntegrityError):
    """A body decodes to more bytes than the session's ``max_decoded_size``; not retried."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class MalformedResponseError(AS2GatewayError):
    """A successful answer the client cannot read, such as malformed JSON.

    ``endpoint`` names the call (``"POST /authorize"``); ``response`` is the answer.
    """

    def __init__(self, message: str, *, endpoint: str, response: httpx.Response) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.response = response


class InvalidTokenError(AS2GatewayError):
    """The gateway issued a token that cannot be sent in a header (control characters,
    whitespace, non-ASCII). Not retried: asking again would get the same token."""


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
    413: PayloadTooLargeError,
    422: UnprocessableEntityError,
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


class InvalidDataError(AS2GatewayError):
    """A successful JSON answer that does not fit the data model (a page without
    ``totalRecords``, a message without its id). ``endpoint`` names the call, e.g.
    ``"GET /message/received"``; ``reason`` says what did not fit."""

    def __init__(self, message: str, *, endpoint: str | None, reason: str) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.reason = reason


class InvalidRecordError(InvalidDataError):
    """One record of a listing (``index`` on its page) or one message that does not fit
    the model. ``as2_message_id`` is its id when that much could be read, else None."""

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None,
        reason: str,
        index: int | None = None,
        as2_message_id: str | None = None,
    ) -> None:
        super().__init__(message, endpoint=endpoint, reason=reason)
        self.index = index
        self.as2_message_id = as2_message_id


class InconsistentListingError(AS2GatewayError):
    """A paged listing that does not add up: pages repeating what was already listed, or
    empty before the total it announced. Raised after a bounded number of requests."""

    def __init__(self, message: str, *, endpoint: str) -> None:
        super().__init__(message)
        self.endpoint = endpoint
