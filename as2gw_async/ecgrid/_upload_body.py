"""The upload's JSON body, built as a stream: the file is base64-encoded in chunks.

``{"fileName": ..., "bytes": n, <routing ids>, "content": "<base64>"}`` with ``content``
last, so the prefix and suffix are small and the file passes through in 3-byte-aligned
chunks (each encodes to whole base64 quads, so the pieces join into one valid string).
`UploadBody` is a `BodyFactory`: calling it opens the file afresh, so the core can send it
again (after a 429 refusal or an https upgrade). Its exact length is known in advance.
"""

from __future__ import annotations

import binascii
import json
import os
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import anyio

__all__ = ["CHUNK", "UploadBody"]

#: Bytes of the file read at a time: a multiple of 3 (768 KiB -> 1 MiB of base64).
CHUNK = 3 * 256 * 1024


class UploadBody:
    """A reopenable, streamed JSON upload body for one file; ``len(body)`` is exact."""

    def __init__(self, path: str | os.PathLike[str], fields: Mapping[str, Any]) -> None:
        self.path = Path(path)
        self.size = self.path.stat().st_size
        head = json.dumps({**fields, "bytes": self.size}, separators=(",", ":"))
        self._prefix = (head[:-1] + ',"content":"').encode()
        self._suffix = b'"}'
        self.length = len(self._prefix) + 4 * ((self.size + 2) // 3) + len(self._suffix)

    def __len__(self) -> int:
        return self.length

    def __call__(self) -> AsyncIterator[bytes]:
        return self._stream()

    async def _stream(self) -> AsyncIterator[bytes]:
        yield self._prefix
        sent = 0
        async with await anyio.open_file(self.path, "rb") as f:
            while True:
                chunk = await f.read(CHUNK)
                if not chunk:
                    break
                sent += len(chunk)
                yield binascii.b2a_base64(chunk, newline=False)
        if sent != self.size:
            raise OSError(f"{self.path} changed size while it was uploaded ({sent} != {self.size})")
        yield self._suffix
