"""The baselines' two ways of writing a file: as a casual script does, and as durably as
as2gw_async does (temporary file, fsync, rename into place, fsync of the directory).

Every file-writing scenario runs its baselines both ways (``params["durable"]``), so a
ratio is quoted against each: without fsync (what most scripts do) and with (equal
durability). Standard library only: it runs inside measured workers.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["output", "write_bytes"]


@contextlib.contextmanager
def output(path: Path, durable: bool) -> Iterator[BinaryIO]:
    """A file to write ``path`` through: plain ``open``, or temp + fsync + rename + dir fsync."""
    if not durable:
        with open(path, "wb") as f:
            yield f
        return
    part = path.with_name(path.name + ".part")
    with open(part, "wb") as f:
        yield f
        f.flush()
        os.fsync(f.fileno())
    os.replace(part, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes(path: Path, data: bytes, durable: bool) -> None:
    """``path.write_bytes(data)``, durably when asked."""
    with output(path, durable) as f:
        f.write(data)
