"""The transport rules for URLs: no credentials over plain http, and the one redirect we follow."""

from __future__ import annotations

import ipaddress
from urllib.parse import quote

import httpx

from ..errors import InsecureTransportError

__all__ = ["check_base_url", "https_upgrade", "is_loopback", "quote_id"]


def quote_id(value: str) -> str:
    """Percent-encode one path segment: an AS2 id like ``<a/b@c>`` becomes ``%3Ca%2Fb%40c%3E``."""
    return quote(value, safe="")


def is_loopback(host: str) -> bool:
    """True for ``localhost``, ``*.localhost`` and loopback IP addresses."""
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str, *, allow_insecure_http: bool) -> str:
    """``base_url`` without its trailing slash, if it may carry credentials.

    Raises ValueError for anything but an absolute http(s) URL, `InsecureTransportError`
    for plain http to a host that is not loopback unless ``allow_insecure_http``.
    """
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"invalid base_url {base_url!r}: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"base_url must be an absolute http(s) URL, not {base_url!r}")
    if url.scheme == "http" and not allow_insecure_http and not is_loopback(url.host):
        raise InsecureTransportError(
            f"refusing to send credentials over plain http to {url.host}; use https, "
            "or pass allow_insecure_http=True if you really mean it"
        )
    return str(url).rstrip("/")


def https_upgrade(base_url: str, response: httpx.Response) -> str | None:
    """The https base URL a redirect ``response`` upgrades ``base_url`` to, else None.

    Only a redirect from http to https on the same host qualifies (the port may change).
    """
    location = response.headers.get("location", "")
    current = httpx.URL(base_url)
    try:
        target = response.request.url.join(location)
    except httpx.InvalidURL:
        return None
    if current.scheme != "http" or target.scheme != "https" or target.host != current.host:
        return None
    return str(current.copy_with(scheme="https", port=target.port)).rstrip("/")
