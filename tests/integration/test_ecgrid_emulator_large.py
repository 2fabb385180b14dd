"""ECGrid emulator: large parcels stream both ways with flat memory.

The emulator runs in this process (in a thread). A thread samples the resident set size
every millisecond; the peak during the transfer, less the level just before it, is compared
with the body's size: a 128 MiB download (170 MiB of base64 JSON) must grow the process by
less than 32 MB, and a 64 MiB upload by less than its decoded size (which the emulator
stores) plus 32 MB — a server that read the body, parsed it and then decoded it would hold
three copies.
"""

from __future__ import annotations

import base64
import hashlib
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import httpx
import pytest

from as2gw_async.emulator._bodies import GeneratedBody
from as2gw_async.emulator.ecgrid import ECGridServer, b64_chunks

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status"),
]

MB = 1000 * 1000


def rss() -> int:
    """The resident set size of this process, in bytes."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@contextmanager
def peak_rss() -> Iterator[list[int]]:
    """Sample RSS in a thread while the block runs; yields ``[baseline, peak]``."""
    result = [rss(), 0]
    done = threading.Event()

    def sample() -> None:
        peak = result[0]
        while not done.wait(0.001):
            peak = max(peak, rss())
        result[1] = max(peak, rss())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield result
    finally:
        done.set()
        sampler.join()


class StreamedContent:
    """Decodes the ``content`` string of a download envelope as the bytes arrive."""

    MARK = b'"content": "'

    def __init__(self) -> None:
        self.head = b""
        self.tail = b""
        self.carry = b""
        self.state = "head"
        self.digest = hashlib.sha256()
        self.size = 0

    def feed(self, chunk: bytes) -> None:
        if self.state == "head":
            self.head += chunk
            at = self.head.find(self.MARK)
            if at < 0:
                return
            chunk = self.head[at + len(self.MARK) :]
            self.head = self.head[:at]
            self.state = "content"
        if self.state == "content":
            end = chunk.find(b'"')
            text = chunk if end < 0 else chunk[:end]
            data = self.carry + text
            cut = len(data) - len(data) % 4
            decoded = base64.b64decode(data[:cut])
            self.digest.update(decoded)
            self.size += len(decoded)
            self.carry = data[cut:]
            if end >= 0:
                self.state = "tail"
                self.tail = chunk[end:]
            return
        self.tail += chunk


async def test_large_download_streams(ecgrid_emulator: ECGridServer) -> None:
    size = 128 << 20
    body = GeneratedBody(size, seed=7)
    parcel = ecgrid_emulator.state.add_parcel("big.edi", body)
    expected = body.sha256()
    reader = StreamedContent()
    async with httpx.AsyncClient(base_url=ecgrid_emulator.base_url, timeout=120) as client:
        with peak_rss() as result:
            async with client.stream(
                "POST",
                "/v2/parcels/download",
                json={"parcelId": parcel.parcel_id},
                headers={"X-API-Key": ecgrid_emulator.api_key},
            ) as r:
                assert r.status_code == 200
                assert int(r.headers["content-length"]) > size * 4 // 3
                async for chunk in r.aiter_raw():
                    reader.feed(chunk)
        growth = result[1] - result[0]
    assert reader.size == size
    assert reader.digest.hexdigest() == expected
    assert reader.tail.startswith(f'", "bytes": {size}}}'.encode())
    print(f"download growth {growth / MB:.1f} MB")
    assert growth < 32 * MB, f"the process grew by {growth / MB:.1f} MB"


async def test_large_upload_is_decoded_once(ecgrid_emulator: ECGridServer) -> None:
    size = 64 << 20
    body = GeneratedBody(size, seed=3)

    async def stream() -> AsyncIterator[bytes]:
        yield b'{"fileName": "big-up.edi", "content": "'
        for piece in b64_chunks(body.iter_chunks()):
            yield piece
        yield f'", "bytes": {size}}}'.encode()

    async with httpx.AsyncClient(base_url=ecgrid_emulator.base_url, timeout=120) as client:
        with peak_rss() as result:
            r = await client.post(
                "/v2/parcels/upload",
                content=stream(),
                headers={"X-API-Key": ecgrid_emulator.api_key, "Content-Type": "application/json"},
            )
        growth = result[1] - result[0]
    assert r.status_code == 200, r.text
    parcel = ecgrid_emulator.state.parcel(r.json()["data"])
    assert parcel.size == size
    assert hashlib.sha256(parcel.body).hexdigest() == body.sha256()  # type: ignore[arg-type]
    print(f"upload growth {growth / MB:.1f} MB")
    assert growth < size + 32 * MB, (
        f"the process grew by {growth / MB:.1f} MB for {size / MB:.0f} MB"
    )
