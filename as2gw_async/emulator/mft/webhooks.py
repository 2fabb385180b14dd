"""Webhook event bodies as the MFT Gateway POSTs them (asyncapi ``aayu.mftg.as2``).

Three event types, told apart by ``eventType``: ``MESSAGE.RECEIVED.SUCCESS`` (with
``receivedAt``), ``MESSAGE.SEND.SUCCESS`` (``sentAt``) and ``MESSAGE.SEND.FAILED``
(``failureReason``, ``failures``, ``lastAttemptTime``, ``subject``). Timestamps are
milliseconds; ``attachments`` are object keys. No signature scheme is documented. These
builders give a client's parser realistic bodies; they are not sent anywhere.

Example::

    body = message_received_event(message_as2_id="<1@mftgateway.com>", attachments=["a.xml"])
    raw = webhook_body(body)     # bytes, as they arrive at the webhook URL
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .state import Message, MftGateway

__all__ = [
    "RECEIVED",
    "SEND_FAILED",
    "SENT",
    "event_for",
    "message_failed_event",
    "message_received_event",
    "message_sent_event",
    "webhook_body",
]

RECEIVED = "MESSAGE.RECEIVED.SUCCESS"
SENT = "MESSAGE.SEND.SUCCESS"
SEND_FAILED = "MESSAGE.SEND.FAILED"


def _common(
    event_type: str,
    *,
    message_as2_id: str,
    subject: str,
    partner_as2_id: str,
    station_as2_id: str,
    attachments: Sequence[str],
    partner_name: str | None,
    station_name: str | None,
    tenant: dict[str, Any] | None,
) -> dict[str, Any]:
    who = {"tenantName": "Emulated Tenant", "tenantId": 1001, "tenantEmail": "demo@example.com"}
    who.update(tenant or {})
    return {
        "eventType": event_type,
        "to": who["tenantEmail"],
        "messageAS2ID": message_as2_id,
        "messageSubject": subject,
        "partnerAS2ID": partner_as2_id,
        "partnerName": partner_name or partner_as2_id,
        "stationAS2ID": station_as2_id,
        "stationName": station_name or station_as2_id,
        "bucketName": "mftg-emulator-bucket",
        "attachments": list(attachments),
        **who,
    }


def message_received_event(
    *,
    message_as2_id: str,
    received_at: int = 1_594_924_304_442,
    subject: str = "AS2 Message from MyPartner",
    partner_as2_id: str = "MyPartner",
    station_as2_id: str = "MyStation",
    attachments: Sequence[str] = (),
    partner_name: str | None = None,
    station_name: str | None = None,
    tenant: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``MESSAGE.RECEIVED.SUCCESS`` body."""
    body = _common(
        RECEIVED,
        message_as2_id=message_as2_id,
        subject=subject,
        partner_as2_id=partner_as2_id,
        station_as2_id=station_as2_id,
        attachments=attachments,
        partner_name=partner_name,
        station_name=station_name,
        tenant=tenant,
    )
    body["receivedAt"] = received_at
    return body


def message_sent_event(
    *,
    message_as2_id: str,
    sent_at: int = 1_595_929_857_954,
    subject: str = "AS2 Message from MyStation",
    partner_as2_id: str = "MyPartner",
    station_as2_id: str = "MyStation",
    attachments: Sequence[str] = (),
    partner_name: str | None = None,
    station_name: str | None = None,
    tenant: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``MESSAGE.SEND.SUCCESS`` body."""
    body = _common(
        SENT,
        message_as2_id=message_as2_id,
        subject=subject,
        partner_as2_id=partner_as2_id,
        station_as2_id=station_as2_id,
        attachments=attachments,
        partner_name=partner_name,
        station_name=station_name,
        tenant=tenant,
    )
    body["sentAt"] = sent_at
    return body


def message_failed_event(
    *,
    message_as2_id: str,
    failure_reason: str = "SSL Handshake Exception",
    failures: int = 1,
    last_attempt_time: int = 1_595_929_857_954,
    subject: str = "AS2 Message from MyStation",
    partner_as2_id: str = "MyPartner",
    station_as2_id: str = "MyStation",
    attachments: Sequence[str] = (),
    partner_name: str | None = None,
    station_name: str | None = None,
    tenant: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``MESSAGE.SEND.FAILED`` body (it repeats the subject as ``subject``)."""
    body = _common(
        SEND_FAILED,
        message_as2_id=message_as2_id,
        subject=subject,
        partner_as2_id=partner_as2_id,
        station_as2_id=station_as2_id,
        attachments=attachments,
        partner_name=partner_name,
        station_name=station_name,
        tenant=tenant,
    )
    body.update(
        failureReason=failure_reason,
        failures=failures,
        lastAttemptTime=last_attempt_time,
        subject=subject,
    )
    return body


def event_for(gateway: MftGateway, message_id: str) -> dict[str, Any]:
    """The event the service would POST for a message of ``gateway`` in its current state:
    received (inbox), sent or failed. ValueError for a message still queued."""
    msg: Message = gateway.message(message_id)
    station = gateway.station(msg.station) if gateway.has_station(msg.station) else None
    partner = gateway.partner(msg.partner) if gateway.has_partner(msg.partner) else None
    common: dict[str, Any] = {
        "message_as2_id": msg.identifier,
        "subject": msg.subject,
        "partner_as2_id": msg.partner,
        "station_as2_id": msg.station,
        "attachments": [a.key for a in msg.attachments],
        "partner_name": partner.name if partner else None,
        "station_name": station.name if station else None,
    }
    if msg.folder == "inbox":
        return message_received_event(received_at=msg.timestamp, **common)
    if msg.folder == "sent":
        return message_sent_event(sent_at=msg.timestamp, **common)
    if msg.folder == "failed":
        return message_failed_event(
            failure_reason=msg.failure_reason or "",
            failures=msg.failures,
            last_attempt_time=msg.timestamp,
            **common,
        )
    raise ValueError(f"message {message_id} is still queued: no event yet")


def webhook_body(event: dict[str, Any]) -> bytes:
    """The event as the bytes a webhook receiver reads (compact JSON, UTF-8)."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
