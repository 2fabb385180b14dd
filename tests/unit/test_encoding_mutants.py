"""Tests that kill the surviving mutants of `as2gw_async/_core/encoding.py` (see
docs/mutation.md).

Each test names the mutants it kills, so nobody deletes it as redundant. A response is built
over a body given in chunks (as a network would deliver it), `install_checked_decoder` is
called on it, and the body is read. httpx here decodes only gzip and deflate itself; the
other encodings' stage (`_OtherStage`, for ``br`` and ``zstd`` when installed) is run on a
decoder registered for the test.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable

import httpx
import pytest
from httpx._decoders import SUPPORTED_DECODERS

from as2gw_async._core import encoding
from as2gw_async._core.encoding import (
    DEFAULT_MAX_DECODED_SIZE,
    _OtherStage,
    _ZlibStage,
    install_checked_decoder,
)
from as2gw_async.errors import BodyTooLargeError, ContentEncodingError

DATA = b"ISA*00*" + bytes(range(256)) * 40  # 10247 bytes


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def _pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def _response(chunks: Iterable[bytes], content_encoding: str | list[str]) -> httpx.Response:
    values = [content_encoding] if isinstance(content_encoding, str) else content_encoding
    headers = [("Content-Encoding", value) for value in values]
    return httpx.Response(200, headers=headers, content=iter(list(chunks)))


def _read(
    chunks: Iterable[bytes], content_encoding: str | list[str], *, limit: int | None = None
) -> bytes:
    response = _response(chunks, content_encoding)
    install_checked_decoder(response, limit=limit)
    return response.read()


# --------------------------------------------------------------------------------------------
# gzip and deflate
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gzip", "x-gzip", "GZip", " x-gzip "])
def test_gzip_and_x_gzip_are_decoded(name: str) -> None:
    # kills: "x-gzip" in install_checked_decoder's and _ZlibStage's tuples, "gzip" in
    # either, `value.strip().lower()` (strip or lower dropped), the gzip wbits
    # `zlib.MAX_WBITS | 16`
    assert _read(_pieces(gzip.compress(DATA), 100), name) == DATA


@pytest.mark.parametrize("size", [1, 3, 100, 100_000])
def test_a_zlib_wrapped_deflate_body_in_chunks_of_any_size(size: int) -> None:
    # kills: `not self._started and data` -> `or` (a later chunk taken for a new start),
    # `self._started = True` -> False / None, the deflate wbits, the header probe's `[:2]`
    assert _read(_pieces(zlib.compress(DATA), size), "deflate") == DATA


@pytest.mark.parametrize("size", [2, 7, 100_000])
def test_a_raw_deflate_body_is_recognised(size: int) -> None:
    # kills: `self._wbits = -zlib.MAX_WBITS` -> `+` / dropped, the fresh decompressobj
    # after the probe, `if not self._gzip` around the probe -> `if self._gzip`
    assert _read(_pieces(_raw_deflate(DATA), size), "deflate") == DATA


def _raw_deflate_like_zlib(payload: bytes) -> bytes:
    """A valid raw deflate body whose first two bytes also read as a zlib header.

    The first block is stored (``0x08``: not final, type 0) with a length whose low byte
    (``0x1d``) makes ``08 1d`` a valid zlib header (CM 8, ``0x081d`` divisible by 31), and
    whose high byte (``0x06``) read as a deflate block header has the invalid type 3.
    """
    assert len(payload) == 0x061D
    return (
        bytes([0x08])
        + (0x061D).to_bytes(2, "little")
        + (0xFFFF ^ 0x061D).to_bytes(2, "little")
        + payload
        + _raw_deflate(b"end")
    )


def test_a_raw_deflate_body_that_starts_like_a_zlib_header_is_decoded() -> None:
    # found by the mutant `data[:2]` -> `data[:3]` of the old two-byte probe: such a body
    # (valid, and decoded by httpx) was refused as undecodable, and retried in vain.
    # kills: the fallback to raw deflate on the first chunk, its `self._out = 0` -> 1
    payload = bytes(range(256)) * 6 + b"x" * 29
    body = _raw_deflate_like_zlib(payload)
    assert zlib.decompressobj(zlib.MAX_WBITS).decompress(body[:2]) == b""  # a zlib header
    assert _read([body], "deflate") == payload + b"end"
    assert _read([body], "deflate", limit=len(payload) + 3) == payload + b"end"
    with pytest.raises(BodyTooLargeError):
        _read([body], "deflate", limit=len(payload) + 2)


def test_a_zlib_body_garbled_in_its_first_chunk_is_still_undecodable() -> None:
    # the fallback to raw deflate does not hide an error: the raw reading fails too
    body = bytearray(zlib.compress(DATA))
    body[2:10] = b"\xff" * 8
    with pytest.raises(ContentEncodingError) as caught:
        _read([bytes(body)], "deflate")
    assert caught.value.message.startswith("undecodable deflate body: Error -3 ")


def test_the_probe_starts_at_the_first_chunk_that_holds_data() -> None:
    # kills: `not self._started and data` -> `or` (an empty first chunk would start the
    # stage and skip the probe: a raw deflate body would then be undecodable)
    assert _read([b"", *_pieces(_raw_deflate(DATA), 50)], "deflate") == DATA


def test_a_zlib_body_is_never_switched_to_raw_deflate_halfway() -> None:
    # kills: `not self._started and data` -> `or` (every chunk would be tried as zlib and,
    # on an error, read again as the start of a raw deflate body: a zlib body garbled in
    # its second chunk would decode into a splice of two streams instead of failing)
    stored = zlib.compressobj(0, zlib.DEFLATED, -zlib.MAX_WBITS)
    raw = stored.compress(b"\0" * 10) + stored.flush()
    with pytest.raises(ContentEncodingError) as caught:
        _read([zlib.compress(DATA)[:20], raw], "deflate")
    assert caught.value.message == (
        "undecodable deflate body: Error -3 while decompressing data: invalid distance too far back"
    )


def test_deflate_data_after_the_end_is_an_error() -> None:
    # kills: `if not self._gzip: raise ...` -> `if self._gzip`, and its message
    body = zlib.compress(DATA) + b"trailing"
    with pytest.raises(ContentEncodingError) as caught:
        _read([body], "deflate")
    assert caught.value.message == "deflate body has data after its end"
    assert caught.value.retryable


def test_several_gzip_members_are_one_body() -> None:
    # kills: the next member's `zlib.decompressobj(self._wbits)` dropped (eof forever) and
    # `data = self._d.unconsumed_tail or self._d.unused_data` -> `and`
    body = gzip.compress(b"first,") + gzip.compress(b"second,") + gzip.compress(DATA)
    assert _read(_pieces(body, 4096), "gzip") == b"first,second," + DATA


def test_a_body_that_inflates_past_one_step_in_one_chunk_is_whole() -> None:
    # kills: `self._d.unconsumed_tail or ...` -> `and` / only unused_data (the rest of
    # the chunk beyond one 1 MiB step would be lost)
    data = bytes(range(256)) * 12_000  # 3 MB, a few KB compressed
    assert _read([gzip.compress(data)], "gzip") == data
    assert _read([zlib.compress(data)], "deflate") == data


def test_at_most_one_step_past_the_limit_is_inflated() -> None:
    # kills: `_STEP = 1 << 20` -> `2 << 20` / `1 << 21` / `1 >> 20` (0: no bound, the
    # whole bomb inflated at once before the limit is checked)
    bomb = gzip.compress(b"\0" * (8 << 20))
    stage = _ZlibStage("gzip", 10)
    with pytest.raises(BodyTooLargeError):
        stage.decode(bomb)
    assert stage._out == 1 << 20


def test_a_body_of_exactly_the_limit_is_read() -> None:
    # kills: `self._out > self._limit` -> `>=`, `self._out = 0` -> 1, `+= len(piece)` -> `=`
    assert _read(_pieces(gzip.compress(DATA), 64), "gzip", limit=len(DATA)) == DATA


def test_one_byte_past_the_limit_is_body_too_large() -> None:
    # kills: `limit is not None and self._out > limit` -> `or`, the message, `-= / +=`
    with pytest.raises(BodyTooLargeError) as caught:
        _read(_pieces(zlib.compress(DATA), 64), "deflate", limit=len(DATA) - 1)
    assert caught.value.message == f"deflate body decodes to more than {len(DATA) - 1} bytes"
    assert not caught.value.retryable


def test_no_limit_reads_a_large_body() -> None:
    # kills: `self._limit is not None and ...` -> `or` (None compared)
    data = b"\0" * (3 << 20)
    assert _read([gzip.compress(data)], "gzip", limit=None) == data
    assert DEFAULT_MAX_DECODED_SIZE == 1 << 30 == 1_073_741_824


@pytest.mark.parametrize(
    ("name", "body"), [("gzip", gzip.compress(DATA)), ("deflate", zlib.compress(DATA))]
)
def test_a_body_cut_short_is_an_error(name: str, body: bytes) -> None:
    # kills: flush's `if not self._d.eof` -> `if self._d.eof`, its message
    with pytest.raises(ContentEncodingError) as caught:
        _read(_pieces(body[: len(body) // 2], 100), name)
    assert caught.value.message == f"{name} body ended before its end marker (cut short)"
    assert caught.value.retryable


def test_an_empty_compressed_body_is_empty() -> None:
    # kills: flush's `if not self._started: return b""` -> `if self._started` / b"XXXX"
    assert _read([], "gzip") == b""
    assert _read([b""], "deflate") == b""


def test_an_undecodable_body_names_its_encoding() -> None:
    # kills: `except zlib.error` message (`undecodable {encoding} body: ...`)
    body = bytearray(gzip.compress(DATA))
    body[12:20] = b"\xff" * 8  # the deflate data after the 10-byte header, garbled
    with pytest.raises(ContentEncodingError) as caught:
        _read([bytes(body)], "gzip")
    assert caught.value.message.startswith("undecodable gzip body: Error -3 ")
    assert caught.value.__cause__ is None


# --------------------------------------------------------------------------------------------
# other encodings, through a registered decoder
# --------------------------------------------------------------------------------------------


class _Reversing:
    """A stand-in for br or zstd: the body reversed, emitted at ``flush`` (as zstd may)."""

    def __init__(self) -> None:
        self._held = b""

    def decode(self, data: bytes) -> bytes:
        if data == b"BAD":
            raise httpx.DecodingError("boom")
        self._held += data
        return b""

    def flush(self) -> bytes:
        if self._held == b"CUT":
            raise httpx.DecodingError("cut")
        held, self._held = self._held, b""
        return held[::-1]


@pytest.fixture
def reversing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SUPPORTED_DECODERS, "rev", _Reversing)  # type: ignore[arg-type]


@pytest.mark.usefixtures("reversing")
def test_another_encoding_is_decoded_by_its_decoder() -> None:
    # kills: `elif encoding in SUPPORTED_DECODERS and ...` -> `or` / `not in`, _OtherStage's
    # flush (its data dropped)
    assert _read([b"fed", b"cba"], "rev") == b"abcdef"


@pytest.mark.usefixtures("reversing")
def test_a_later_stage_decodes_what_an_earlier_stage_flushes() -> None:
    # kills: _CheckedDecoder.flush's `stage.decode(data) + stage.flush() if data else ...`
    # (`if not data`, `decode` or `flush` of the later stage dropped), and the stages'
    # order (`reversed(encodings)`): the body was gzipped, then reversed
    body = gzip.compress(DATA)[::-1]
    assert _read(_pieces(body, 100), "gzip, rev") == DATA
    assert _read(_pieces(body, 100), ["gzip", "rev"]) == DATA


class _ZstdLike:
    """Like httpx's zstd decoder: any ``decode`` call, even of no bytes, means data was
    seen, and ``flush`` then wants a whole frame."""

    def __init__(self) -> None:
        self._seen = False

    def decode(self, data: bytes) -> bytes:
        self._seen = True
        return data

    def flush(self) -> bytes:
        if self._seen:
            raise httpx.DecodingError("Zstandard data is incomplete")
        return b""


def test_an_empty_body_is_not_fed_to_a_stage_as_no_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    # kills: _CheckedDecoder.flush's `... if data else stage.flush()` -> `if data or True`
    # (an empty zstd body, accepted by httpx, would fail as incomplete)
    monkeypatch.setitem(SUPPORTED_DECODERS, "zstd-like", _ZstdLike)  # type: ignore[arg-type]
    assert _read([], "zstd-like") == b""


@pytest.mark.usefixtures("reversing")
def test_another_encodings_size_is_capped_too() -> None:
    # kills: _OtherStage._count's `>` -> `>=`, `limit is not None and` -> `or`, the message,
    # `self._out = 0` -> 1, the count of flush's data
    assert _read([b"4321"], "rev", limit=4) == b"1234"
    assert _read([b"4321"], "rev", limit=None) == b"1234"
    with pytest.raises(BodyTooLargeError) as caught:
        _read([b"54321"], "rev", limit=4)
    assert caught.value.message == "rev body decodes to more than 4 bytes"


def test_other_stage_counts_across_calls() -> None:
    # kills: _OtherStage._count's `+=` -> `=` and `return piece` -> None
    stage = _OtherStage("gzip", 15)  # httpx's own gzip decoder, as br or zstd would be
    compressed = gzip.compress(b"0123456789abcdefghij")
    assert len(stage.decode(compressed[:20])) <= 15
    with pytest.raises(BodyTooLargeError) as caught:
        stage.decode(compressed[20:])
    assert caught.value.message == "gzip body decodes to more than 15 bytes"
    stage = _OtherStage("gzip", None)
    assert stage.decode(compressed) + stage.flush() == b"0123456789abcdefghij"


@pytest.mark.usefixtures("reversing")
def test_another_encodings_errors_are_typed_and_name_it() -> None:
    # kills: _OtherStage._run's message and its `except httpx.DecodingError`
    with pytest.raises(ContentEncodingError) as caught:
        _read([b"BAD"], "rev")
    assert caught.value.message == "undecodable rev body: boom"
    assert caught.value.__cause__ is None
    with pytest.raises(ContentEncodingError) as caught:
        _read([b"CUT"], "rev")
    assert caught.value.message == "undecodable rev body: cut"


# --------------------------------------------------------------------------------------------
# which encodings get a stage
# --------------------------------------------------------------------------------------------


def test_an_identity_body_is_left_alone() -> None:
    # kills: `encoding != "identity"` -> `==` / "XXidentityXX" (identity would be counted
    # against the limit), `if stages:` -> `if not stages`
    response = _response([b"plain text"], "identity")
    install_checked_decoder(response, limit=1)
    assert response.read() == b"plain text"
    response = _response([b"plain text"], "IDENTITY, gzip")
    install_checked_decoder(response, limit=1)
    with pytest.raises(ContentEncodingError):  # gzip is still checked
        response.read()


def test_an_unknown_encoding_is_passed_through_undecoded() -> None:
    # kills: the `elif` turned into `else` (SUPPORTED_DECODERS["compress"]: KeyError)
    assert _read([b"\x1f\x9d data"], "compress", limit=1) == b"\x1f\x9d data"


def test_a_body_without_content_encoding_keeps_httpx_decoder() -> None:
    response = httpx.Response(200, content=iter([b"abc"]))
    install_checked_decoder(response, limit=1)
    assert response.read() == b"abc"


def test_the_module_exports() -> None:
    assert encoding.__all__ == ["DEFAULT_MAX_DECODED_SIZE", "install_checked_decoder"]
