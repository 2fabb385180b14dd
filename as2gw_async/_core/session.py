"""BaseSession: the provider-neutral HTTP core every gateway session sits on.

A call goes down through one layer a concern, like httpx's ``_client.py``::

    request() / stream() / stream_url()
      |  _call ........................ the overall deadline (APITimeoutError)
      v
    _send_handling_auth ............... get a token, attach it; one retry after a 401,
      |                                  invalidating only the token that got it
      v
    _send_handling_redirects .......... the same-host http -> https 307/308 upgrade,
      |                                  remembered; any other redirect: RedirectError
      v
    _send_handling_retries ............ RetryPolicy decides (retries.py); status errors
      |                                  built by the gateway's error function, scrubbed
      v
    _send_single_request .............. rate limiter, stats, one HTTP exchange, logging

What differs per gateway is handed in as small objects, never ``if gateway == ...``:

* ``credentials`` -- how a token travels (`BareToken`, `BearerToken`, `APIKeyHeader`);
* ``authorize`` / ``refresh`` -- how a token is obtained and renewed (`auth.TokenManager`);
* ``error_for`` -- ``(response, body) -> APIStatusError | None``: the gateway's reading of
  an error answer, also run on every successful body `request` reads (an error envelope
  inside a 200 raises too);
* ``retry_policy`` -- which statuses are retried; ``follow_https_upgrade``.

`stream_url` fetches an absolute URL on another host (presigned storage links) with no
gateway credentials, cookies or rate limiter, but the same retries and typed errors.
"""

from __future__ import annotations

import logging
import math
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any, TypedDict, TypeVar, Union

import anyio
import httpx
from attrs import define

from ..auth import Authorize, GrantLike, Refresh, TokenManager
from ..errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AS2GatewayError,
    ContentEncodingError,
    DeadlineExceededError,
    IntegrityError,
    RateLimitError,
    RedirectError,
    make_status_error,
)
from ..ratelimit import RateLimit, RateLimiter
from ..retries import RetryPolicy
from .client import DEFAULT_LIMITS, DEFAULT_TIMEOUT, Transport, build_client, check_transport
from .credentials import Credentials
from .encoding import DEFAULT_MAX_DECODED_SIZE, install_checked_decoder
from .redaction import Redactor
from .urls import check_base_url, https_upgrade

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_LIMITS",
    "DEFAULT_TIMEOUT",
    "PACE_BYTES_PER_SECOND",
    "PACE_STEP_MAX",
    "BaseSession",
    "BodyFactory",
    "ErrorFunction",
    "RequestContent",
    "SessionOptions",
    "SessionStats",
    "default_error",
]

logger = logging.getLogger("as2gw_async")

T = TypeVar("T")
_S = TypeVar("_S", bound="BaseSession")
#: A zero-argument callable that opens the request body afresh, so it can be sent again.
BodyFactory = Callable[[], AsyncIterator[bytes]]
RequestContent = Union[bytes, BodyFactory, None]  # noqa: UP007
#: A gateway's reading of a response whose body is read: the error it means, or None.
ErrorFunction = Callable[[httpx.Response, bytes], Union[APIStatusError, None]]  # noqa: UP007

DEFAULT_DEADLINE = 300.0
"""Default overall deadline of one call, in seconds (retries and pauses included)."""
PACE_BYTES_PER_SECOND = 32 * 1024
"""Under the default deadline, every this many bytes sent or received add one second:
a large transfer that keeps moving is never cut off, a trickling server is. Time spent
waiting for the client-side rate limiter is added too."""
PACE_STEP_MAX = 1 << 20
"""The paced deadline moves once per step of bytes, this many at most (32 s worth) and at
most a quarter of the call's limit worth, not once a chunk: moving it reschedules the event
loop's timer, which per 64 KiB chunk cost ~7% of a large download's CPU. It is never more
than one step behind the bytes, so a body faster than the pace is still never cut off; the
rest of a step is credited when the body ends."""

_UPGRADE_STATUSES = (307, 308)


def default_error(response: httpx.Response, body: bytes) -> APIStatusError | None:
    """The error for an error status (status class, the body's ``message``); None for 2xx."""
    return None if response.is_success else make_status_error(response)


class SessionOptions(TypedDict, total=False):
    """The keyword options every gateway's session takes and hands to `BaseSession` as they
    are (``**options: Unpack[SessionOptions]``), so each option is declared once."""

    timeout: float | httpx.Timeout
    limits: httpx.Limits
    max_retries: int
    retry_policy: RetryPolicy | None
    rate_limit: RateLimit | None
    token_refresh_margin: float
    allow_insecure_http: bool
    verify: ssl.SSLContext | str | bool
    http_client: httpx.AsyncClient | None
    transport: Transport
    deadline: float | None
    max_decoded_size: int | None


@define
class SessionStats:
    """Counters for monitoring and tests: HTTP exchanges made, retries, authorizations, 429s."""

    requests: int = 0
    retries: int = 0
    authorizations: int = 0
    rate_limited: int = 0


class _Redirect(Exception):
    """Internal: the retry layer got a 3xx; the redirect layer decides."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


@define
class _Call:
    """One call's arguments and state, handed down the layers."""

    method: str
    target: str  # a path under base_url, or an absolute URL (external)
    consume: Callable[[httpx.Response], Awaitable[Any]]
    params: Mapping[str, str | int] | None
    json: Any
    content: RequestContent
    headers: Mapping[str, str] | None
    idempotent: bool
    authenticate: bool
    external: bool = False  # stream_url: another host, no credentials, no limiter
    deadline: float | None = None
    scope: anyio.CancelScope | None = None
    paced: bool = False  # the default deadline, growing with bytes moved
    pace_step: int = 0  # bytes credited to a paced deadline at once (PACE_STEP_MAX)
    unpaced: int = 0  # bytes moved and not yet credited
    request: httpx.Request | None = None  # the last one built

    def pace(self, size: int) -> None:
        """Move a paced deadline ``size`` bytes' worth of time later, a step at a time."""
        if self.paced:
            self.unpaced += size
            if self.unpaced >= self.pace_step:
                self.credit()

    def credit(self) -> None:
        """Move a paced deadline by all the bytes not yet credited (at the end of a body)."""
        if self.paced and self.scope is not None and self.unpaced:
            self.scope.deadline += self.unpaced / PACE_BYTES_PER_SECOND
            self.unpaced = 0

    @contextmanager
    def deadline_paused(self) -> Iterator[None]:
        """Stop a paced deadline's clock while we queue on our own side (rate limiter):
        the default deadline bounds the server, not the caller's own backlog."""
        scope = self.scope
        if not self.paced or scope is None:
            yield
            return
        remaining = scope.deadline - anyio.current_time()
        scope.deadline = math.inf
        try:
            yield
        finally:
            scope.deadline = anyio.current_time() + remaining


class _PacedStream(httpx.AsyncByteStream):
    """A response body whose chunks move the call's paced deadline as they arrive."""

    def __init__(self, inner: httpx.AsyncByteStream, call: _Call) -> None:
        self._inner = inner
        self._call = call

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            self._call.pace(len(chunk))
            yield chunk
        self._call.credit()

    async def aclose(self) -> None:
        await self._inner.aclose()


class BaseSession:
    """The shared HTTP core: owned client, auth, redirects, retries, deadline, redaction.

    Gateway sessions subclass it and pass their own ``credentials``, ``authorize`` (and
    ``refresh``), ``error_for`` and ``retry_policy``. Keyword options shared by all
    gateways: ``base_url``, ``timeout``, ``limits``, ``max_retries``, ``retry_policy``,
    ``rate_limit``, ``token_refresh_margin``, ``allow_insecure_http``, ``verify``,
    ``http_client``, ``transport``, ``deadline`` and ``max_decoded_size``.
    """

    def __init__(
        self,
        *,
        base_url: str,
        credentials: Credentials | None,
        authorize: Authorize | None,
        refresh: Refresh | None = None,
        error_for: ErrorFunction = default_error,
        follow_https_upgrade: bool = True,
        secrets: Iterable[str | None] = (),
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        limits: httpx.Limits = DEFAULT_LIMITS,
        max_retries: int = 3,
        retry_policy: RetryPolicy | None = None,
        rate_limit: RateLimit | None = None,
        token_refresh_margin: float = 300.0,
        allow_insecure_http: bool = False,
        verify: ssl.SSLContext | str | bool = True,
        http_client: httpx.AsyncClient | None = None,
        transport: Transport = "httpx",
        deadline: float | None = DEFAULT_DEADLINE,
        max_decoded_size: int | None = DEFAULT_MAX_DECODED_SIZE,
    ) -> None:
        check_transport(transport, http_client)
        if (credentials is None) != (authorize is None):
            raise ValueError("credentials and authorize go together")
        if deadline is not None and deadline <= 0:
            raise ValueError(f"deadline must be positive seconds or None, not {deadline!r}")
        self._base_url = check_base_url(base_url, allow_insecure_http=allow_insecure_http)
        self._credentials = credentials
        self._error_for = error_for
        self._follow_https_upgrade = follow_https_upgrade
        self._retry = (
            retry_policy if retry_policy is not None else RetryPolicy(max_retries=max_retries)
        )
        self._limiter = RateLimiter(rate_limit) if rate_limit is not None else None
        self._deadline = deadline
        self._max_decoded_size = max_decoded_size
        self._redactor = Redactor(*secrets)
        self._owns_client = http_client is None
        if http_client is None:
            http_client = build_client(
                transport=transport, timeout=timeout, limits=limits, verify=verify
            )
        self._client = http_client
        self.stats = SessionStats()

        self._tokens = TokenManager(
            self._counted(authorize),
            refresh=refresh,
            refresh_margin=token_refresh_margin,
            on_token=self._redactor.add_token,
        )

    # -- properties and lifecycle --------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The API root; https after a 307 upgrade."""
        return self._base_url

    @property
    def retry_policy(self) -> RetryPolicy:
        """The policy that decides every retry of this session."""
        return self._retry

    @property
    def redactor(self) -> Redactor:
        """Scrubs this session's secrets (password, key, tokens) from texts."""
        return self._redactor

    @property
    def token_expires_at(self) -> float | None:
        """When the current token expires (seconds since the epoch), or None before login."""
        token = self._tokens.token
        return None if token is None else token.expires_at

    def __repr__(self) -> str:
        return f"<{type(self).__name__} base_url={self._base_url!r}>"

    async def __aenter__(self: _S) -> _S:
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

    # -- the ways gateway modules talk HTTP ------------------------------------------------

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
        authenticate: bool = True,
        deadline: float | None = None,
    ) -> httpx.Response:
        """Make a call and return its response with the body read.

        ``path`` is relative to the base URL and already percent-encoded. Error statuses
        (and, through the gateway's error function, error envelopes inside a 2xx) raise the
        matching `APIStatusError` after the retries the policy allows. ``idempotent``
        defaults to True for GET and False otherwise. ``deadline`` (seconds) bounds the
        whole call, retries included; by default the session's.
        """

        async def read(response: httpx.Response) -> httpx.Response:
            body = await response.aread()
            error = self._error_for(response, body)
            if error is not None:
                raise self._redactor.scrub_error(error)
            return response

        return await self.stream(
            method,
            path,
            read,
            params=params,
            json=json,
            content=content,
            headers=_with_encoding(headers, "gzip, deflate"),  # small JSON: compression is fine
            idempotent=idempotent,
            authenticate=authenticate,
            deadline=deadline,
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
        authenticate: bool = True,
        deadline: float | None = None,
    ) -> T:
        """Make a call and hand its successful, still-streaming response to ``consume``.

        If the body breaks off (a reset, a short body: ``httpx.TransportError`` or
        `IntegrityError` raised by ``consume``) an idempotent call is made again from the
        start and ``consume`` runs again, so it must clean up after itself on error.
        Downloads ask for ``Accept-Encoding: identity``; a compressed body is still checked.
        """
        if idempotent is None:
            idempotent = method.upper() == "GET"
        call = _Call(
            method,
            path,
            consume,
            params,
            json,
            content,
            _with_encoding(headers, "identity"),
            idempotent,
            authenticate and self._credentials is not None,
            deadline=deadline,
        )
        result: T = await self._call(call)
        return result

    async def stream_url(
        self,
        url: str,
        consume: Callable[[httpx.Response], Awaitable[T]],
        *,
        headers: Mapping[str, str] | None = None,
        deadline: float | None = None,
    ) -> T:
        """GET an absolute URL on another host (a presigned storage link) and hand the
        streaming response to ``consume``: no gateway credentials, no cookies, no rate
        limiter; the same retries, deadline and typed errors as `stream`.

        >>> await s.stream_url(link, save, headers={"Range": "bytes=100-"})  # doctest: +SKIP
        """
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise ValueError(f"invalid URL: {exc}") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError("stream_url needs an absolute http(s) URL")
        call = _Call(
            "GET",
            url,
            consume,
            None,
            None,
            None,
            _with_encoding(headers, "identity"),
            True,
            False,
            external=True,
            deadline=deadline,
        )
        result: T = await self._call(call)
        return result

    # -- the layers ---------------------------------------------------------------------

    async def _call(self, call: _Call) -> Any:
        """The overall deadline around everything below."""
        limit = call.deadline if call.deadline is not None else self._deadline
        if limit is None:
            return await self._send_handling_auth(call)
        if limit <= 0:
            raise ValueError(f"deadline must be positive seconds, not {limit!r}")
        with anyio.CancelScope(deadline=anyio.current_time() + limit) as scope:
            call.scope = scope
            call.paced = call.deadline is None
            call.pace_step = min(PACE_STEP_MAX, int(limit * PACE_BYTES_PER_SECOND / 4))
            return await self._send_handling_auth(call)
        request = call.request or httpx.Request(call.method, self._url(call))
        raise DeadlineExceededError(
            request,
            f"{request.method} {request.url.copy_with(query=None)} did not finish within "
            f"its deadline ({limit:g} s)",
        )

    async def _send_handling_auth(self, call: _Call) -> Any:
        if not call.authenticate:
            return await self._send_handling_redirects(call, None)
        token = await self._tokens.get()
        try:
            return await self._send_handling_redirects(call, token)
        except APIStatusError as exc:  # whatever class the gateway's function chose
            if exc.status_code != 401:
                raise
            self._tokens.invalidate(token)
            logger.debug("401 on %s %s; authorizing again", call.method, _safe_url(exc.request))
        return await self._send_handling_redirects(call, await self._tokens.get())

    async def _send_handling_redirects(self, call: _Call, token: str | None) -> Any:
        upgraded = False
        while True:
            try:
                return await self._send_handling_retries(call, token)
            except _Redirect as redirect:
                response = redirect.response
            if response.status_code not in _UPGRADE_STATUSES:
                raise self._status_error(response, external=call.external)
            target = None
            if self._follow_https_upgrade and not call.external and not upgraded:
                target = https_upgrade(self._base_url, response)
            if target is None:
                raise RedirectError(
                    f"refusing to follow a {response.status_code} redirect from "
                    f"{_safe_url(response.request)} to "
                    f"{self._redactor.scrub(response.headers.get('location', ''))!r}: only "
                    "an upgrade from http to https on the same host is followed",
                    response=response,
                )
            self._base_url = target
            upgraded = True
            logger.info("gateway redirected to https; using %s from now on", target)

    async def _send_handling_retries(self, call: _Call, token: str | None) -> Any:
        failures = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = await self._send_single_request(call, token)
                if 300 <= response.status_code < 400:
                    await response.aread()
                    raise _Redirect(response)
                if response.is_success:
                    self._prepare_body(call, response)
                    try:
                        return await call.consume(response)
                    except APIStatusError as exc:
                        # An error envelope inside a 2xx: retried like the status it names.
                        failures += 1
                        if isinstance(exc, RateLimitError):
                            self.stats.rate_limited += 1
                        retry = self._retry.should_retry(
                            failures, idempotent=call.idempotent, error=exc
                        )
                        if not retry:
                            raise
                        reason = f"{type(exc).__name__} in a {response.status_code} answer"
                        await self._pause(failures, call, reason, response)
                        continue
                await response.aread()
            except (httpx.TransportError, httpx.DecodingError, IntegrityError) as exc:
                error: Exception = exc
                if isinstance(exc, httpx.DecodingError):
                    error = ContentEncodingError(f"undecodable body: {exc}")
                failures += 1
                if not self._retry.should_retry(failures, idempotent=call.idempotent, error=error):
                    raise self._connection_error(error, call) from exc
                await self._pause(failures, call, f"{type(exc).__name__}: {exc}")
                continue
            finally:
                if response is not None:
                    await response.aclose()
            if response.status_code == 429:
                self.stats.rate_limited += 1
            failures += 1
            if not self._retry.should_retry(
                failures, idempotent=call.idempotent, response=response
            ):
                raise self._status_error(response, external=call.external)
            await self._pause(failures, call, f"HTTP {response.status_code}", response)

    async def _send_single_request(self, call: _Call, token: str | None) -> httpx.Response:
        request = self._build_request(call, token)
        call.request = request
        limiter = None if call.external else self._limiter
        answered = None
        if limiter is not None:
            with call.deadline_paused():
                answered = await limiter.acquire()
        self.stats.requests += 1
        debug = logger.isEnabledFor(logging.DEBUG)  # the line's URL and clock cost per request
        started = anyio.current_time() if debug else 0.0
        try:
            if call.external:  # no client auth or cookies may reach another host
                response = await self._client.send(request, stream=True, auth=None)
            else:
                response = await self._client.send(request, stream=True)
        finally:
            if answered is not None:
                answered()  # the gateway has counted it by now: the window runs from here
        if debug:
            logger.debug(
                "%s %s -> %d in %.3fs",
                call.method,
                _safe_url(request),
                response.status_code,
                anyio.current_time() - started,
            )
        return response

    # -- helpers --------------------------------------------------------------------------

    def _counted(self, authorize: Authorize | None) -> Authorize:
        """``authorize`` counted in `stats` (a session without credentials never calls it)."""

        async def counted() -> GrantLike:
            if authorize is None:
                raise AssertionError("this session sends no credentials")
            grant = await authorize()
            self.stats.authorizations += 1
            return grant

        return counted

    def _url(self, call: _Call) -> str:
        return call.target if call.external else self._base_url + call.target

    def _build_request(self, call: _Call, token: str | None) -> httpx.Request:
        headers = dict(call.headers or {})
        if token is not None and self._credentials is not None:
            headers.update(self._credentials.headers(token))
        body = call.content() if callable(call.content) else call.content
        if isinstance(body, bytes):
            call.pace(len(body))
        elif body is not None:
            body = _paced_body(body, call)
        if call.external:
            return httpx.Request(
                call.method,
                self._url(call),
                headers=headers,
                extensions={"timeout": self._client.timeout.as_dict()},
            )
        return self._client.build_request(
            call.method,
            self._url(call),
            # None, not {}: httpx re-parses the whole URL to apply even empty parameters
            params=call.params or None,
            json=call.json,
            content=body,
            headers=headers,
        )

    def _prepare_body(self, call: _Call, response: httpx.Response) -> None:
        """Checked decoding and the paced deadline, before anyone reads the body."""
        install_checked_decoder(response, limit=self._max_decoded_size)
        if call.paced:
            response.stream = _PacedStream(response.stream, call)  # type: ignore[arg-type]

    def _status_error(self, response: httpx.Response, *, external: bool = False) -> APIStatusError:
        """The gateway's error for an answer whose body is read, scrubbed of secrets.

        Another host's answers (``external``: a storage link) are not in the gateway's
        format: the status alone decides their class.
        """
        reader = default_error if external else self._error_for
        error = reader(response, response.content)
        if error is None:  # the error function does not know this status: the default
            error = make_status_error(response)
        return self._redactor.scrub_error(error)

    def _connection_error(self, exc: Exception, call: _Call) -> AS2GatewayError:
        if isinstance(exc, AS2GatewayError):
            return self._redactor.scrub_error(exc)
        request = call.request or httpx.Request(call.method, self._url(call))
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(request, f"request timed out: {type(exc).__name__}")
        detail = self._redactor.scrub(str(exc) or type(exc).__name__)
        return APIConnectionError(
            f"connection error on {request.method} {_safe_url(request)}: {detail}",
            request=request,
        )

    async def _pause(
        self,
        failures: int,
        call: _Call,
        reason: str,
        response: httpx.Response | None = None,
    ) -> None:
        delay = self._retry.retry_delay(failures, response)
        self.stats.retries += 1
        logger.info(
            "retrying %s %s in %.2fs (retry %d of %d) after %s",
            call.method,
            _safe_url(call.request) if call.request is not None else call.target,
            delay,
            failures,
            self._retry.max_retries,
            self._redactor.scrub(reason),
        )
        await anyio.sleep(delay)


def _safe_url(request: httpx.Request) -> httpx.URL:
    """The URL without its query: a presigned link's query is a credential."""
    return request.url.copy_with(query=None)


def _with_encoding(headers: Mapping[str, str] | None, accept: str) -> dict[str, str]:
    """``headers`` with ``Accept-Encoding: accept`` unless they already name one."""
    result = dict(headers or {})
    if not any(name.lower() == "accept-encoding" for name in result):
        result["Accept-Encoding"] = accept
    return result


async def _paced_body(body: AsyncIterator[bytes], call: _Call) -> AsyncIterator[bytes]:
    async for chunk in body:
        call.pace(len(chunk))
        yield chunk
    call.credit()
