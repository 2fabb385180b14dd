"""The session's own HTTP client: httpx's pool (sped up) or the optional aiohttp transport."""

from __future__ import annotations

import ssl
from typing import Literal

import httpx

from .._httpcore import speed_up_pool

__all__ = ["DEFAULT_LIMITS", "DEFAULT_TIMEOUT", "Transport", "build_client", "check_transport"]

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=32)

Transport = Literal["httpx", "aiohttp"]


def check_transport(transport: str, http_client: httpx.AsyncClient | None) -> None:
    """Refuse an unknown ``transport`` or one combined with a caller's ``http_client``."""
    if transport not in ("httpx", "aiohttp"):
        raise ValueError(
            f'transport must be "httpx" or "aiohttp", not {transport!r}; to use another '
            "httpx transport pass http_client=httpx.AsyncClient(transport=...)"
        )
    if transport == "aiohttp" and http_client is not None:
        raise ValueError('pass either http_client or transport="aiohttp", not both')


def build_client(
    *,
    transport: Transport,
    timeout: float | httpx.Timeout,
    limits: httpx.Limits,
    verify: ssl.SSLContext | str | bool,
) -> httpx.AsyncClient:
    """A new client that never follows redirects itself (the session decides)."""
    if transport == "aiohttp":
        from .._aiohttp import aiohttp_client

        return aiohttp_client(timeout=timeout, limits=limits, verify=verify)
    client = httpx.AsyncClient(
        timeout=timeout, limits=limits, verify=verify, follow_redirects=False
    )
    speed_up_pool(client)  # a cheaper idle-connection check (_httpcore.py)
    return client
