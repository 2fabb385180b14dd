"""The MFT Gateway data model: frozen attrs classes with snake_case fields.

Bodies are read with current field names (`naming.normalise` has already renamed legacy
ones) and built by the shared cattrs converter (``as2gw_async.converter``): camelCase
mapped to snake_case, unknown fields ignored by the classes but kept in ``raw``, unknown
enum values kept as their string. `parse` is the one place a body becomes a model; a body
of the wrong shape is a `MalformedResponseError`, never a cattrs traceback.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, TypeVar, Union

import attrs
import httpx
from attrs import define, field

from .._core.bodies import endpoint_of
from ..converter import structure
from ..models import DownloadedFile, Upload

__all__ = [
    "AttachmentLink",
    "Certificate",
    "CertificateSummary",
    "CertificateType",
    "CreatedEntity",
    "DownloadedFile",
    "MdnMessage",
    "Message",
    "MessageStatus",
    "SendReceipt",
    "Upload",
    "parse",
]

T = TypeVar("T")


class _Enum(str, enum.Enum):
    @classmethod
    def _missing_(cls, value: object) -> _Enum | None:
        if isinstance(value, str):
            wanted = value.strip().lower()
            for member in cls:
                if member.value.lower() == wanted:
                    return member
        return None

    def __str__(self) -> str:
        return str(self.value)


class MessageStatus(_Enum):
    """``msgStatus`` of a message (values not listed here are kept as strings)."""

    RECEIVED = "Received"
    SENT = "Sent"
    QUEUED = "Queued"
    FAILED = "Failed"
    INCOMPLETE = "Incomplete"


class CertificateType(_Enum):
    """``certType`` of ``GET /certificate``."""

    STATION = "STATION"
    PARTNER = "PARTNER"
    HTTPS = "HTTPS"
    PARTNER_CHAIN = "PARTNER_CHAIN"
    HTTPS_CHAIN = "HTTPS_CHAIN"


def _ms_to_datetime(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


@define(frozen=True, kw_only=True)
class MdnMessage:
    """The receipt (MDN) of a message, as ``mdnMessage`` holds it."""

    mdn_id: str | None = None
    message_id: int | None = None
    identifier: str | None = None
    disposition: str | None = None
    human_message: str | None = None
    raw_mdn_s3_key: str | None = None
    mic: str | None = None
    signed: bool | None = None
    incoming: bool | None = None
    status: str | None = None
    timestamp: int | None = None


@define(frozen=True, kw_only=True)
class Message:
    """A received or outbound message. ``identifier`` is the AS2 message id
    (``<...@mftgateway.com>``); ``raw`` is the whole body (current field names), unknown
    fields included (None for a message not read from the gateway)."""

    identifier: str
    id: int | None = None
    incoming: bool | None = None
    msg_status: Union[MessageStatus, str, None] = None  # noqa: UP007 (cattrs hook key)
    mdn_status: str | None = None
    sender_identifier: str | None = None
    receiver_identifier: str | None = None
    subject: str | None = None
    failures: int | None = None
    failure_reason: str | None = None
    attachment_paths: tuple[str, ...] = ()
    compressed: bool | None = None
    signed: bool | None = None
    encrypted: bool | None = None
    mic: str | None = None
    mic_matches: bool | None = None
    transport_status_received: int | None = None
    user_agent: str | None = None
    timestamp: int | None = None
    api_fetched: bool | None = None
    transport_headers: Mapping[str, str] | None = None
    mdn_message: MdnMessage | None = None
    raw: Mapping[str, Any] | None = field(default=None, repr=False, eq=False)

    @property
    def timestamp_at(self) -> datetime | None:
        """``timestamp`` (milliseconds) as an aware UTC datetime."""
        return _ms_to_datetime(self.timestamp)

    @property
    def message_id(self) -> str:
        """The AS2 message id (``identifier``), by the name every gateway's model has."""
        return self.identifier


@define(frozen=True, kw_only=True)
class SendReceipt:
    """What a send returns: the message id, the ``Link`` header (its outbox URL) and the
    gateway's text."""

    message_id: str
    link: str | None
    message: str


@define(frozen=True, kw_only=True)
class AttachmentLink:
    """A presigned download link (valid for about 10 minutes) and the file's name as the
    gateway gives it (untrusted: never used as a path as it is)."""

    name: str | None = None
    url: str


@define(frozen=True, kw_only=True)
class CertificateSummary:
    """One entry of ``GET /certificate``."""

    alias: str
    type: Union[CertificateType, str, None] = None  # noqa: UP007


@define(frozen=True, kw_only=True)
class Certificate:
    """``GET /certificate/{alias}`` (its field names are snake_case on the wire)."""

    alias: str
    type: Union[CertificateType, str, None] = None  # noqa: UP007
    serial_number: str | None = None
    subject_common_name: str | None = None
    subject_distinguish_name: str | None = None
    issuer_common_name: str | None = None
    issuer_distinguish_name: str | None = None
    valid_from: str | None = None
    expiry: str | None = None
    belongs_to: tuple[str, ...] = ()
    raw: Mapping[str, Any] | None = field(default=None, repr=False, eq=False)


@define(frozen=True, kw_only=True)
class CreatedEntity:
    """The answer of ``POST /station`` or ``POST /partner``: the text and the new id."""

    message: str
    id: int | None = None


def parse(
    data: Any, cls: type[T], response: httpx.Response, *, raw: Mapping[str, Any] | None = None
) -> T:
    """``data`` (decoded JSON, current names) as ``cls``, through the shared converter: a
    body that does not fit is `InvalidRecordError` naming the call (as for v1). Classes with
    a ``raw`` field get ``raw`` (default: the body) there."""
    endpoint = endpoint_of(response.request)
    value = structure(data if not isinstance(data, Mapping) else dict(data), cls, endpoint=endpoint)
    if any(a.name == "raw" for a in attrs.fields(cls)):  # type: ignore[arg-type]
        value = attrs.evolve(value, raw=dict(data if raw is None else raw))  # type: ignore[misc]
    return value
