"""Token state: one authorize for many waiting tasks, refreshed ahead of its expiry.

Provider-neutral: a gateway session hands `TokenManager` an ``authorize`` function (log in
with the password, secret or API key) and, if the gateway has one, a ``refresh`` function
(trade the current token's refresh token for a new one). Either returns a `Grant` or a
plain ``(token, expires_at)`` pair.

The AS2 Gateway v1's ``expiry`` is a timestamp (spec 2.1), not a duration. `parse_expiry`
reads it as milliseconds since the epoch when it is that large and as seconds otherwise,
since the spec does not say which.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Union

import anyio
from attrs import define, field

from ._core.credentials import check_token
from .errors import AS2GatewayError, InvalidTokenError

__all__ = ["Grant", "Token", "TokenManager", "parse_expiry"]

logger = logging.getLogger("as2gw_async")

# Timestamps above this are milliseconds: 1e11 seconds is the year 5138.
_MS_THRESHOLD = 1e11
_SKEWED_TOKEN_USE = 60.0


def parse_expiry(value: object) -> float:
    """The token's expiry as seconds since the epoch; ``inf`` when absent or unreadable."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return math.inf
    try:
        number = float(value)
    except ValueError:
        return math.inf
    if not math.isfinite(number) or number <= 0:
        return math.inf
    return number / 1000 if number > _MS_THRESHOLD else number


@define(frozen=True)
class Grant:
    """What an authorize or refresh call returns: the token, its expiry (seconds since the
    epoch, ``inf`` if unknown) and, where the gateway issues one, a refresh token."""

    token: str = field(repr=False)
    expires_at: float
    refresh_token: str | None = field(default=None, repr=False)


@define(frozen=True)
class Token:
    """A bearer of access; ``expires_at`` is seconds since the epoch."""

    value: str = field(repr=False)
    expires_at: float
    refresh_at: float
    refresh_token: str | None = field(default=None, repr=False)


GrantLike = Union[Grant, tuple[str, float]]  # noqa: UP007
Authorize = Callable[[], Awaitable[GrantLike]]
Refresh = Callable[[Token], Awaitable[GrantLike]]


class TokenManager:
    """Hands out a valid token; the first task to find it stale renews it for everyone.

    ``authorize`` logs in afresh. ``refresh``, when given, is tried first once a token is
    due (inside ``refresh_margin`` of its expiry); if it fails, a full authorize follows.
    The new token replaces the old one in one step, so no waiter ever sees a mix.
    ``on_token`` is called with every new token and refresh token (the session registers
    them for redaction). Every token is checked (`check_token`) before it is used.
    """

    def __init__(
        self,
        authorize: Authorize,
        *,
        refresh: Refresh | None = None,
        refresh_margin: float = 300.0,
        clock: Callable[[], float] = time.time,
        on_token: Callable[[str], None] | None = None,
    ) -> None:
        self._authorize_fn = authorize
        self._refresh_fn = refresh
        self._margin = refresh_margin
        self._clock = clock
        self._on_token = on_token
        self._token: Token | None = None
        self._lock = anyio.Lock()
        self.authorizations = 0
        self.refreshes = 0

    @property
    def token(self) -> Token | None:
        """The current token, if any (its value is hidden from repr)."""
        return self._token

    def __repr__(self) -> str:
        state = "none" if self._token is None else f"expires_at={self._token.expires_at}"
        return f"<TokenManager {state}>"

    def _fresh(self) -> Token | None:
        token = self._token
        if token is not None and self._clock() < token.refresh_at:
            return token
        return None

    async def get(self) -> str:
        """A token valid now, authorizing (or refreshing) first if there is none or it is
        about to expire. Many concurrent callers share one authorize."""
        token = self._fresh()
        if token is not None:
            return token.value
        async with self._lock:
            token = self._fresh()
            if token is None:
                token = await self._renew(self._token)
            return token.value

    def invalidate(self, value: str) -> None:
        """Forget the token, but only if it is still the one a 401 was answered to."""
        if self._token is not None and self._token.value == value:
            self._token = None

    async def _renew(self, stale: Token | None) -> Token:
        if stale is not None and self._refresh_fn is not None and stale.refresh_token:
            try:
                grant = await self._refresh_fn(stale)
            except (AS2GatewayError, InvalidTokenError) as exc:
                logger.info("token refresh failed (%s); authorizing again", type(exc).__name__)
            else:
                self.refreshes += 1
                return self._install(grant)
        grant = await self._authorize_fn()
        self.authorizations += 1
        return self._install(grant)

    def _install(self, grant: GrantLike) -> Token:
        if not isinstance(grant, Grant):
            grant = Grant(*grant)
        value = check_token(grant.token)
        if self._on_token is not None:
            self._on_token(value)
            if grant.refresh_token:
                self._on_token(grant.refresh_token)
        now = self._clock()
        expires_at = grant.expires_at
        if expires_at <= now:
            # Our clock is ahead of the gateway's: use the token until it answers 401.
            refresh_at = now + _SKEWED_TOKEN_USE
        else:
            # A short-lived token must still be used: the margin takes at most half its life.
            refresh_at = expires_at - min(self._margin, (expires_at - now) / 2)
        self._token = Token(value, expires_at, refresh_at, grant.refresh_token)
        return self._token
