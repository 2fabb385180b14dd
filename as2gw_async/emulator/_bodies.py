"""Attachment bodies: plain bytes, or large deterministic content generated on the fly.

A :class:`GeneratedBody` is never materialised by the emulator's HTTP layer: it is produced
chunk by chunk while streaming, so a 1 GB attachment costs a megabyte of memory.
"""

from __future__ import annotations

import hashlib
import random
import threading
import zlib
from collections.abc import Iterator

__all__ = ["Body", "GeneratedBody", "body_crc32", "body_sha256", "body_size", "iter_body"]

_PAGE = 1 << 20  # content is built from 1 MiB pages, each a rotation of one random block
_CHUNK = 1 << 18  # default streaming chunk size


class GeneratedBody:
    """Deterministic pseudo-random content of a given size, generated in chunks on demand.

    The same ``(size, seed)`` always yields the same bytes. Pages of 1 MiB are rotations of a
    seeded random block by a per-page offset, so content does not repeat page to page (a client
    that reorders or drops chunks produces a different digest) yet costs only a memcpy to make.

    Example::

        big = GeneratedBody(size=1 << 30, seed=1)
        gateway.deliver(attachments=[("big.bin", big)])
        big.sha256()   # hex digest, computed once (streaming) and cached
    """

    def __init__(self, size: int, seed: int = 0, *, chunk_size: int = _CHUNK) -> None:
        if size < 0:
            raise ValueError("size must be >= 0")
        if chunk_size <= 0:
            raise ValueError("chunk_size must be > 0")
        self.size = size
        self.seed = seed
        self.chunk_size = chunk_size
        self._block: bytes | None = None
        self._sha256: str | None = None
        self._crc32: int | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"GeneratedBody(size={self.size}, seed={self.seed})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GeneratedBody):
            return NotImplemented
        return (self.size, self.seed) == (other.size, other.seed)

    def __hash__(self) -> int:
        return hash((GeneratedBody, self.size, self.seed))

    def _get_block(self) -> bytes:
        if self._block is None:
            self._block = random.Random(self.seed).randbytes(_PAGE)
        return self._block

    def _page(self, index: int) -> bytes:
        block = self._get_block()
        offset = (index * 2654435761 + self.seed * 40503) % _PAGE
        return block[offset:] + block[:offset]

    def iter_chunks(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Yield the bytes ``[start, end)`` in chunks of at most ``chunk_size`` bytes."""
        stop = self.size if end is None else min(end, self.size)
        pos = max(0, start)
        while pos < stop:
            page_index, in_page = divmod(pos, _PAGE)
            page = self._page(page_index)
            page_stop = min(_PAGE, in_page + (stop - pos))
            view = memoryview(page)
            while in_page < page_stop:
                n = min(self.chunk_size, page_stop - in_page)
                yield bytes(view[in_page : in_page + n])
                in_page += n
                pos += n

    def read(self) -> bytes:
        """Materialise the whole body (only sensible for small sizes, e.g. in assertions)."""
        return b"".join(self.iter_chunks())

    def sha256(self) -> str:
        """Hex SHA-256 of the content; computed by streaming once, then cached."""
        with self._lock:
            if self._sha256 is None:
                h = hashlib.sha256()
                for chunk in self.iter_chunks():
                    h.update(chunk)
                self._sha256 = h.hexdigest()
            return self._sha256

    def crc32(self) -> int:
        """CRC-32 of the content (needed for zip entries); computed once, then cached."""
        with self._lock:
            if self._crc32 is None:
                crc = 0
                for chunk in self.iter_chunks():
                    crc = zlib.crc32(chunk, crc)
                self._crc32 = crc
            return self._crc32

    @property
    def digests_ready(self) -> bool:
        """True once the CRC-32 is cached (computing it costs a pass over the content)."""
        return self._crc32 is not None


Body = bytes | GeneratedBody


def body_size(body: Body) -> int:
    """Size in bytes of an attachment body."""
    return body.size if isinstance(body, GeneratedBody) else len(body)


def iter_body(body: Body, chunk_size: int = _CHUNK) -> Iterator[bytes]:
    """Yield an attachment body in chunks (a generated body is produced lazily)."""
    if isinstance(body, GeneratedBody):
        yield from body.iter_chunks()
        return
    view = memoryview(body)
    for i in range(0, len(body), chunk_size):
        yield bytes(view[i : i + chunk_size])


def body_sha256(body: Body) -> str:
    """Hex SHA-256 of an attachment body."""
    if isinstance(body, GeneratedBody):
        return body.sha256()
    return hashlib.sha256(body).hexdigest()


def body_crc32(body: Body) -> int:
    """CRC-32 of an attachment body."""
    if isinstance(body, GeneratedBody):
        return body.crc32()
    return zlib.crc32(body)
