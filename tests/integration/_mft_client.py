"""Helpers of the MFT client tests: a session on the emulator, fast retries, no pacing."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from as2gw_async import RetryPolicy, mft
from as2gw_async.emulator.mft import MftEmulator

FAST_RETRIES = RetryPolicy(max_retries=3, initial_delay=0.0, max_delay=0.0)


def session(emu: MftEmulator, **options: Any) -> mft.Session:
    """A password session on the emulator (no rate limit, retries without pauses)."""
    options.setdefault("rate_limit", None)
    options.setdefault("retry_policy", FAST_RETRIES)
    return mft.Session(emu.username, emu.password, base_url=emu.base_url, **options)


def sha256(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
