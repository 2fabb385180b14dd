"""How an as2gw_async variant gets its HTTP transport: the default httpx pool, or aiohttp.

``params["transport"] == "aiohttp"`` selects the optional httpx-aiohttp transport (the
approach openai-python took against httpx's pool-lock contention, encode/httpx#3215). When
`Session` takes a ``transport`` argument we use it; until then we hand the session an
``httpx_aiohttp.HttpxAiohttpClient`` through ``http_client`` (and close it ourselves).
``params["concurrency"]``, when given, sizes the connection pool like the baselines'.
"""

from __future__ import annotations

import importlib.util
import inspect
from typing import Any

__all__ = ["aiohttp_transport_available", "close_http_client", "session_kwargs"]


def aiohttp_transport_available() -> bool:
    return importlib.util.find_spec("httpx_aiohttp") is not None


def _session_params() -> set[str]:
    import as2gw_async as gw

    return set(inspect.signature(gw.Session.__init__).parameters)


def session_kwargs(params: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for `Session` beyond credentials, URL and rate limit."""
    import httpx

    kwargs: dict[str, Any] = {}
    conc = params.get("concurrency")
    limits = None
    if conc:
        limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
        kwargs["limits"] = limits
    if params.get("transport") == "aiohttp":
        if "transport" in _session_params():
            kwargs["transport"] = "aiohttp"
        else:
            from httpx_aiohttp import HttpxAiohttpClient

            kwargs.pop("limits", None)
            kwargs["http_client"] = HttpxAiohttpClient(
                timeout=httpx.Timeout(60.0, connect=10.0),
                limits=limits or httpx.Limits(max_connections=64, max_keepalive_connections=32),
                follow_redirects=False,
            )
    return kwargs


async def close_http_client(session: Any) -> None:
    """Close a client we handed to the session (it leaves a borrowed client open)."""
    if not getattr(session, "_owns_client", True):
        await session._client.aclose()
