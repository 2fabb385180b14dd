"""The MFT Gateway's two namings, in one place: current names sent, both names accepted.

The vendor renamed response fields and query parameters (the OpenAPI file has the legacy
names; the service today answers with the current ones, "old names removed completely
after 1 May 2024"). The client always *sends* the current names and reads every response
through `normalise`, which turns legacy keys into current ones (a current key wins when an
answer holds both), so nothing else in the package ever looks for a legacy name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "MESSAGE_FIELDS",
    "SUBMIT_FIELDS",
    "TOKEN_FIELDS",
    "normalise",
    "normalise_message",
]

#: ``/authorize`` and ``/refresh-session`` answers: legacy -> current.
TOKEN_FIELDS: Mapping[str, str] = {"api_token": "apiToken", "refresh_token": "refreshToken"}
#: The ``/message/submit`` answer.
SUBMIT_FIELDS: Mapping[str, str] = {"as2MessageId": "messageIdentifier"}
#: A message, and its nested ``mdnMessage``.
MESSAGE_FIELDS: Mapping[str, str] = {
    "as2MessageId": "identifier",
    "senderAS2Id": "senderIdentifier",
    "receiverAS2Id": "receiverIdentifier",
}


def normalise(data: Mapping[str, Any], table: Mapping[str, str]) -> dict[str, Any]:
    """``data`` with the legacy keys of ``table`` renamed to the current ones.

    >>> normalise({"api_token": "t", "refresh_token": "r"}, TOKEN_FIELDS)
    {'apiToken': 't', 'refreshToken': 'r'}
    """
    out: dict[str, Any] = {}
    for key, value in data.items():
        current = table.get(key)
        if current is None:
            out[key] = value
        elif current not in data:  # both names present: the current one wins
            out[current] = value
    return out


def normalise_message(data: Mapping[str, Any]) -> dict[str, Any]:
    """A message body (and its ``mdnMessage``) with current field names."""
    out = normalise(data, MESSAGE_FIELDS)
    mdn = out.get("mdnMessage")
    if isinstance(mdn, Mapping):
        out["mdnMessage"] = normalise(mdn, MESSAGE_FIELDS)
    return out
