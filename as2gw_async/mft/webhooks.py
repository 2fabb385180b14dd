"""Typed webhook events: `parse_webhook(body)`.

The service POSTs an event to a URL you configure; ``eventType`` says which
(``MESSAGE.RECEIVED.SUCCESS``, ``MESSAGE.SEND.SUCCESS``, ``MESSAGE.SEND.FAILED``; schemas
from the vendor's AsyncAPI file). An event type this library does not know is returned as
`UnknownEvent` with its body, never an error, so a new event on the service breaks
nothing. No signature scheme is documented: authenticate the sender another way (a secret
in the URL, an allow-list).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Union

import attrs
from attrs import define, field

from ..converter import structure
from ..errors import AS2GatewayError, InvalidRecordError

__all__ = [
    "MessageFailedEvent",
    "MessageReceivedEvent",
    "MessageSentEvent",
    "UnknownEvent",
    "WebhookError",
    "WebhookEvent",
    "parse_webhook",
]


class WebhookError(AS2GatewayError, ValueError):
    """A webhook body that is not a JSON object, or an event of the wrong shape."""


@define(frozen=True, kw_only=True)
class _Event:
    event_type: str
    message_as2_id: str | None = None
    message_subject: str | None = None
    partner_as2_id: str | None = None
    partner_name: str | None = None
    station_as2_id: str | None = None
    station_name: str | None = None
    attachments: tuple[str, ...] = ()
    to: str | None = None
    bucket_name: str | None = None
    tenant_name: str | None = None
    tenant_id: int | None = None
    tenant_email: str | None = None
    raw: Mapping[str, Any] | None = field(default=None, repr=False, eq=False)


@define(frozen=True, kw_only=True)
class MessageReceivedEvent(_Event):
    """``MESSAGE.RECEIVED.SUCCESS``: a message arrived (``received_at`` in ms)."""

    received_at: int | None = None


@define(frozen=True, kw_only=True)
class MessageSentEvent(_Event):
    """``MESSAGE.SEND.SUCCESS``: a message was sent (``sent_at`` in ms)."""

    sent_at: int | None = None


@define(frozen=True, kw_only=True)
class MessageFailedEvent(_Event):
    """``MESSAGE.SEND.FAILED``: the gateway gave up sending a message."""

    failure_reason: str | None = None
    failures: int | None = None
    last_attempt_time: int | None = None
    subject: str | None = None


@define(frozen=True, kw_only=True)
class UnknownEvent:
    """An event type this library does not know; ``raw`` is its whole body."""

    event_type: str | None
    raw: Mapping[str, Any] = field(factory=dict)


WebhookEvent = Union[MessageReceivedEvent, MessageSentEvent, MessageFailedEvent, UnknownEvent]  # noqa: UP007

_TYPES: dict[str, type[_Event]] = {
    "MESSAGE.RECEIVED.SUCCESS": MessageReceivedEvent,
    "MESSAGE.SEND.SUCCESS": MessageSentEvent,
    "MESSAGE.SEND.FAILED": MessageFailedEvent,
}
# The AsyncAPI names are not plain camelCase of ours (``messageAS2ID``).
_WIRE_NAMES = {
    "messageAS2ID": "messageAs2Id",
    "partnerAS2ID": "partnerAs2Id",
    "stationAS2ID": "stationAs2Id",
}


def parse_webhook(body: bytes | str | Mapping[str, Any]) -> WebhookEvent:
    """The typed event of a webhook body (bytes, text or decoded JSON).

    >>> parse_webhook(b'{"eventType": "MESSAGE.SEND.SUCCESS", "messageAS2ID": "<1@x>"}')
    ... # doctest: +ELLIPSIS
    MessageSentEvent(event_type='MESSAGE.SEND.SUCCESS', message_as2_id='<1@x>', ...)
    """
    data: Any = body
    if isinstance(body, (bytes, str)):
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _malformed(f"a webhook body that is not JSON ({type(exc).__name__})") from None
    if not isinstance(data, Mapping):
        raise _malformed("a webhook body that is not a JSON object")
    event_type = data.get("eventType")
    cls = _TYPES.get(event_type) if isinstance(event_type, str) else None
    if cls is None:
        return UnknownEvent(
            event_type=event_type if isinstance(event_type, str) else None, raw=dict(data)
        )
    wire = {_WIRE_NAMES.get(k, k): v for k, v in data.items() if k != "raw"}
    try:
        event = structure(wire, cls, endpoint="webhook")
    except InvalidRecordError as exc:
        raise _malformed(f"a {event_type} event of the wrong shape: {exc.reason}"[:300]) from None
    result: WebhookEvent = attrs.evolve(event, raw=dict(data))  # type: ignore[assignment]
    return result


def _malformed(text: str) -> WebhookError:
    return WebhookError(text)
