"""The MFT Gateway API (the AS2 Gateway's successor), on the core shared with v1.

>>> from as2gw_async import mft
>>> async with mft.Session(username, password) as s:  # doctest: +SKIP
...     r = await s.send("MyStation", "MyPartner", "invoice.xml")
...     m = await s.wait_for_delivery(r.message_id)
...     async for mid in s.inbox.iter_ids():
...         files = await s.inbox.download_attachments(mid, "out/")

See ``docs/mft.md``. Errors are the shared classes of `as2gw_async.errors`.
"""

from ..models import DownloadedFile, Upload
from .models import (
    AttachmentLink,
    Certificate,
    CertificateSummary,
    CertificateType,
    CreatedEntity,
    MdnMessage,
    Message,
    MessageStatus,
    SendReceipt,
)
from .session import DEFAULT_BASE_URL, Session
from .webhooks import (
    MessageFailedEvent,
    MessageReceivedEvent,
    MessageSentEvent,
    UnknownEvent,
    WebhookError,
    WebhookEvent,
    parse_webhook,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "AttachmentLink",
    "Certificate",
    "CertificateSummary",
    "CertificateType",
    "CreatedEntity",
    "DownloadedFile",
    "MdnMessage",
    "Message",
    "MessageFailedEvent",
    "MessageReceivedEvent",
    "MessageSentEvent",
    "MessageStatus",
    "SendReceipt",
    "Session",
    "UnknownEvent",
    "Upload",
    "WebhookError",
    "WebhookEvent",
    "parse_webhook",
]
