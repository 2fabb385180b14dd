"""One place that keeps secrets out of every text built from a response.

A server may echo the password, the API key or the token back in an error body, and a
malformed token can end up in an HTTP library's exception text. The session registers
each secret here (the password or key when it is built, every token the moment it is
issued) and every error message and log line it builds from a response or a failure goes
through `Redactor.scrub`.
"""

from __future__ import annotations

from collections import deque
from typing import TypeVar

from ..errors import AS2GatewayError

__all__ = ["REDACTED", "Redactor"]

REDACTED = "***"
# Tokens rotate: keep the last few (a late error may quote the one before the current).
_RECENT_TOKENS = 8
# Shorter values are not scrubbed: replacing "a" everywhere would garble texts, and a
# secret that short is not a secret worth the name.
_MIN_SECRET = 4

E = TypeVar("E", bound=BaseException)


class Redactor:
    """Replaces known secrets with ``***`` in texts and in `AS2GatewayError` messages."""

    def __init__(self, *secrets: str | None) -> None:
        self._fixed = {s for s in secrets if s and len(s) >= _MIN_SECRET}
        self._tokens: deque[str] = deque(maxlen=_RECENT_TOKENS)

    def __repr__(self) -> str:
        return f"<Redactor secrets={len(self._fixed) + len(self._tokens)}>"

    def add_secret(self, value: str | None) -> None:
        """Scrub ``value`` (a password, secret or API key) from now on."""
        if value and len(value) >= _MIN_SECRET:
            self._fixed.add(value)

    def add_token(self, value: str) -> None:
        """Scrub ``value``, a newly issued token, from now on (with the few before it)."""
        if len(value) >= _MIN_SECRET and value not in self._tokens:
            self._tokens.append(value)

    def scrub(self, text: str) -> str:
        """``text`` with every known secret replaced by ``***``."""
        for secret in sorted((*self._fixed, *self._tokens), key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def scrub_error(self, error: E) -> E:
        """``error`` with its message (and ``str()``) scrubbed, returned for ``raise``."""
        if isinstance(error, AS2GatewayError):
            clean = self.scrub(error.message)
            if clean != error.message:
                error.message = clean
                error.args = (clean, *error.args[1:])
        return error
