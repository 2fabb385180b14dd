"""ECGrid's data model: parcels, interchanges, manifests; one normalising place.

The vendor's pages spell a parcel two ways (reference pages: ``ecGridIdFrom``,
``ecGridIdTo``, ``created``, ``bytes``; the polling guide: ``fromECGridId``, ``toECGridId``,
``receivedDate``, ``size``). `parcel_from` reads both into one `Parcel`; unknown fields are
kept in ``extra`` and unknown statuses are kept as plain strings (never a failure).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any

from attrs import define, field

__all__ = [
    "Interchange",
    "ManifestEntry",
    "Parcel",
    "ParcelStatus",
    "format_datetime",
    "interchange_from",
    "manifest_entry_from",
    "parcel_from",
    "parse_datetime",
]


class ParcelStatus(str, enum.Enum):
    """The parcel statuses the vendor documents (a `Parcel` may hold others, as strings)."""

    IN_BOX_READY = "InBoxReady"
    IN_BOX_TRANSFERRED = "InBoxTransferred"
    IN_BOX_ARCHIVED = "InBoxArchived"
    AS2_RECEIVE = "as2Receive"
    AS2_SENT = "as2Sent"
    FTP_RECEIVED = "ftpReceived"
    FTP_SENT = "ftpSent"
    OUTBOX_PENDING = "outboxPending"
    OUTBOX_SENT = "outboxSent"
    OUTBOX_ACKNOWLEDGED = "outboxAcknowledged"
    OUTBOX_RETRY = "outboxRetry"
    OUTBOX_FAILED = "outboxFailed"
    OUTBOX_DELIVERY_ERROR = "outboxDeliveryError"
    OUTBOX_TRANSFERRED = "outboxTransferred"
    CANCELLED = "Cancelled"
    VAULT_READY = "VaultReady"

    def __str__(self) -> str:
        return self.value


_STATUSES = {s.value: s for s in ParcelStatus}


def _status(value: Any) -> ParcelStatus | str | None:
    """A documented status as the enum, anything else kept as it came."""
    if value is None:
        return None
    text = str(value)
    return _STATUSES.get(text, text)


def parse_datetime(value: Any) -> dt.datetime | None:
    """An ISO 8601 time as an aware datetime (naive = UTC); None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.timezone.utc)


def format_datetime(value: dt.datetime | str | None) -> str | None:
    """A request's date filter as the API writes times: ISO 8601 UTC with a ``Z`` (a naive
    datetime is taken as UTC; a string is sent as given)."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _first(raw: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if raw.get(name) is not None:
            return raw[name]
    return None


@define(frozen=True, kw_only=True)
class Parcel:
    """A file on the ECGrid network (one or more EDI interchanges).

    ``size`` is the file's size in bytes (``bytes`` or ``size``); ``created`` is
    ``created`` or ``receivedDate``. ``status`` is a `ParcelStatus` when documented, else
    the string the server sent. ``extra`` holds every field not named here.
    """

    parcel_id: int
    file_name: str | None = None
    size: int | None = None
    status: ParcelStatus | str | None = None
    mailbox_id: int | None = None
    network_id: int | None = None
    ecgrid_id_from: int | None = None
    ecgrid_id_to: int | None = None
    created: dt.datetime | None = None
    modified: dt.datetime | None = None
    extra: Mapping[str, Any] = field(factory=dict, repr=False)


_PARCEL_FIELDS = {
    "parcelId",
    "fileName",
    "bytes",
    "size",
    "status",
    "mailboxId",
    "networkId",
    "ecGridIdFrom",
    "fromECGridId",
    "ecGridIdTo",
    "toECGridId",
    "created",
    "receivedDate",
    "modified",
}


def parcel_from(raw: Any) -> Parcel:
    """One `Parcel` from either spelling; ``ValueError`` if ``raw`` is not an object with a
    numeric ``parcelId``."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"a parcel that is not a JSON object: {type(raw).__name__}")
    parcel_id = _int(raw.get("parcelId"))
    if parcel_id is None:
        raise ValueError(f"a parcel without a numeric parcelId: {raw.get('parcelId')!r}")
    return Parcel(
        parcel_id=parcel_id,
        file_name=_str(raw.get("fileName")),
        size=_int(_first(raw, "bytes", "size")),
        status=_status(raw.get("status")),
        mailbox_id=_int(raw.get("mailboxId")),
        network_id=_int(raw.get("networkId")),
        ecgrid_id_from=_int(_first(raw, "ecGridIdFrom", "fromECGridId")),
        ecgrid_id_to=_int(_first(raw, "ecGridIdTo", "toECGridId")),
        created=parse_datetime(_first(raw, "created", "receivedDate")),
        modified=parse_datetime(raw.get("modified")),
        extra={k: v for k, v in raw.items() if k not in _PARCEL_FIELDS},
    )


@define(frozen=True, kw_only=True)
class Interchange:
    """One EDI interchange (an ISA envelope) inside a parcel; ``extra`` keeps the rest."""

    interchange_id: int
    parcel_id: int | None = None
    sender: str | None = None
    receiver: str | None = None
    standard: str | None = None
    document_type: str | None = None
    status: str | None = None
    created: dt.datetime | None = None
    extra: Mapping[str, Any] = field(factory=dict, repr=False)


_INTERCHANGE_FIELDS = {
    "interchangeId",
    "parcelId",
    "sender",
    "receiver",
    "standard",
    "documentType",
    "status",
    "created",
}


def interchange_from(raw: Any) -> Interchange:
    """One `Interchange`; ``ValueError`` if ``raw`` is not an object with a numeric
    ``interchangeId``."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"an interchange that is not a JSON object: {type(raw).__name__}")
    interchange_id = _int(raw.get("interchangeId"))
    if interchange_id is None:
        raise ValueError(f"an interchange without a numeric id: {raw.get('interchangeId')!r}")
    return Interchange(
        interchange_id=interchange_id,
        parcel_id=_int(raw.get("parcelId")),
        sender=_str(raw.get("sender")),
        receiver=_str(raw.get("receiver")),
        standard=_str(raw.get("standard")),
        document_type=_str(raw.get("documentType")),
        status=_str(raw.get("status")),
        created=parse_datetime(raw.get("created")),
        extra={k: v for k, v in raw.items() if k not in _INTERCHANGE_FIELDS},
    )


@define(frozen=True, kw_only=True)
class ManifestEntry:
    """One line of a parcel's manifest: an interchange and what it holds."""

    interchange_id: int | None = None
    sender: str | None = None
    receiver: str | None = None
    document_type: str | None = None
    count: int | None = None
    extra: Mapping[str, Any] = field(factory=dict, repr=False)


def manifest_entry_from(raw: Mapping[str, Any]) -> ManifestEntry:
    """One `ManifestEntry` from ``GET /v2/parcels/manifest/{id}``."""
    known = {"interchangeId", "sender", "receiver", "documentType", "count"}
    return ManifestEntry(
        interchange_id=_int(raw.get("interchangeId")),
        sender=_str(raw.get("sender")),
        receiver=_str(raw.get("receiver")),
        document_type=_str(raw.get("documentType")),
        count=_int(raw.get("count")),
        extra={k: v for k, v in raw.items() if k not in known},
    )
