"""Field names of the MFT Gateway: the legacy ones (the OpenAPI file) and the current ones.

The vendor renamed response fields, query parameters and one request field (old names
"removed completely after 1 May 2024"). An emulator instance serves one of the two namings;
both are kept here, in one table per place a name appears, so the rest of the emulator
builds every body with the legacy names and renames it on the way out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

__all__ = [
    "MESSAGE_FIELDS",
    "NAMINGS",
    "QUERY_PARAMS",
    "SUBMIT_FIELDS",
    "TOKEN_FIELDS",
    "Naming",
    "check_naming",
    "query_param",
    "rename",
]

Naming = Literal["current", "legacy"]
NAMINGS: tuple[str, ...] = ("current", "legacy")

#: /authorize and /refresh-session answers
TOKEN_FIELDS: Mapping[str, str] = {"api_token": "apiToken", "refresh_token": "refreshToken"}
#: the /message/submit answer
SUBMIT_FIELDS: Mapping[str, str] = {"as2MessageId": "messageIdentifier"}
#: a message (and its nested mdnMessage)
MESSAGE_FIELDS: Mapping[str, str] = {
    "as2MessageId": "identifier",
    "senderAS2Id": "senderIdentifier",
    "receiverAS2Id": "receiverIdentifier",
}
#: list filters (query parameters)
QUERY_PARAMS: Mapping[str, str] = {
    "as2MessageId": "identifier",
    "partnerAS2Id": "partnerIdentifier",
    "stationAS2Id": "stationIdentifier",
}


def check_naming(value: str) -> Naming:
    """``value`` as a :data:`Naming`, or ValueError."""
    if value == "current":
        return "current"
    if value == "legacy":
        return "legacy"
    raise ValueError(f"naming must be 'current' or 'legacy', not {value!r}")


def rename(body: Mapping[str, Any], table: Mapping[str, str], naming: Naming) -> dict[str, Any]:
    """``body`` (built with legacy names) with the keys of ``table`` renamed for ``naming``."""
    if naming == "legacy":
        return dict(body)
    return {table.get(key, key): value for key, value in body.items()}


def query_param(legacy: str, naming: Naming) -> str:
    """The name under which this instance reads the filter whose legacy name is ``legacy``."""
    return legacy if naming == "legacy" else QUERY_PARAMS[legacy]
