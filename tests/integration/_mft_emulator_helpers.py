"""Shared helpers of the MFT emulator tests: plain httpx against real loopback sockets."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import httpx

from as2gw_async.emulator.mft import MftEmulator


def q(message_id: str) -> str:
    """A message identifier as one path segment (`<`, `>`, `@`, `/`, `%` encoded)."""
    return quote(message_id, safe="")


def login(client: httpx.Client, emu: MftEmulator) -> str:
    """Authorize with the default account; the token is set on the client, bare."""
    r = client.post("/authorize", json={"username": emu.username, "password": emu.password})
    assert r.status_code == 200, r.text
    body = r.json()
    token: str = body["apiToken"] if "apiToken" in body else body["api_token"]
    client.headers["Authorization"] = token
    return token


@contextmanager
def api(emu: MftEmulator) -> Iterator[httpx.Client]:
    """An httpx client on the gateway, already carrying a token."""
    with httpx.Client(base_url=emu.base_url, timeout=20) as client:
        login(client, emu)
        yield client


def submit(
    client: httpx.Client,
    body: bytes = b"<invoice/>",
    name: str = "invoice.xml",
    *,
    station: str = "MyStation",
    partner: str = "MyPartner",
    **headers: str,
) -> httpx.Response:
    """A raw single-attachment submit."""
    h = {"AS2-From": station, "AS2-To": partner, "Attachment-Name": name, **headers}
    return client.post("/message/submit", params={"service": "as2"}, headers=h, content=body)


class FakeClock:
    """A clock the test moves by hand (starts at the real time, so dates look real)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
