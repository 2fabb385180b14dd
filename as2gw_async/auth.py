"""Token state: one authorize for many waiting tasks, refreshed ahead of its expiry.

The gateway's ``expiry`` is a timestamp (spec 2.1), not a duration. We read it as
milliseconds since the epoch when it is that large and as seconds otherwise, since the
spec does not say which.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable

import anyio
from attrs import define, field

__all__ = ["Token", "TokenManager", "parse_expiry"]

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
class Token:
    """A bearer of access; ``expires_at`` is seconds since the epoch."""

    value: str = field(repr=False)
    expires_at: float
    refresh_at: float


class TokenManager:
    """Hands out a valid token; the first task to find it stale refreshes it for everyone.

    ``fetch`` performs the authorize call and returns ``(token, expires_at)``.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[tuple[str, float]]],
        *,
        refresh_margin: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._fetch = fetch
        self._margin = refresh_margin
        self._clock = clock
        self._token: Token | None = None
        self._lock = anyio.Lock()
        self.authorizations = 0

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
        """A token valid now, authorizing first if there is none or it is about to expire."""
        token = self._fresh()
        if token is not None:
            return token.value
        async with self._lock:
            token = self._fresh()
            if token is None:
                token = await self._authorize()
            return token.value

    def invalidate(self, value: str) -> None:
        """Forget the token, but only if it is still the one a 401 was answered to."""
        if self._token is not None and self._token.value == value:
            self._token = None

    async def _authorize(self) -> Token:
        value, expires_at = await self._fetch()
        self.authorizations += 1
        now = self._clock()
        if expires_at <= now:
            # Our clock is ahead of the gateway's: use the token until it answers 401.
            refresh_at = now + _SKEWED_TOKEN_USE
        else:
            # A short-lived token must still be used: the margin takes at most half its life.
            refresh_at = expires_at - min(self._margin, (expires_at - now) / 2)
        self._token = Token(value, expires_at, refresh_at)
        return self._token
