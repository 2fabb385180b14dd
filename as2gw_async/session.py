"""Session: the AS2 Gateway API v1 on the shared core (`_core.session.BaseSession`).

What is v1's own lives here: ``/authorize`` with username and password, the token sent
bare in ``Authorization``, the ``expiry`` timestamp, the folders and the send/wait
shortcuts. Auth, the 307 upgrade, retries, rate limiting and deadlines are the core's.
Endpoint modules talk HTTP only through `Session.request` and `Session.stream`.
"""

from __future__ import annotations

import logging
import os
import ssl
from typing import TYPE_CHECKING, Any

import httpx

from ._core.bodies import endpoint_of, json_body
from ._core.client import DEFAULT_LIMITS, DEFAULT_TIMEOUT, Transport
from ._core.credentials import BareToken
from ._core.encoding import DEFAULT_MAX_DECODED_SIZE
from ._core.session import (
    DEFAULT_DEADLINE,
    BaseSession,
    BodyFactory,
    RequestContent,
    SessionStats,
    default_error,
)
from ._core.urls import quote_id
from .auth import Grant, parse_expiry
from .errors import AuthenticationError, MalformedResponseError
from .models import AS2Message, PartnerType, SendReceipt, Upload
from .ratelimit import GATEWAY_RATE_LIMIT, RateLimit
from .retries import RetryPolicy

if TYPE_CHECKING:
    from .endpoints.folders import FailedFolder, QueuedFolder, ReceivedFolder, SentFolder
    from .endpoints.mailbox import AS2GatewayMailbox

__all__ = [
    "DEFAULT_BASE_URL",
    "BodyFactory",
    "RequestContent",
    "Session",
    "SessionStats",
    "quote_id",
]

logger = logging.getLogger("as2gw_async")

DEFAULT_BASE_URL = "https://api.as2gateway.com/v1"


class Session(BaseSession):
    """An authenticated connection to the AS2 Gateway API.

    >>> async with Session("me@example.com", "secret") as s:  # doctest: +SKIP
    ...     page = await s.received.list(unread_only=True)

    One ``httpx.AsyncClient`` is shared by every call; pass ``http_client`` to bring your
    own (the session then leaves closing it to you). ``rate_limit`` paces requests on the
    client side (the gateway allows 50 requests per 10 s); ``None`` turns it off.
    ``transport="aiohttp"`` builds that client on aiohttp instead of httpx's own pool (much
    faster at high concurrency; asyncio only; needs the extra ``as2gw_async[aiohttp]``).
    ``deadline`` bounds each call as a whole (seconds, retries included; a transfer that
    keeps moving gets more time, see docs/configuration.md); ``max_decoded_size`` caps
    what a compressed body may inflate to.
    """

    def __init__(
        self,
        username: str,
        password: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        limits: httpx.Limits = DEFAULT_LIMITS,
        max_retries: int = 3,
        retry_policy: RetryPolicy | None = None,
        rate_limit: RateLimit | None = GATEWAY_RATE_LIMIT,
        token_refresh_margin: float = 300.0,
        allow_insecure_http: bool = False,
        verify: ssl.SSLContext | str | bool = True,
        http_client: httpx.AsyncClient | None = None,
        transport: Transport = "httpx",
        deadline: float | None = DEFAULT_DEADLINE,
        max_decoded_size: int | None = DEFAULT_MAX_DECODED_SIZE,
    ) -> None:
        if not username or not password:
            raise ValueError("username and password are both required")
        self.username = username
        self._password = password
        super().__init__(
            base_url=base_url,
            credentials=BareToken(),  # the spec's header carries the token bare
            authorize=self._authorize,
            error_for=default_error,
            secrets=(password,),
            timeout=timeout,
            limits=limits,
            max_retries=max_retries,
            retry_policy=retry_policy,
            rate_limit=rate_limit,
            token_refresh_margin=token_refresh_margin,
            allow_insecure_http=allow_insecure_http,
            verify=verify,
            http_client=http_client,
            transport=transport,
            deadline=deadline,
            max_decoded_size=max_decoded_size,
        )

        from .endpoints.folders import FailedFolder, QueuedFolder, ReceivedFolder, SentFolder

        self.received: ReceivedFolder = ReceivedFolder(self)
        self.sent: SentFolder = SentFolder(self)
        self.failed: FailedFolder = FailedFolder(self)
        self.queued: QueuedFolder = QueuedFolder(self)

    @classmethod
    def from_env(cls, **kwargs: Any) -> Session:
        """A session from ``AS2GW_USERNAME``, ``AS2GW_PASSWORD`` and ``AS2GW_BASE_URL``.

        Keyword arguments are passed on to the constructor.
        """
        missing = [v for v in ("AS2GW_USERNAME", "AS2GW_PASSWORD") if not os.environ.get(v)]
        if missing:
            raise ValueError(f"environment variable(s) not set: {', '.join(missing)}")
        if os.environ.get("AS2GW_BASE_URL"):
            kwargs.setdefault("base_url", os.environ["AS2GW_BASE_URL"])
        return cls(os.environ["AS2GW_USERNAME"], os.environ["AS2GW_PASSWORD"], **kwargs)

    # -- endpoint shortcuts of the public API ------------------------------------------

    async def send(
        self,
        station: str,
        partner: str,
        *files: str | os.PathLike[str] | Upload,
        subject: str | None = None,
        partner_type: PartnerType | str = PartnerType.PRODUCTION,
    ) -> SendReceipt:
        """Send one file (raw endpoint) or several (multipart) from ``station`` to ``partner``.

        Each file is a path or an `Upload`. Limits are checked before any byte is sent.

        >>> r = await s.send("RJ_Station", "RJ_Partner", "invoice.xml")  # doctest: +SKIP
        >>> r.as2_message_id  # doctest: +SKIP
        '<90766548.41.1573209810390@as2gateway.com>'
        """
        from .endpoints.send import send

        return await send(
            self, station, partner, *files, subject=subject, partner_type=partner_type
        )

    async def wait_for_delivery(
        self,
        as2_message_id: str,
        *,
        timeout: float = 120.0,
        poll_interval: float = 2.0,
        initial_delay: float | None = None,
    ) -> AS2Message:
        """Poll until a sent message is delivered; return it from the sent folder.

        Raises `DeliveryFailedError` when the gateway gives up, `DeliveryTimeoutError` when
        ``timeout`` passes first.
        """
        from .endpoints.send import wait_for_delivery

        return await wait_for_delivery(
            self,
            as2_message_id,
            timeout=timeout,
            poll_interval=poll_interval,
            initial_delay=initial_delay,
        )

    def mailbox(self, **options: Any) -> AS2GatewayMailbox:
        """The received folder as `InboxConsumer` drains it (see ``endpoints/mailbox.py``).

        ``options``: ``partner_as2_id``, ``station_as2_id``, ``partner_type``, ``include_mdn``.
        """
        from .endpoints.mailbox import AS2GatewayMailbox

        return AS2GatewayMailbox(self, **options)

    # -- v1 authorization ---------------------------------------------------------------

    def __repr__(self) -> str:
        return f"<Session username={self.username!r} base_url={self.base_url!r}>"

    async def _authorize(self) -> Grant:
        """``POST /authorize`` (spec 2.1): the token and its ``expiry`` timestamp."""
        try:
            response = await self.request(
                "POST",
                "/authorize",
                json={"username": self.username, "password": self._password},
                idempotent=True,
                authenticate=False,
            )
        except AuthenticationError as exc:
            raise AuthenticationError(
                f"authorization failed for {self.username}: {exc.message}",
                response=exc.response,
            ) from None
        try:
            data = json_body(response)
        except MalformedResponseError as exc:
            raise MalformedResponseError(
                f"the authorize response holds no token: {exc.message}",
                endpoint=exc.endpoint,
                response=response,
            ) from None
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise MalformedResponseError(
                f"the authorize response holds no token ({endpoint_of(response.request)})",
                endpoint=endpoint_of(response.request),
                response=response,
            )
        logger.debug("authorized as %s", self.username)
        return Grant(token, parse_expiry(data.get("expiry")))
