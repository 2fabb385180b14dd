"""Reading a successful answer's body: JSON that does not parse is a typed error."""

from __future__ import annotations

import json
from typing import Any

import httpx

from ..errors import MalformedResponseError

__all__ = ["endpoint_of", "json_body"]


def endpoint_of(request: httpx.Request) -> str:
    """``"GET /v1/message/received"``: how errors name a call (no query, no host)."""
    return f"{request.method} {request.url.path}"


def json_body(response: httpx.Response) -> Any:
    """The response body parsed as JSON; `MalformedResponseError` naming the endpoint if
    it is not JSON (never a bare ``JSONDecodeError``). The body must already be read."""
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        endpoint = endpoint_of(response.request)
        ctype = response.headers.get("content-type", "").split(";")[0].strip() or "unknown"
        raise MalformedResponseError(
            f"malformed JSON from {endpoint} ({ctype} body of {len(response.content)} "
            f"bytes): {type(exc).__name__}",
            endpoint=endpoint,
            response=response,
        ) from None
