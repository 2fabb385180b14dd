"""The AS2 Gateway data model (spec section 3) and the values this library returns.

Entities are frozen attrs classes with snake_case fields; `converter.py` maps them to and
from the gateway's camelCase JSON. Enumerated fields hold the enum member when the value
is known and the raw string when it is not, so a new status on the server never breaks
parsing.
"""

from __future__ import annotations

import enum
import os
from collections.abc import AsyncIterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Generic, TypeVar, Union

from attrs import define, field

from .errors import InvalidRecordError

__all__ = [
    "AS2Message",
    "Attachment",
    "BatchResult",
    "DeliveryStatus",
    "DownloadedFile",
    "Folder",
    "GenericResponse",
    "MDNMessage",
    "MdnStatus",
    "Page",
    "PartnerType",
    "SendReceipt",
    "Upload",
    "UploadContent",
]

T = TypeVar("T")


class _CaseInsensitiveEnum(str, enum.Enum):
    @classmethod
    def _missing_(cls, value: object) -> _CaseInsensitiveEnum | None:
        if isinstance(value, str):
            wanted = value.strip().lower()
            for member in cls:
                if member.value.lower() == wanted or member.name.lower() == wanted:
                    return member
        return None

    def __str__(self) -> str:
        return str(self.value)


class PartnerType(_CaseInsensitiveEnum):
    """AS2 partner type. The JSON says ``Production``; query parameters say ``production``."""

    PRODUCTION = "Production"
    TEST = "Test"

    @property
    def query_value(self) -> str:
        """The lower-case form the list and send endpoints take as a query parameter."""
        return self.value.lower()


class DeliveryStatus(_CaseInsensitiveEnum):
    """AS2-level delivery status of a sent message."""

    DELIVERED = "Delivered"
    NOT_DELIVERED = "Not Delivered"
    NO_STATUS = "No Status"


class MdnStatus(_CaseInsensitiveEnum):
    """Delivery status of a message's MDN."""

    PENDING = "Pending"
    RECEIVED = "Received"
    NOT_REQUESTED = "Not Requested"
    NO_MDN = "No MDN"


class Folder(_CaseInsensitiveEnum):
    """The four message folders of the API (spec 4.4)."""

    RECEIVED = "received"
    SENT = "sent"
    FAILED = "failed"
    QUEUED = "queued"


def _ms_to_datetime(ms: int | None) -> datetime | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


@define(frozen=True)
class GenericResponse:
    """The gateway's acknowledgement or error text (spec 3.1)."""

    message: str


@define(frozen=True)
class Attachment:
    """One attachment of an AS2 message (spec 3.4)."""

    name: str
    size: int | None = None


@define(frozen=True, kw_only=True)
class MDNMessage:
    """The receipt (MDN) sent or received for a message (spec 3.3)."""

    persisted_timestamp: int | None = None
    mdn_error: bool = False
    content: str | None = None

    @property
    def persisted_at(self) -> datetime | None:
        """``persisted_timestamp`` as an aware UTC datetime."""
        return _ms_to_datetime(self.persisted_timestamp)


@define(frozen=True, kw_only=True)
class AS2Message:
    """An AS2 message sent or received by the gateway (spec 3.2).

    Optional attributes the gateway leaves out (``subject``, ``delivery_status`` on
    received messages, ``attachments`` on queued ones) are None or empty.
    """

    as2_message_id: str
    persisted_timestamp: int | None = None
    compressed: bool = False
    encrypted: bool = False
    signed: bool = False
    subject: str | None = None
    receiver_id: str | None = None
    sender_id: str | None = None
    transport_status_received: int | None = None
    delivery_status: Union[DeliveryStatus, str, None] = None  # noqa: UP007 (cattrs hook key)
    mdn_status: Union[MdnStatus, str, None] = None  # noqa: UP007
    partner_type: Union[PartnerType, str, None] = None  # noqa: UP007
    mdn_message: MDNMessage | None = None
    attachments: tuple[Attachment, ...] = ()

    @property
    def persisted_at(self) -> datetime | None:
        """``persisted_timestamp`` (milliseconds) as an aware UTC datetime."""
        return _ms_to_datetime(self.persisted_timestamp)


@define(frozen=True)
class Page(Generic[T]):
    """One page of a list endpoint (spec 3.5): ``total_records`` matches, ``records`` here.

    ``bad_records`` holds the records of the page that did not fit the model and were
    skipped (see ``on_bad_record``): the page held ``len(records) + len(bad_records)``.
    """

    total_records: int
    records: tuple[T, ...] = ()
    bad_records: tuple[InvalidRecordError, ...] = field(
        default=(), kw_only=True, eq=False, metadata={"json": False}
    )

    def __len__(self) -> int:
        return len(self.records)


@define(frozen=True, kw_only=True)
class SendReceipt:
    """What a send returns: the gateway's text, the ``Link`` header and the id parsed from it.

    The id keeps its angle brackets as the gateway writes them, e.g. ``<1.2.3@as2gateway.com>``.
    """

    as2_message_id: str
    link: str
    message: str


@define(frozen=True, kw_only=True)
class DownloadedFile:
    """A file written completely and atomically to ``path``."""

    path: Path
    name: str
    size: int
    content_type: str | None = None


@define(frozen=True, kw_only=True)
class BatchResult:
    """The outcome of a batch download.

    ``files`` maps each downloaded message id to its files, ``errors`` maps the ids the
    gateway could not serve to its error text, ``requests`` counts the HTTP calls made.
    """

    files: dict[str, list[DownloadedFile]] = field(factory=dict)
    errors: dict[str, str] = field(factory=dict)
    requests: int = 0


UploadContent = Union[bytes, str, os.PathLike[str], AsyncIterable[bytes]]  # noqa: UP007


@define(frozen=True)
class Upload:
    """A file to send: bytes, a path, or an async iterable of bytes, under a given name.

    >>> Upload(b"ISA*00*...", name="order.edi", content_type="application/edi-x12")
    ... # doctest: +SKIP
    """

    content: UploadContent = field(repr=False)
    name: str | None = field(default=None, kw_only=True)
    content_type: str | None = field(default=None, kw_only=True)
