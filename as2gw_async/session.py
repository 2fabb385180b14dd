"""Session: the one owner of HTTP. Auth, the 307 upgrade, retries and rate limiting live here.

Endpoint modules talk HTTP only through `Session.request` and `Session.stream`.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Union
from urllib.parse import quote

import anyio
import httpx
from attrs import define

from ._httpcore import speed_up_pool
from .auth import TokenManager, parse_expiry
from .errors import (
    APIConnectionError,
    APITimeoutError,
    AS2GatewayError,
    AuthenticationError,
    InsecureTransportError,
    IntegrityError,
    RedirectError,
    make_status_error,
)
from .models import AS2Message, PartnerType, SendReceipt, Upload
from .ratelimit import GATEWAY_RATE_LIMIT, RateLimit, RateLimiter
from .retries import RetryPolicy

if TYPE_CHECKING:
    from .endpoints.folders import FailedFolder, QueuedFolder, ReceivedFolder, SentFolder
    from .endpoints.mailbox import AS2GatewayMailbox

__all__ = ["DEFAULT_BASE_URL", "BodyFactory", "Session", "SessionStats", "quote_id"]

logger = logging.getLogger("as2gw_async")

DEFAULT_BASE_URL = "https://api.as2gateway.com/v1"
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=32)

T = TypeVar("T")
#: A zero-argument callable that opens the request body afresh, so it can be sent again.
BodyFactory = Callable[[], AsyncIterator[bytes]]
RequestContent = Union[bytes, BodyFactory, None]  # noqa: UP007

_UPGRADE_STATUSES = (307, 308)


def quote_id(value: str) -> str:
    """Percent-encode one path segment: an AS2 id like ``<a/b@c>`` becomes ``%3Ca%2Fb%40c%3E``."""
    return quote(value, safe="")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@define
class SessionStats:
    """Counters for monitoring and tests: HTTP exchanges made, retries, authorizations, 429s."""

    requests: int = 0
    retries: int = 0
    authorizations: int = 0
    rate_limited: int = 0


class Session:
    """An authenticated connection to the AS2 Gateway API.

    >>> async with Session("me@example.com", "secret") as s:  # doctest: +SKIP
    ...     page = await s.received.list(unread_only=True)

    One ``httpx.AsyncClient`` is shared by every call; pass ``http_client`` to bring your
    own (the session then leaves closing it to you). ``rate_limit`` paces requests on the
    client side (the gateway allows 50 requests per 10 s); ``None`` turns it off.
    ``transport="aiohttp"`` builds that client on aiohttp instead of httpx's own pool (much
    faster at high concurrency; asyncio only; needs the extra ``as2gw_async[aiohttp]``).
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
        transport: Literal["httpx", "aiohttp"] = "httpx",
    ) -> None:
        if not username or not password:
            raise ValueError("username and password are both required")
        if transport not in ("httpx", "aiohttp"):
            raise ValueError(
                f'transport must be "httpx" or "aiohttp", not {transport!r}; to use another '
                "httpx transport pass http_client=httpx.AsyncClient(transport=...)"
            )
        if transport == "aiohttp" and http_client is not None:
            raise ValueError('pass either http_client or transport="aiohttp", not both')
        self.username = username
        self._password = password
        self._base_url = self._check_base_url(base_url, allow_insecure_http)
        self._retry = (
            retry_policy if retry_policy is not None else RetryPolicy(max_retries=max_retries)
        )
        self._limiter = RateLimiter(rate_limit) if rate_limit is not None else None
        self._owns_client = http_client is None
        if http_client is None and transport == "aiohttp":
            from ._aiohttp import aiohttp_client

            http_client = aiohttp_client(timeout=timeout, limits=limits, verify=verify)
            # still ours to close: _owns_client was decided above
        if http_client is None:
            http_client = httpx.AsyncClient(
                timeout=timeout, limits=limits, verify=verify, follow_redirects=False
            )
            speed_up_pool(http_client)  # ours: a cheaper idle-connection check (_httpcore.py)
        self._client = http_client
        self._tokens = TokenManager(self._authorize, refresh_margin=token_refresh_margin)
        self.stats = SessionStats()

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

    @property
    def base_url(self) -> str:
        """The API root, e.g. ``https://api.as2gateway.com/v1``; https after a 307 upgrade."""
        return self._base_url

    @property
    def retry_policy(self) -> RetryPolicy:
        """The policy that decides every retry of this session."""
        return self._retry

    @property
    def token_expires_at(self) -> float | None:
        """When the current token expires (seconds since the epoch), or None before login."""
        token = self._tokens.token
        return None if token is None else token.expires_at

    def __repr__(self) -> str:
        return f"<Session username={self.username!r} base_url={self._base_url!r}>"

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client, unless it was handed in by the caller."""
        if self._owns_client:
            await self._client.aclose()

    async def login(self) -> float:
        """Authorize now (normally done lazily) and return the token's expiry timestamp."""
        await self._tokens.get()
        expires_at = self.token_expires_at
        assert expires_at is not None
        return expires_at

    # -- the two ways endpoint modules talk HTTP ---------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        content: RequestContent = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Make a call and return its response with the body read.

        ``path`` is relative to the base URL and already percent-encoded (see `quote_id`).
        Error statuses raise the matching `APIStatusError` after the retries the policy
        allows. ``idempotent`` defaults to True for GET and False otherwise.
        """

        async def read(response: httpx.Response) -> httpx.Response:
            await response.aread()
            return response

        return await self.stream(
            method,
            path,
            read,
            params=params,
            json=json,
            content=content,
            headers=headers,
            idempotent=idempotent,
        )

    async def stream(
        self,
        method: str,
        path: str,
        consume: Callable[[httpx.Response], Awaitable[T]],
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        content: RequestContent = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> T:
        """Make a call and hand its successful, still-streaming response to ``consume``.

        If the body breaks off (a reset, a short body: ``httpx.TransportError`` or
        `IntegrityError` raised by ``consume``) an idempotent call is made again from the
        start and ``consume`` runs again, so it must clean up after itself on error.
        """
        if idempotent is None:
            idempotent = method.upper() == "GET"
        return await self._run(
            method,
            path,
            consume,
            params=params,
            json=json,
            content=content,
            headers=headers,
            idempotent=idempotent,
            authenticate=True,
        )

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

    # -- internals ---------------------------------------------------------------------

    @staticmethod
    def _check_base_url(base_url: str, allow_insecure_http: bool) -> str:
        try:
            url = httpx.URL(base_url)
        except httpx.InvalidURL as exc:
            raise ValueError(f"invalid base_url {base_url!r}: {exc}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base_url must be an absolute http(s) URL, not {base_url!r}")
        if url.scheme == "http" and not allow_insecure_http and not _is_loopback(url.host):
            raise InsecureTransportError(
                f"refusing to send credentials over plain http to {url.host}; use https, "
                "or pass allow_insecure_http=True if you really mean it"
            )
        return str(url).rstrip("/")

    async def _authorize(self) -> tuple[str, float]:
        async def read(response: httpx.Response) -> Any:
            await response.aread()
            try:
                return response.json()
            except ValueError:
                return None

        data = await self._run(
            "POST",
            "/authorize",
            read,
            json={"username": self.username, "password": self._password},
            idempotent=True,
            authenticate=False,
        )
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise AS2GatewayError("the authorize response holds no token")
        self.stats.authorizations += 1
        logger.debug("authorized as %s", self.username)
        return token, parse_expiry(data.get("expiry"))

    def _upgrade_to_https(self, response: httpx.Response) -> None:
        """Follow a 307 from http to https on the same host, and remember it."""
        location = response.headers.get("location", "")
        current = httpx.URL(self._base_url)
        try:
            target = response.request.url.join(location)
        except httpx.InvalidURL:
            target = None
        if (
            target is None
            or current.scheme != "http"
            or target.scheme != "https"
            or target.host != current.host
        ):
            raise RedirectError(
                f"refusing to follow a {response.status_code} redirect from "
                f"{response.request.url.copy_with(query=None)} to {location!r}: only an "
                "upgrade from http to https on the same host is followed",
                response=response,
            )
        self._base_url = str(current.copy_with(scheme="https", port=target.port)).rstrip("/")
        logger.info("gateway redirected to https; using %s from now on", self._base_url)

    def _build_request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None,
        json: Any,
        content: RequestContent,
        headers: Mapping[str, str] | None,
        token: str | None,
    ) -> httpx.Request:
        all_headers = dict(headers or {})
        if token is not None:
            # The spec's header carries the token bare, without a "Bearer" scheme.
            all_headers["Authorization"] = token
        body = content() if callable(content) else content
        return self._client.build_request(
            method,
            self._base_url + path,
            params=params,
            json=json,
            content=body,
            headers=all_headers,
        )

    async def _run(
        self,
        method: str,
        path: str,
        consume: Callable[[httpx.Response], Awaitable[T]],
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        content: RequestContent = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool,
        authenticate: bool,
    ) -> T:
        failures = 0
        reauthorized = False
        upgraded = False
        while True:
            token = await self._tokens.get() if authenticate else None
            request = self._build_request(
                method,
                path,
                params=params,
                json=json,
                content=content,
                headers=headers,
                token=token,
            )
            answered = await self._limiter.acquire() if self._limiter is not None else None
            self.stats.requests += 1
            started = anyio.current_time()
            response: httpx.Response | None = None
            try:
                response = await self._client.send(request, stream=True)
                if answered is not None:
                    answered()  # the gateway has counted it by now: the window runs from here
                elapsed = anyio.current_time() - started
                logger.debug(
                    "%s %s -> %d in %.3fs",
                    method,
                    request.url,
                    response.status_code,
                    elapsed,
                )
                status = response.status_code
                if status in _UPGRADE_STATUSES and not upgraded:
                    await response.aclose()
                    self._upgrade_to_https(response)
                    upgraded = True
                    continue
                if status == 401 and token is not None and not reauthorized:
                    await response.aclose()
                    self._tokens.invalidate(token)
                    reauthorized = True
                    logger.debug("401 on %s %s; authorizing again", method, request.url)
                    continue
                if response.is_success:
                    return await consume(response)
                await response.aread()
            except (httpx.TransportError, IntegrityError) as exc:
                if answered is not None:
                    answered()  # it may have been counted at any moment until now
                failures += 1
                if not self._retry.should_retry(failures, idempotent=idempotent, error=exc):
                    raise _as_connection_error(exc, request) from exc
                await self._pause(failures, method, request, f"{type(exc).__name__}: {exc}")
                continue
            finally:
                if response is not None:
                    await response.aclose()
            if status == 429:
                self.stats.rate_limited += 1
            failures += 1
            if not self._retry.should_retry(failures, idempotent=idempotent, response=response):
                error = make_status_error(response)
                if status == 401 and not authenticate:
                    error = AuthenticationError(
                        f"authorization failed for {self.username}: {error.message}",
                        response=response,
                    )
                raise error
            await self._pause(failures, method, request, f"HTTP {status}", response)

    async def _pause(
        self,
        failures: int,
        method: str,
        request: httpx.Request,
        reason: str,
        response: httpx.Response | None = None,
    ) -> None:
        delay = self._retry.retry_delay(failures, response)
        self.stats.retries += 1
        logger.info(
            "retrying %s %s in %.2fs (retry %d of %d) after %s",
            method,
            request.url.copy_with(query=None),
            delay,
            failures,
            self._retry.max_retries,
            reason,
        )
        await anyio.sleep(delay)


def _as_connection_error(exc: Exception, request: httpx.Request) -> AS2GatewayError:
    if isinstance(exc, AS2GatewayError):
        return exc
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(request, f"request timed out: {type(exc).__name__}")
    detail = str(exc) or type(exc).__name__
    return APIConnectionError(
        f"connection error on {request.method} {request.url.copy_with(query=None)}: {detail}",
        request=request,
    )
