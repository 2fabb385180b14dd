"""A 256 MiB download from the emulator keeps the process's memory flat (< 32 MB growth).

The emulator runs in this process (in a thread) and streams a generated body; the client
streams it to disk through an AtomicFile. A thread samples the resident set size
(``VmRSS``) every millisecond; the peak during the download, less the level just before
it, must stay under 32 MB, while the body is 8 times that.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import as2gw_async as gw
from as2gw_async.emulator import EmulatorServer, Gateway, GeneratedBody

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status"),
]

SIZE = 256 * 1024 * 1024
LIMIT = 32 * 1000 * 1000


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


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


async def test_a_256_mib_download_keeps_memory_flat(
    as2gw_emulator: EmulatorServer, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    mid = as2gw_gateway.deliver(
        attachments=[
            ("warm-up.bin", GeneratedBody(size=8 * 1024 * 1024, seed=1)),
            ("huge.bin", GeneratedBody(size=SIZE, seed=2)),
        ]
    )
    async with gw.Session(
        as2gw_emulator.username,
        as2gw_emulator.password,
        base_url=as2gw_emulator.base_url,
        rate_limit=None,
    ) as session:
        # Same path once with a smaller body: connections, threads and buffers exist now.
        await session.received.download_attachment(mid, tmp_path, index=0)
        seen: list[int] = []
        with peak_rss() as memory:
            f = await session.received.download_attachment(
                mid, tmp_path, index=1, progress=lambda done, total: seen.append(done)
            )
    baseline, peak = memory
    assert f.size == SIZE
    assert seen[-1] == SIZE
    assert len(seen) >= SIZE // (1024 * 1024)  # written chunk by chunk
    assert sha256(f.path) == as2gw_gateway.attachment_sha256("received", mid, 1)
    growth = peak - baseline
    print(f"RSS baseline {baseline / 1e6:.1f} MB, peak {peak / 1e6:.1f} MB", end=", ")
    print(f"growth {growth / 1e6:.1f} MB")
    assert growth < LIMIT, f"peak RSS grew by {growth / 1e6:.1f} MB for a {SIZE >> 20} MiB body"
