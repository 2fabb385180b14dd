"""ecgrid.Session: ECGrid REST v2.6 on the shared core (`_core.session.BaseSession`).

What is ECGrid's own lives here: the two ways to authenticate (an ``X-API-Key`` that never
expires, or a login whose Bearer JWT is refreshed ahead of ``expiresAt``), logout on close,
the envelope (``envelope.py``) and `Session.call`, the generic envelope-aware call.
Retries (429, 500, 503; never a 4xx), deadlines, rate limiting and redaction are the core's.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from .._core.credentials import APIKeyHeader, BearerToken
from .._core.session import BaseSession, SessionOptions
from ..auth import Grant, Token
from ..errors import AS2GatewayError, AuthenticationError
from .envelope import envelope_of, error_for, malformed, unwrap
from .envelope import retry_policy as ecgrid_retry_policy
from .models import parse_datetime

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .interchanges import Interchanges
    from .mailbox import ECGridMailbox
    from .parcels import Parcels

__all__ = ["DEFAULT_BASE_URL", "Session"]

logger = logging.getLogger("as2gw_async")

T = TypeVar("T")

DEFAULT_BASE_URL = "https://rest.ecgrid.io"
"""The API's origin: every path carries ``/v2/``."""


class Session(BaseSession):
    """An authenticated connection to ECGrid REST v2.6.

    >>> async with Session(api_key="...") as s:  # doctest: +SKIP
    ...     async for p in s.parcels.pending():
    ...         f = await s.parcels.download(p.parcel_id, "in/")
    ...         await s.parcels.confirm(p.parcel_id)

    Either ``api_key`` (sent as ``X-API-Key``; it does not expire) or ``login`` and
    ``password`` (``POST /v2/auth/login``; the Bearer token is refreshed ahead of its
    ``expiresAt`` and the session logged out on close). The keyword options are those of
    ``as2gw_async.Session``; ``retry_policy`` defaults to ECGrid's (429, 500, 503, at
    most ``max_retries``), and there is no client-side rate limit unless you set one (the
    vendor documents none; a 429 is waited out after its ``Retry-After``).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        login: str | None = None,
        password: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        **options: Unpack[SessionOptions],
    ) -> None:
        if api_key is not None and (login is not None or password is not None):
            raise ValueError("give either api_key or login and password, not both")
        if api_key is None and (not login or not password):
            raise ValueError("give api_key, or login and password")
        if api_key is not None and not api_key:
            raise ValueError("api_key is empty")
        self.login_name = login
        self._api_key = api_key
        self._password = password
        uses_key = api_key is not None
        if options.get("retry_policy") is None:
            options["retry_policy"] = ecgrid_retry_policy(options.get("max_retries", 3))
        super().__init__(
            base_url=base_url,
            credentials=APIKeyHeader("X-API-Key") if uses_key else BearerToken(),
            authorize=self._use_key if uses_key else self._login,
            refresh=None if uses_key else self._refresh,
            error_for=error_for,
            secrets=(api_key, password),
            **options,
        )

        from .interchanges import Interchanges
        from .parcels import Parcels

        self.parcels: Parcels = Parcels(self)
        self.interchanges: Interchanges = Interchanges(self)

    @classmethod
    def from_env(cls, **kwargs: Any) -> Session:
        """A session from ``ECGRID_API_KEY``, or ``ECGRID_LOGIN`` and ``ECGRID_PASSWORD``;
        ``ECGRID_BASE_URL`` if set. Keyword arguments are passed on to the constructor."""
        env = os.environ
        if env.get("ECGRID_BASE_URL"):
            kwargs.setdefault("base_url", env["ECGRID_BASE_URL"])
        if env.get("ECGRID_API_KEY"):
            return cls(api_key=env["ECGRID_API_KEY"], **kwargs)
        missing = [v for v in ("ECGRID_LOGIN", "ECGRID_PASSWORD") if not env.get(v)]
        if missing:
            raise ValueError(
                "set ECGRID_API_KEY, or ECGRID_LOGIN and ECGRID_PASSWORD "
                f"(not set: {', '.join(missing)})"
            )
        return cls(login=env["ECGRID_LOGIN"], password=env["ECGRID_PASSWORD"], **kwargs)

    def __repr__(self) -> str:
        who = "api_key" if self._api_key is not None else f"login={self.login_name!r}"
        return f"<ecgrid.Session {who} base_url={self.base_url!r}>"

    @property
    def account(self) -> str:
        """Who this session is (for journals): the login, or a digest of the API key."""
        if self.login_name is not None:
            return self.login_name
        digest = hashlib.sha256((self._api_key or "").encode()).hexdigest()[:16]
        return f"key-{digest}"

    @property
    def uses_api_key(self) -> bool:
        """True when the session authenticates with ``X-API-Key``."""
        return self._api_key is not None

    async def aclose(self) -> None:
        """Log out (login sessions that logged in), then close the HTTP client."""
        token = self._tokens.token
        try:
            if token is not None and self._api_key is None:
                await self._logout(token.value)
        finally:
            await super().aclose()

    # -- the generic call ------------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        idempotent: bool | None = None,
        deadline: float | None = None,
    ) -> Any:
        """Call any ECGrid endpoint and return the envelope's ``data``.

        ``success: false`` (whatever the HTTP status) raises the shared error its
        ``errorCode`` names (`NotFoundError`, `BadRequestError`, ...). ``idempotent``
        (default: GET only) allows retries of 500/503 and broken connections.

        >>> boxes = await s.call("POST", "/v2/mailboxes/list", json={"pageNo": 1})  # doctest: +SKIP
        """
        return await self.call_with(
            method,
            path,
            _data,
            json=json,
            params=params,
            idempotent=idempotent,
            deadline=deadline,
        )

    async def call_envelope(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """Like `call`, but return the whole envelope (list answers may put
        ``totalRecords`` beside ``data``)."""
        return await self.call_with(
            method, path, _whole, json=json, params=params, idempotent=idempotent
        )

    async def call_with(
        self,
        method: str,
        path: str,
        read: Callable[[dict[str, Any]], T],
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        idempotent: bool | None = None,
        deadline: float | None = None,
    ) -> T:
        """Call and hand the successful envelope to ``read``; a ``ValueError`` (or
        ``TypeError``) from it is a `MalformedResponseError` naming the endpoint."""
        response = await self.request(
            method, path, json=json, params=params, idempotent=idempotent, deadline=deadline
        )
        envelope = envelope_of(response)
        try:
            return read(envelope)
        except (ValueError, TypeError) as exc:
            raise malformed(response, str(exc)) from None

    async def version(self) -> str:
        """``GET /v2/auth/version`` (no authentication): the API version, e.g. ``"2.6"``."""
        response = await self.request("GET", "/v2/auth/version", authenticate=False)
        data = unwrap(response)
        return str(data.get("version")) if isinstance(data, dict) else str(data)

    async def session_info(self) -> dict[str, Any]:
        """``POST /v2/auth/session``: userId, login, networkId, mailboxId, authLevel..."""
        data = await self.call("POST", "/v2/auth/session", idempotent=True)
        return data if isinstance(data, dict) else {"data": data}

    def mailbox(self, **options: Any) -> ECGridMailbox:
        """ECGrid's inbox as `InboxConsumer` drains it: pending list, download, confirm.

        ``options``: ``mailbox_id`` (0 or None: the key's default mailbox).
        """
        from .mailbox import ECGridMailbox

        return ECGridMailbox(self, **options)

    # -- authentication --------------------------------------------------------------------

    async def _use_key(self) -> Grant:
        """The API key is the token: it never expires."""
        assert self._api_key is not None
        return Grant(self._api_key, float("inf"))

    async def _login(self) -> Grant:
        """``POST /v2/auth/login`` with ``login`` and ``password``."""
        try:
            response = await self.request(
                "POST",
                "/v2/auth/login",
                json={"login": self.login_name, "password": self._password},
                idempotent=True,
                authenticate=False,
            )
        except AuthenticationError as exc:
            raise AuthenticationError(
                f"login failed for {self.login_name}: {exc.message}",
                response=exc.response,
                error_code=exc.error_code,
            ) from None
        logger.debug("logged in to ECGrid as %s", self.login_name)
        return _grant(response)

    async def _refresh(self, stale: Token) -> Grant:
        """``POST /v2/auth/refresh`` with the current ``token`` (and ``refreshToken`` when
        the server gave one). The old token dies at once; the token manager swaps it for
        every waiting task in one step."""
        body = {"token": stale.value}
        if stale.refresh_token and stale.refresh_token != stale.value:
            body["refreshToken"] = stale.refresh_token
        response = await self.request(
            "POST", "/v2/auth/refresh", json=body, idempotent=False, authenticate=False
        )
        return _grant(response)

    async def _logout(self, token: str) -> None:
        """``POST /v2/auth/logout`` with ``token``; a failure is logged, never raised."""
        try:
            await self.request(
                "POST",
                "/v2/auth/logout",
                headers={"Authorization": f"Bearer {token}"},
                authenticate=False,
                idempotent=False,
                deadline=10.0,
            )
        except AS2GatewayError as exc:
            logger.info("ECGrid logout failed: %s", self.redactor.scrub(str(exc)))


def _data(envelope: dict[str, Any]) -> Any:
    return envelope.get("data")


def _whole(envelope: dict[str, Any]) -> dict[str, Any]:
    return envelope


def _grant(response: httpx.Response) -> Grant:
    """A login or refresh answer as a `Grant`. ECGrid's refresh takes the current token, so
    without a separate ``refreshToken`` the token itself is what a refresh needs."""
    data = unwrap(response)
    token = data.get("token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise malformed(response, "the answer holds no token")
    expires = parse_datetime(data.get("expiresAt"))
    refresh = data.get("refreshToken")
    return Grant(
        token,
        expires.timestamp() if expires is not None else float("inf"),
        refresh if isinstance(refresh, str) and refresh else token,
    )
