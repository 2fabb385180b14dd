"""How a token travels to the gateway: one small object a gateway, no ``if gateway ==``.

* `BareToken` -- ``Authorization: <token>`` (AS2 Gateway v1 and the MFT Gateway);
* `BearerToken` -- ``Authorization: Bearer <token>`` (ECGrid after a login);
* `APIKeyHeader` -- ``<name>: <key>`` (ECGrid's ``X-API-Key``).

`check_token` is the one rule for what may travel in a header at all.
"""

from __future__ import annotations

import re
from typing import Protocol

from attrs import define

from ..errors import InvalidTokenError

__all__ = ["APIKeyHeader", "BareToken", "BearerToken", "Credentials", "check_token"]

# Printable ASCII without the space: what a token, key or JWT is made of.
_TOKEN = re.compile(r"[\x21-\x7e]+")


def check_token(value: object) -> str:
    """``value`` if it can be sent in a header as a token; else `InvalidTokenError`.

    A token with CR/LF, whitespace or non-ASCII characters would either be refused by the
    HTTP library deep inside a request (``UnicodeEncodeError``, "illegal header value") or
    smuggle a header; the error never quotes the value.
    """
    if not isinstance(value, str) or not value:
        raise InvalidTokenError("the gateway issued an empty or non-text token")
    if _TOKEN.fullmatch(value) is None:
        raise InvalidTokenError(
            f"the gateway issued a token of {len(value)} characters that cannot be sent in "
            "a header (only printable ASCII without spaces is allowed)"
        )
    return value


class Credentials(Protocol):
    """Turns the current token into the request headers that carry it."""

    def headers(self, token: str) -> dict[str, str]:
        """The headers to add to a request sent with ``token``."""
        ...


@define(frozen=True)
class BareToken:
    """``Authorization: <token>``, without a scheme (AS2 Gateway v1, MFT Gateway)."""

    def headers(self, token: str) -> dict[str, str]:
        """``{"Authorization": token}``."""
        return {"Authorization": token}


@define(frozen=True)
class BearerToken:
    """``Authorization: Bearer <token>`` (ECGrid after a login)."""

    def headers(self, token: str) -> dict[str, str]:
        """``{"Authorization": "Bearer " + token}``."""
        return {"Authorization": f"Bearer {token}"}


@define(frozen=True)
class APIKeyHeader:
    """``<name>: <key>``, e.g. ``APIKeyHeader("X-API-Key")`` (ECGrid)."""

    name: str

    def headers(self, token: str) -> dict[str, str]:
        """``{name: token}``."""
        return {self.name: token}
