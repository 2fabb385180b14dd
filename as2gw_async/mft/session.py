"""Session: the MFT Gateway API on the shared core (`_core.session.BaseSession`).

What is the MFT Gateway's own lives here: ``/authorize`` with a username and password or an
API token id and secret, ``/refresh-session`` with the refresh token, the token's lifetime
(``apiTokenExpiryIn``, else the JWT's ``exp`` read without verification, else one hour) and
the resources hung off the session. The token travels bare in ``Authorization``; auth
sharing, the one retry after a 401, retries, deadlines and redaction are the core's.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import os
import time
from typing import TYPE_CHECKING, Any

import httpx

from .._core.bodies import endpoint_of, json_body
from .._core.credentials import BareToken
from .._core.session import BaseSession, SessionOptions
from .._core.uploads import SendFile
from ..auth import Grant, Token
from ..errors import (
    AuthenticationError,
    InternalServerError,
    MalformedResponseError,
)
from ..ratelimit import GATEWAY_RATE_LIMIT
from .errors import error_for
from .models import Message, SendReceipt
from .naming import TOKEN_FIELDS, normalise

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .admin import Certificates, Partners, Stations
    from .mailbox import MftMailbox
    from .messages import Inbox, OutboxFolder

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_TOKEN_LIFETIME", "Session"]

logger = logging.getLogger("as2gw_async")

DEFAULT_BASE_URL = "https://api.mftgateway.com"
#: A token's lifetime when neither ``apiTokenExpiryIn`` nor a JWT ``exp`` says (one hour).
DEFAULT_TOKEN_LIFETIME = 3600.0


class Session(BaseSession):
    """An authenticated connection to the MFT Gateway API.

    >>> async with Session("me@example.com", "secret") as s:  # doctest: +SKIP
    ...     async for mid in s.inbox.iter_ids():
    ...         print(mid)

    Log in with ``username`` and ``password``, or with an API token's ``token_id`` and
    ``token_secret``. The keyword options are those of `as2gw_async.Session` (the v1
    client): ``base_url`` (default ``https://api.mftgateway.com``), ``timeout``,
    ``limits``, ``max_retries``, ``retry_policy``, ``rate_limit`` (client-side pacing;
    the MFT Gateway documents none, the same vendor's v1 allows 50 requests per 10 s;
    ``None`` turns it off), ``token_refresh_margin``, ``allow_insecure_http``, ``verify``,
    ``http_client``, ``transport``, ``deadline`` and ``max_decoded_size``.
    """

    def __init__(
        self,
        username: str | None = None,
        password: str | None = None,
        *,
        token_id: str | None = None,
        token_secret: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        **options: Unpack[SessionOptions],
    ) -> None:
        by_password = username is not None or password is not None
        by_token = token_id is not None or token_secret is not None
        if by_password == by_token:
            raise ValueError(
                "log in with username and password, or with token_id and token_secret "
                "(one pair, not both)"
            )
        if by_password and (not username or not password):
            raise ValueError("username and password are both required")
        if by_token and (not token_id or not token_secret):
            raise ValueError("token_id and token_secret are both required")
        self.username = username
        self.token_id = token_id
        self._password = password
        self._token_secret = token_secret
        options.setdefault("rate_limit", GATEWAY_RATE_LIMIT)
        super().__init__(
            base_url=base_url,
            credentials=BareToken(),  # the OpenAPI apiKey header: the token, no "Bearer"
            authorize=self._authorize,
            refresh=self._refresh,
            error_for=error_for,
            secrets=(password, token_secret),
            **options,
        )

        from .admin import Certificates, Partners, Stations
        from .messages import Inbox, OutboxFolder

        self.inbox: Inbox = Inbox(self)
        self.outbox: OutboxFolder = OutboxFolder(self, "outbox")
        self.queued: OutboxFolder = OutboxFolder(self, "queued")
        self.failed: OutboxFolder = OutboxFolder(self, "failed")
        self.certificates: Certificates = Certificates(self)
        self.stations: Stations = Stations(self)
        self.partners: Partners = Partners(self)

    @classmethod
    def from_env(cls, **kwargs: Any) -> Session:
        """A session from ``MFTGW_USERNAME`` / ``MFTGW_PASSWORD`` (or ``MFTGW_TOKEN_ID`` /
        ``MFTGW_TOKEN_SECRET``) and ``MFTGW_BASE_URL``; keyword arguments are passed on."""
        env = os.environ
        if env.get("MFTGW_BASE_URL"):
            kwargs.setdefault("base_url", env["MFTGW_BASE_URL"])
        if env.get("MFTGW_USERNAME") or env.get("MFTGW_PASSWORD"):
            missing = [v for v in ("MFTGW_USERNAME", "MFTGW_PASSWORD") if not env.get(v)]
            if missing:
                raise ValueError(f"environment variable(s) not set: {', '.join(missing)}")
            return cls(env["MFTGW_USERNAME"], env["MFTGW_PASSWORD"], **kwargs)
        if env.get("MFTGW_TOKEN_ID") or env.get("MFTGW_TOKEN_SECRET"):
            missing = [v for v in ("MFTGW_TOKEN_ID", "MFTGW_TOKEN_SECRET") if not env.get(v)]
            if missing:
                raise ValueError(f"environment variable(s) not set: {', '.join(missing)}")
            return cls(
                token_id=env["MFTGW_TOKEN_ID"], token_secret=env["MFTGW_TOKEN_SECRET"], **kwargs
            )
        raise ValueError(
            "environment variables not set: MFTGW_USERNAME and MFTGW_PASSWORD, or "
            "MFTGW_TOKEN_ID and MFTGW_TOKEN_SECRET"
        )

    def __repr__(self) -> str:
        who = f"username={self.username!r}" if self.username else f"token_id={self.token_id!r}"
        return f"<mft.Session {who} base_url={self.base_url!r}>"

    # -- shortcuts of the public API ------------------------------------------------------

    async def send(
        self,
        station: str,
        partner: str,
        *files: SendFile,
        subject: str | None = None,
    ) -> SendReceipt:
        """Send files from ``station`` (``AS2-From``) to ``partner`` (``AS2-To``).

        One file goes as the raw body (``Attachment-Name``), several as multipart ``File``
        parts, streamed from disk. Never repeated silently: a send that may have reached the
        gateway and failed raises, and the message may then be queued (look in
        ``s.queued`` / ``s.outbox`` before sending again).

        >>> r = await s.send("MyStation", "MyPartner", "invoice.xml")  # doctest: +SKIP
        >>> r.message_id  # doctest: +SKIP
        '<16037890537199092@mftgateway.com>'
        """
        from .sending import send

        return await send(self, station, partner, *files, subject=subject)

    async def wait_for_delivery(
        self,
        message_id: str,
        *,
        timeout: float = 120.0,
        poll_interval: float = 2.0,
        initial_delay: float | None = None,
    ) -> Message:
        """Poll until a sent message is delivered and return it (from the outbox).

        Raises `DeliveryFailedError` when the gateway gives up (the message is in
        ``outbox/failed``), `DeliveryTimeoutError` when ``timeout`` passes first.
        """
        from .sending import wait_for_delivery

        return await wait_for_delivery(
            self,
            message_id,
            timeout=timeout,
            poll_interval=poll_interval,
            initial_delay=initial_delay,
        )

    def mailbox(self, **options: Any) -> MftMailbox:
        """The inbox as `InboxConsumer` drains it (see ``mft/mailbox.py``).

        ``options``: ``partner``, ``station`` (list filters), ``include_mdn``.
        """
        from .mailbox import MftMailbox

        return MftMailbox(self, **options)

    # -- authorization ----------------------------------------------------------------------

    async def _authorize(self) -> Grant:
        """``POST /authorize`` with the password or the API token's secret."""
        if self.username is not None:
            body = {"username": self.username, "password": self._password}
            who = self.username
        else:
            body = {"tokenID": self.token_id, "tokenSecret": self._token_secret}
            who = f"API token {self.token_id}"
        try:
            response = await self.request(
                "POST", "/authorize", json=body, idempotent=True, authenticate=False
            )
        except AuthenticationError as exc:
            raise AuthenticationError(
                f"authorization failed for {who}: {exc.message}", response=exc.response
            ) from None
        logger.debug("authorized as %s", who)
        return _grant(response)

    async def _refresh(self, stale: Token) -> Grant:
        """``POST /refresh-session``. Its 500 is a refusal (not retried); the token manager
        then authorizes afresh."""
        username = self.username or _jwt_claims(stale.value).get("username") or None
        if username is None:
            username = _jwt_claims(stale.value).get("sub")
        if not isinstance(username, str) or not username or not stale.refresh_token:
            raise AuthenticationError(
                "no username to refresh this token with; authorizing again",
                response=httpx.Response(401, request=httpx.Request("POST", "/refresh-session")),
            )
        try:
            response = await self.request(
                "POST",
                "/refresh-session",
                json={"username": username, "refreshToken": stale.refresh_token},
                idempotent=False,  # its 500 means "refused": asking again would not help
                authenticate=False,
            )
        except InternalServerError as exc:
            raise AuthenticationError(
                f"the gateway refused to refresh the session: {exc.message}",
                response=exc.response,
            ) from None
        grant = _grant(response)
        if grant.refresh_token is None:  # the answer may leave out the (unchanged) refresh token
            grant = Grant(grant.token, grant.expires_at, stale.refresh_token)
        return grant


def _grant(response: httpx.Response) -> Grant:
    """The token pair of an ``/authorize`` or ``/refresh-session`` answer, either naming."""
    endpoint = endpoint_of(response.request)
    data = json_body(response)
    data = normalise(data, TOKEN_FIELDS) if isinstance(data, dict) else {}
    token = data.get("apiToken")
    if not isinstance(token, str) or not token:
        raise MalformedResponseError(
            f"the answer of {endpoint} holds no api token", endpoint=endpoint, response=response
        )
    refresh = data.get("refreshToken")
    return Grant(
        token,
        _expiry(token, data.get("apiTokenExpiryIn")),
        refresh if isinstance(refresh, str) and refresh else None,
    )


def _expiry(token: str, expires_in: object) -> float:
    """``apiTokenExpiryIn`` (seconds from now), else the JWT's ``exp``, else one hour."""
    now = time.time()
    if isinstance(expires_in, (int, float, str)) and not isinstance(expires_in, bool):
        try:
            seconds = float(expires_in)
        except ValueError:
            seconds = math.nan
        if math.isfinite(seconds) and seconds > 0:
            return now + seconds
    exp = _jwt_claims(token).get("exp")
    if isinstance(exp, (int, float)) and not isinstance(exp, bool) and 0 < exp < math.inf:
        return float(exp)
    return now + DEFAULT_TOKEN_LIFETIME


def _jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, read without verifying it (only to learn its expiry and
    subject); empty when the token is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}
