"""Sending (``POST /message/submit``) and waiting for the delivery.

`send` builds its body with the shared upload code (`_core/uploads.py`): one file as the
raw body with ``Attachment-Name``, several as multipart ``File`` parts, streamed from disk
and re-readable (so a 307 or 401 can send it again; a failure after the body may have
reached the gateway is never repeated silently). The MFT Gateway documents no size limit:
none is invented here, and a 413 is a `PayloadTooLargeError`.

`wait_for_delivery` polls the outbox, then ``outbox/queued``, then ``outbox/failed`` (as
the vendor advises: a failed send never appears in the outbox and its Link goes dead).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from .._core.bodies import json_body
from .._core.polling import PollSchedule
from .._core.uploads import (
    SendFile,
    UploadLimits,
    multipart_body,
    prepare_uploads,
    raw_name_ok,
    remove_spooled,
)
from ..endpoints._params import check_id, check_text
from ..errors import (
    AS2GatewayError,
    DeliveryFailedError,
    DeliveryTimeoutError,
    MalformedResponseError,
    NotFoundError,
)
from .models import Message, MessageStatus, SendReceipt
from .naming import SUBMIT_FIELDS, normalise

if TYPE_CHECKING:
    from .messages import OutboxFolder
    from .session import Session

__all__ = ["LIMITS", "send", "wait_for_delivery"]

#: No limit is documented: only unique names are checked before sending.
LIMITS = UploadLimits()

_FAILURE_CONFIRMATIONS = 2


async def send(
    session: Session,
    station: str,
    partner: str,
    *files: SendFile,
    subject: str | None = None,
) -> SendReceipt:
    """``POST /message/submit?service=as2``; see `Session.send`."""
    check_id("station", station)
    check_id("partner", partner)
    headers = {"AS2-From": station, "AS2-To": partner}
    if subject is not None:
        check_text("subject", subject)
        headers["Subject"] = subject
    spooled: list[str] = []
    try:
        parts = await prepare_uploads(files, spooled, LIMITS)
        if len(parts) == 1 and raw_name_ok(parts[0].name):
            part = parts[0]
            headers.update(
                {
                    "Attachment-Name": part.name,
                    "Content-Type": part.content_type,
                    "Content-Length": str(part.size),
                }
            )
            body = part.chunks
        else:
            body, ctype, length = multipart_body(parts, "File")
            headers.update({"Content-Type": ctype, "Content-Length": str(length)})
        response = await session.request(
            "POST",
            "/message/submit",
            params={"service": "as2"},
            content=body,
            headers=headers,
            idempotent=False,
        )
    finally:
        await remove_spooled(spooled)
    return _receipt(response)


def _receipt(response: httpx.Response) -> SendReceipt:
    consequence = (
        "The message WAS submitted: do not send it again; look for it in s.queued or s.outbox"
    )
    try:
        data = json_body(response)
    except MalformedResponseError:
        data = None
    data = normalise(data, SUBMIT_FIELDS) if isinstance(data, dict) else {}
    message_id = data.get("messageIdentifier")
    if not isinstance(message_id, str) or not message_id:
        raise AS2GatewayError(
            f"the gateway accepted the message (HTTP {response.status_code}) but its answer "
            f"holds no message identifier. {consequence}"
        )
    text = data.get("message")
    return SendReceipt(
        message_id=message_id,
        link=response.headers.get("link"),
        message=text if isinstance(text, str) else "",
    )


async def _find(folder: OutboxFolder, message_id: str) -> Message | None:
    try:
        return await folder.get(message_id)
    except NotFoundError:
        return None


async def _listed(folder: OutboxFolder, message_id: str) -> bool:
    return message_id in await folder.list_ids(identifier=message_id, page_length=10)


async def wait_for_delivery(
    session: Session,
    message_id: str,
    *,
    timeout: float,
    poll_interval: float,
    initial_delay: float | None,
) -> Message:
    """Poll until the message is sent (returned) or given up (`DeliveryFailedError`).

    Each round reads the message (``GET /message/outbox/{id}``: its ``msgStatus``); when
    the gateway no longer knows it there, ``outbox/queued`` and ``outbox/failed`` are
    searched by identifier. A failure must be seen in two rounds in a row (the gateway may
    be retrying it). ``timeout`` is checked between rounds.
    """
    check_id("message_id", message_id)
    schedule = PollSchedule(
        timeout=timeout, poll_interval=poll_interval, initial_delay=initial_delay
    )
    last_seen: str | None = None
    confirmations = 0
    await schedule.first()
    while True:
        message = await _find(session.outbox, message_id)
        status = message.msg_status if message is not None else None
        if status is MessageStatus.SENT:
            return message  # type: ignore[return-value]
        failed = status is MessageStatus.FAILED
        if message is None:
            if await _listed(session.queued, message_id):
                last_seen = "queued"
            elif await _listed(session.failed, message_id):
                failed = True
        elif not failed:
            last_seen = str(status or "outbox").lower()
        if failed:
            last_seen = "failed"
            confirmations += 1
            if confirmations >= _FAILURE_CONFIRMATIONS:
                reason = message.failure_reason if message is not None else None
                raise DeliveryFailedError(
                    f"the gateway gave up sending message {message_id}"
                    + (f": {reason}" if reason else ""),
                    as2_message_id=message_id,
                    attempts=(),  # v1 records only; the reason is in the text
                )
        else:
            confirmations = 0
        if not await schedule.next():
            where = f"last seen: {last_seen}" if last_seen else "never seen in the outbox"
            raise DeliveryTimeoutError(
                f"message {message_id} not delivered within {timeout:g}s ({where})",
                as2_message_id=message_id,
                last_seen=last_seen,
            )
