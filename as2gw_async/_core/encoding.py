"""Content-Encoding that is checked, not trusted (gzip/deflate end marker, decoded size cap).

httpx decodes gzip and deflate bodies without noticing that the compressed stream stopped
before its end marker: a body cut short without ``Content-Length`` reads as complete. And
nothing bounds what a small compressed body inflates to. `install_checked_decoder` gives a
response a decoder that raises `ContentEncodingError` (retryable) for a cut-short or
undecodable body and `BodyTooLargeError` (not retried) past ``limit`` decoded bytes,
inflating at most one step past the limit in memory.
"""

from __future__ import annotations

import zlib
from typing import Protocol

import httpx
from httpx._decoders import SUPPORTED_DECODERS

from ..errors import BodyTooLargeError, ContentEncodingError

__all__ = ["DEFAULT_MAX_DECODED_SIZE", "install_checked_decoder"]

DEFAULT_MAX_DECODED_SIZE = 1 << 30
"""Default cap (1 GiB, like the zip extraction cap) on a compressed body's decoded size."""

_STEP = 1 << 20  # inflate at most this much at a time


class _Stage(Protocol):
    def decode(self, data: bytes) -> bytes: ...
    def flush(self) -> bytes: ...


class _ZlibStage:
    """gzip or deflate (zlib-wrapped, or raw as some servers send it), end marker checked."""

    def __init__(self, encoding: str, limit: int | None) -> None:
        self._encoding = encoding
        self._gzip = encoding in ("gzip", "x-gzip")
        self._limit = limit
        self._wbits = zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS
        self._d = zlib.decompressobj(self._wbits)
        self._started = False
        self._out = 0

    def decode(self, data: bytes) -> bytes:
        try:
            if not self._started and data:
                self._started = True
                if not self._gzip:
                    # zlib-wrapped, else raw deflate (both are sent as "deflate"): decided
                    # on the whole first chunk, as httpx does (a raw body's first two bytes
                    # may read as a zlib header)
                    try:
                        return self._inflate(data)
                    except zlib.error:
                        self._wbits = -zlib.MAX_WBITS
                        self._d = zlib.decompressobj(self._wbits)
                        self._out = 0
            return self._inflate(data)
        except zlib.error as exc:
            raise ContentEncodingError(f"undecodable {self._encoding} body: {exc}") from None

    def _inflate(self, data: bytes) -> bytes:
        pieces: list[bytes] = []
        while data:
            if self._d.eof:
                if not self._gzip:
                    raise ContentEncodingError("deflate body has data after its end")
                self._d = zlib.decompressobj(self._wbits)  # the next gzip member
            piece = self._d.decompress(data, _STEP)
            self._count(piece)
            pieces.append(piece)
            data = self._d.unconsumed_tail or self._d.unused_data
        return b"".join(pieces)

    def flush(self) -> bytes:
        if not self._started:
            return b""
        if not self._d.eof:
            raise ContentEncodingError(
                f"{self._encoding} body ended before its end marker (cut short)"
            )
        return b""

    def _count(self, piece: bytes) -> None:
        self._out += len(piece)
        if self._limit is not None and self._out > self._limit:
            raise BodyTooLargeError(
                f"{self._encoding} body decodes to more than {self._limit} bytes"
            )


class _OtherStage:
    """httpx's own decoder (br, zstd), with the decoded size capped."""

    def __init__(self, encoding: str, limit: int | None) -> None:
        self._encoding = encoding
        self._inner = SUPPORTED_DECODERS[encoding]()
        self._limit = limit
        self._out = 0

    def decode(self, data: bytes) -> bytes:
        return self._count(self._run(self._inner.decode, data))

    def flush(self) -> bytes:
        return self._count(self._run(self._inner.flush))

    def _run(self, step: object, *args: bytes) -> bytes:
        try:
            return step(*args)  # type: ignore[operator,no-any-return]
        except httpx.DecodingError as exc:
            raise ContentEncodingError(f"undecodable {self._encoding} body: {exc}") from None

    def _count(self, piece: bytes) -> bytes:
        self._out += len(piece)
        if self._limit is not None and self._out > self._limit:
            raise BodyTooLargeError(
                f"{self._encoding} body decodes to more than {self._limit} bytes"
            )
        return piece


class _CheckedDecoder:
    """The stages for a ``Content-Encoding`` list, applied last-encoding-first."""

    def __init__(self, stages: list[_Stage]) -> None:
        self._stages = stages

    def decode(self, data: bytes) -> bytes:
        for stage in self._stages:
            data = stage.decode(data)
        return data

    def flush(self) -> bytes:
        data = b""
        for stage in self._stages:
            data = stage.decode(data) + stage.flush() if data else stage.flush()
        return data


def install_checked_decoder(response: httpx.Response, *, limit: int | None) -> None:
    """Make ``response`` decode its ``Content-Encoding`` with end and size checks.

    Call before the body is read. Identity bodies are left alone (nothing to decode);
    unknown encodings are passed through undecoded, as httpx does.
    """
    encodings = [
        value.strip().lower()
        for value in response.headers.get_list("content-encoding", split_commas=True)
    ]
    stages: list[_Stage] = []
    for encoding in reversed(encodings):  # the last one applied is undone first
        if encoding in ("gzip", "x-gzip", "deflate"):
            stages.append(_ZlibStage(encoding, limit))
        elif encoding in SUPPORTED_DECODERS and encoding != "identity":
            stages.append(_OtherStage(encoding, limit))
    if stages:
        # httpx builds its decoder lazily into this attribute (Response._get_content_decoder).
        response._decoder = _CheckedDecoder(stages)  # type: ignore[assignment]
