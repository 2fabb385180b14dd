"""as2gw_async: an asyncio client for the AS2 Gateway REST API v1.

>>> import as2gw_async as gw
>>> async with gw.Session.from_env() as s:  # doctest: +SKIP
...     async for m in s.received.iter(unread_only=True):
...         print(m.as2_message_id)
"""

from .__version__ import __version__
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AS2GatewayError,
    AuthenticationError,
    BadRequestError,
    BodyTooLargeError,
    ContentEncodingError,
    DeliveryFailedError,
    DeliveryTimeoutError,
    InsecureTransportError,
    IntegrityError,
    InternalServerError,
    InvalidTokenError,
    JournalMismatchError,
    LimitExceededError,
    MalformedResponseError,
    NotADirectoryDestinationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RedirectError,
)
from .inbox import ConsumerStats, Delivered, InboxConsumer
from .journal import FileJournal, Journal
from .mailbox import Mailbox
from .models import (
    AS2Message,
    Attachment,
    BatchResult,
    DeliveryStatus,
    DownloadedFile,
    Folder,
    GenericResponse,
    MDNMessage,
    MdnStatus,
    Page,
    PartnerType,
    SendReceipt,
    Upload,
)
from .ratelimit import RateLimit
from .retries import RetryPolicy
from .session import DEFAULT_BASE_URL, Session, SessionStats

__all__ = [
    "DEFAULT_BASE_URL",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AS2GatewayError",
    "AS2Message",
    "Attachment",
    "AuthenticationError",
    "BadRequestError",
    "BatchResult",
    "BodyTooLargeError",
    "ConsumerStats",
    "ContentEncodingError",
    "Delivered",
    "DeliveryFailedError",
    "DeliveryStatus",
    "DeliveryTimeoutError",
    "DownloadedFile",
    "FileJournal",
    "Folder",
    "GenericResponse",
    "InboxConsumer",
    "InsecureTransportError",
    "IntegrityError",
    "InternalServerError",
    "InvalidTokenError",
    "Journal",
    "JournalMismatchError",
    "LimitExceededError",
    "MDNMessage",
    "Mailbox",
    "MalformedResponseError",
    "MdnStatus",
    "NotADirectoryDestinationError",
    "NotFoundError",
    "Page",
    "PartnerType",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitError",
    "RedirectError",
    "RetryPolicy",
    "SendReceipt",
    "Session",
    "SessionStats",
    "Upload",
    "__version__",
]
