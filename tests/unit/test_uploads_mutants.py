"""Tests that kill the surviving mutants of `as2gw_async/_core/uploads.py` (see
docs/mutation.md).

Each test names the mutants it kills, so nobody deletes it as redundant. The module's
functions are called directly (no HTTP): `prepare_uploads` on paths, bytes and streams with
the gateway's limits, `multipart_body` read back to the byte, the name rules.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from as2gw_async._core import uploads
from as2gw_async._core.uploads import (
    CHUNK_SIZE,
    UploadLimits,
    UploadPart,
    _bytes_chunks,
    _check_content_type,
    _check_name,
    _label,
    _mb,
    escape_filename,
    multipart_body,
    prepare_uploads,
    raw_name_ok,
    remove_spooled,
)
from as2gw_async.errors import AS2GatewayError, LimitExceededError
from as2gw_async.models import Upload

NO_LIMITS = UploadLimits()


@pytest.fixture(autouse=True)
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Streams are spooled under the test's own directory."""
    directory = tmp_path / "scratch"
    monkeypatch.setenv("AS2GW_SCRATCH_DIR", str(directory))
    return directory


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


async def _read(part: UploadPart) -> list[bytes]:
    return [chunk async for chunk in part.chunks()]


class _Stream:
    """An async iterable of ``chunks``; records how far it was read and whether closed."""

    def __init__(self, *chunks: object) -> None:
        self.chunks = chunks
        self.read = 0
        self.closed = False

    def __aiter__(self) -> AsyncIterator[object]:
        return self._gen()

    async def _gen(self) -> AsyncIterator[object]:
        for chunk in self.chunks:
            self.read += 1
            yield chunk

    async def aclose(self) -> None:
        self.closed = True


async def _collect(part: UploadPart, into: list[bytes]) -> None:
    """Read ``part`` into ``into``, keeping what came before an error."""
    async for chunk in part.chunks():
        into.append(chunk)


def _spooled_files(scratch: Path) -> list[Path]:
    return sorted(p for p in scratch.rglob("*") if p.is_file()) if scratch.exists() else []


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------


def test_mb_shows_bytes_and_megabytes() -> None:
    # kills: _mb's format (`:,`, `1024 * 1024`, `:g`)
    assert _mb(1_572_864) == "1,572,864 bytes (1.5 MB)"
    assert _mb(0) == "0 bytes (0 MB)"


def test_check_name_refuses_a_non_text_or_empty_name() -> None:
    # kills: _check_name's messages and tests
    with pytest.raises(TypeError) as caught:
        _check_name(b"x", "file #1")
    assert str(caught.value) == "the name of file #1 must be a str, not bytes"
    with pytest.raises(ValueError, match="empty") as empty:
        _check_name("", "Upload #2")
    assert str(empty.value) == "the name of Upload #2 is empty"


@pytest.mark.parametrize("bad", ["\x00", "a\x1fb", "tab\t", "x\x7f"])
def test_check_name_refuses_control_characters(bad: str) -> None:
    # kills: `ord(c) < 32` -> `<= 32` / `< 33` / `< 31`, `ord(c) == 127` -> `!=` / 128, `or`
    with pytest.raises(ValueError, match="control character") as caught:
        _check_name(bad, "file #3")
    assert str(caught.value) == f"the name of file #3 holds a control character: {bad!r}"


@pytest.mark.parametrize("good", [" a b ", "~", "\x80", "é.edi", "a\u2028b"])
def test_check_name_accepts_what_is_not_a_control_character(good: str) -> None:
    # kills: the control-character bounds widened (32 or 126 or 128 refused)
    assert _check_name(good, "file #1") == good


def test_check_content_type_guesses_from_the_name() -> None:
    # kills: `guess_type(name, strict=False)` -> strict=True / dropped, `guessed or default`
    # -> `and`, the default "application/octet-stream"
    assert _check_content_type(None, "picture.pict") == "image/pict"
    assert _check_content_type(None, "order.xml") == "application/xml"
    assert _check_content_type(None, "order.edi") == "application/octet-stream"
    assert _check_content_type("application/edi-x12", "order.xml") == "application/edi-x12"


def test_check_content_type_refuses_a_non_text_type() -> None:
    with pytest.raises(TypeError) as caught:
        _check_content_type(b"text/plain", "a.txt")  # type: ignore[arg-type]
    assert str(caught.value) == "content_type of 'a.txt' must be a str, not bytes"


@pytest.mark.parametrize("bad", ["", "text/plaîn", "text/plain\r\nX: y", "text/\x00"])
def test_check_content_type_refuses_what_is_not_a_mime_type(bad: str) -> None:
    # kills: `not value or not isascii() or not isprintable()` -> `and`, the message
    with pytest.raises(ValueError, match="MIME") as caught:
        _check_content_type(bad, "a.txt")
    assert str(caught.value) == f"content_type of 'a.txt' is not a valid MIME type: {bad!r}"


def test_label_names_the_item() -> None:
    # kills: _label's `item.name or f"file #{index + 1}"`, fspath, "?"
    assert _label(Upload(b"x", name="a.edi"), 4) == "a.edi"
    assert _label(Upload(b"x"), 4) == "file #5"
    assert _label("dir/b.edi", 0) == "dir/b.edi"
    assert _label(Path("dir/c.edi"), 0) == "dir/c.edi"
    assert _label(123, 0) == "?"


def test_escape_filename_and_raw_name_ok() -> None:
    # kills: escape_filename's three replacements, raw_name_ok's three tests (`and` -> `or`)
    assert escape_filename('a"b\rc\nd') == "a%22b%0Dc%0Ad"
    assert raw_name_ok("order 1.edi")
    assert not raw_name_ok("ordér.edi")
    assert not raw_name_ok("a\tb.edi")
    assert not raw_name_ok(" a.edi")
    assert not raw_name_ok("a.edi ")


async def test_bytes_come_in_chunks_of_64_kib() -> None:
    # kills: CHUNK_SIZE, _bytes_chunks' range step and slice
    data = bytes(range(256)) * 600  # 153,600 bytes
    chunks = [c async for c in _bytes_chunks(data)]
    assert [len(c) for c in chunks] == [65536, 65536, 22528]
    assert b"".join(chunks) == data
    assert CHUNK_SIZE == 65536
    assert [c async for c in _bytes_chunks(b"")] == []


# --------------------------------------------------------------------------------------------
# files on disk
# --------------------------------------------------------------------------------------------


async def test_a_path_is_measured_typed_and_read_in_chunks(tmp_path: Path) -> None:
    # kills: _inspect_file's `st_size`, _path_part's content type (None: guessed), the
    # chunk size `min(CHUNK_SIZE, remaining)` -> `max`, `remaining -= len(chunk)` -> `+=`
    data = os.urandom(150_000)
    path = _file(tmp_path, "order.xml", data)
    [part] = await prepare_uploads([str(path)], [], NO_LIMITS)
    assert (part.name, part.content_type, part.size) == ("order.xml", "application/xml", 150_000)
    chunks = await _read(part)
    assert [len(c) for c in chunks] == [65536, 65536, 18928]
    assert b"".join(chunks) == data
    assert b"".join(await _read(part)) == data  # read afresh each time


async def test_an_empty_file_is_an_empty_part(tmp_path: Path) -> None:
    # kills: `while remaining` / `if remaining or await f.read(1)` on an empty file
    path = _file(tmp_path, "empty.txt", b"")
    [part] = await prepare_uploads([path], [], NO_LIMITS)
    assert part.size == 0
    assert await _read(part) == []


async def test_a_file_that_grew_is_refused_after_its_size(tmp_path: Path) -> None:
    # kills: `remaining or await f.read(1)` -> `and` / read(2) / dropped, the message
    path = _file(tmp_path, "grows.txt", b"0123456789")
    [part] = await prepare_uploads([path], [], NO_LIMITS)
    path.write_bytes(b"0123456789+")
    got: list[bytes] = []
    with pytest.raises(AS2GatewayError) as caught:
        await _collect(part, got)
    assert got == [b"0123456789"]
    assert caught.value.message == (
        f"{str(path)!r} changed size while it was being sent (it was 10 bytes); "
        "the request was aborted before it completed"
    )


async def test_a_file_that_shrank_is_refused(tmp_path: Path) -> None:
    # kills: `if not chunk: break` -> `continue` (a loop forever) / dropped, `remaining or`
    path = _file(tmp_path, "shrinks.txt", b"0" * 70_000)
    [part] = await prepare_uploads([path], [], NO_LIMITS)
    path.write_bytes(b"0" * 100)
    with pytest.raises(AS2GatewayError, match="changed size") as caught:
        await _read(part)
    assert "(it was 70,000 bytes)" in caught.value.message


async def test_a_missing_file_a_directory_and_a_fifo(tmp_path: Path) -> None:
    # kills: _inspect_file's errno, strerror and filename of each error, S_ISDIR / S_ISREG
    missing = str(tmp_path / "nope.edi")
    with pytest.raises(FileNotFoundError) as caught:
        await prepare_uploads([missing], [], NO_LIMITS)
    assert (caught.value.errno, caught.value.strerror, caught.value.filename) == (
        errno.ENOENT,
        "no such file to send",
        missing,
    )
    assert caught.value.__suppress_context__
    with pytest.raises(IsADirectoryError) as is_dir:
        await prepare_uploads([tmp_path], [], NO_LIMITS)
    assert (is_dir.value.errno, is_dir.value.strerror, is_dir.value.filename) == (
        errno.EISDIR,
        "a directory cannot be sent; pass its files",
        str(tmp_path),
    )
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="regular") as not_regular:
        await prepare_uploads([fifo], [], NO_LIMITS)
    assert str(not_regular.value) == f"{str(fifo)!r} is not a regular file and cannot be sent"


# --------------------------------------------------------------------------------------------
# prepare_uploads: what it takes
# --------------------------------------------------------------------------------------------


async def test_no_files_is_refused() -> None:
    # kills: `if not files` and its message
    with pytest.raises(ValueError, match="at least one") as caught:
        await prepare_uploads([], [], NO_LIMITS)
    assert str(caught.value) == "send() needs at least one file"


async def test_an_upload_of_a_path_takes_its_name_and_type(tmp_path: Path) -> None:
    # kills: `item.name or Path(path).name`, the what of the name check (f"file #{index+1}"),
    # `item.content_type` passed on
    path = _file(tmp_path, "a.xml", b"<a/>")
    parts = await prepare_uploads(
        [
            Upload(path),
            Upload(str(path), name="b.edi"),
            Upload(path, name="c.bin", content_type="text/x-c"),
        ],
        [],
        NO_LIMITS,
    )
    assert [(p.name, p.content_type, p.size) for p in parts] == [
        ("a.xml", "application/xml", 4),
        ("b.edi", "application/octet-stream", 4),
        ("c.bin", "text/x-c", 4),
    ]
    with pytest.raises(ValueError, match="control") as caught:
        await prepare_uploads([Upload(b"1", name="x"), Upload(path, name="b\n")], [], NO_LIMITS)
    assert str(caught.value) == "the name of file #2 holds a control character: 'b\\n'"


async def test_bytes_need_a_name(tmp_path: Path) -> None:
    # kills: `if item.name is None` -> `is not None`, its message, the what of the check
    with pytest.raises(ValueError, match="needs a name") as caught:
        await prepare_uploads([Upload(b"1", name="a"), Upload(b"data")], [], NO_LIMITS)
    assert str(caught.value) == (
        "Upload #2 holds bytes or a stream and so needs a name: Upload(content, name='invoice.xml')"
    )
    with pytest.raises(ValueError, match="empty") as empty:
        await prepare_uploads([Upload(b"1", name="a"), Upload(b"data", name="")], [], NO_LIMITS)
    assert str(empty.value) == "the name of Upload #2 is empty"


@pytest.mark.parametrize("content", [b"ab\x00c", bytearray(b"ab\x00c"), memoryview(b"ab\x00c")])
async def test_bytes_bytearray_and_memoryview_are_sent_as_bytes(content: object) -> None:
    # kills: the bytes-like tuple narrowed, `bytes(content)`, `len(data)`, the content type
    [part] = await prepare_uploads([Upload(content, name="a.txt")], [], NO_LIMITS)  # type: ignore[arg-type]
    assert (part.name, part.content_type, part.size) == ("a.txt", "text/plain", 4)
    assert await _read(part) == [b"ab\x00c"]


async def test_an_upload_of_something_else_is_a_type_error() -> None:
    # kills: the TypeError's message (index, type name)
    with pytest.raises(TypeError) as caught:
        await prepare_uploads(
            [Upload(b"1", name="a"), Upload(42, name="b")],  # type: ignore[arg-type]
            [],
            NO_LIMITS,
        )
    assert str(caught.value) == (
        "Upload #2 content must be bytes, a path or an async iterable of bytes, not int"
    )


async def test_a_bare_item_that_is_not_a_path_is_a_type_error() -> None:
    # kills: the hint `if isinstance(item, bytes)` and the message
    with pytest.raises(TypeError) as caught:
        await prepare_uploads([b"data"], [], NO_LIMITS)  # type: ignore[list-item]
    assert str(caught.value) == (
        "each file must be a path or an Upload, not bytes (wrap bytes in Upload(data, name=...))"
    )
    with pytest.raises(TypeError) as other:
        await prepare_uploads([3.5], [], NO_LIMITS)  # type: ignore[list-item]
    assert str(other.value) == "each file must be a path or an Upload, not float"


async def test_a_path_whose_name_is_not_allowed(tmp_path: Path) -> None:
    # kills: the what of a bare path's name check (f"file {path!r}")
    path = _file(tmp_path, "a\x01b", b"x")
    with pytest.raises(ValueError, match="control") as caught:
        await prepare_uploads([path], [], NO_LIMITS)
    assert str(caught.value) == (
        f"the name of file {str(path)!r} holds a control character: 'a\\x01b'"
    )


# --------------------------------------------------------------------------------------------
# prepare_uploads: limits
# --------------------------------------------------------------------------------------------


async def test_max_files_names_the_first_file_too_many() -> None:
    # kills: `len(files) > limits.max_files` -> `>=`, `is not None` -> `is None`, the label's
    # index, the message, limit= and file=
    files = [Upload(b"1", name="a"), Upload(b"2", name="b"), Upload(b"3", name="c")]
    assert len(await prepare_uploads(files[:2], [], UploadLimits(max_files=2))) == 2
    with pytest.raises(LimitExceededError) as caught:
        await prepare_uploads(files, [], UploadLimits(max_files=2))
    assert caught.value.message == (
        "3 files given; the gateway accepts at most 2 a message (the first one too many: 'c')"
    )
    assert (caught.value.limit, caught.value.file) == ("max_files", "c")


async def test_max_files_labels_an_unnamed_upload_by_its_position() -> None:
    # kills: `_label(files[limits.max_files], limits.max_files)` -> index None
    files = [Upload(b"1", name="a"), Upload(b"2")]
    with pytest.raises(LimitExceededError) as caught:
        await prepare_uploads(files, [], UploadLimits(max_files=1))
    assert caught.value.file == "file #2"
    assert caught.value.message.endswith("(the first one too many: 'file #2')")


async def test_names_must_be_unique_as_they_go_on_the_wire() -> None:
    # kills: _check_limits' `escape_filename(part.name)` (names that differ only before
    # escaping), `wire_name in seen`, `seen.add`, the message, limit= and file=
    files = [Upload(b"1", name='a"b'), Upload(b"2", name="x"), Upload(b"3", name="a%22b")]
    with pytest.raises(LimitExceededError) as caught:
        await prepare_uploads(files, [], NO_LIMITS)
    assert caught.value.message == (
        "the file name 'a%22b' is used twice; each attachment of a message must have a unique name"
    )
    assert (caught.value.limit, caught.value.file) == ("unique_names", "a%22b")
    # names are not unique by their case only
    parts = await prepare_uploads([Upload(b"1", name="A"), Upload(b"2", name="a")], [], NO_LIMITS)
    assert [p.name for p in parts] == ["A", "a"]


async def test_a_stream_counts_for_unique_names() -> None:
    # kills: the unique-name loop skipping pending parts
    with pytest.raises(LimitExceededError) as caught:
        await prepare_uploads(
            [Upload(_Stream(b"1"), name="s"), Upload(b"2", name="s")], [], NO_LIMITS
        )
    assert caught.value.limit == "unique_names"


async def test_max_file_size_is_a_limit_reached_not_passed() -> None:
    # kills: `part.size > limits.max_file_size` -> `>=`, `is not None` -> `is None`, the
    # message, limit= and file=
    limits = UploadLimits(max_file_size=4)
    [part] = await prepare_uploads([Upload(b"1234", name="a")], [], limits)
    assert part.size == 4
    with pytest.raises(LimitExceededError) as caught:
        await prepare_uploads([Upload(b"1", name="a"), Upload(b"12345", name="b")], [], limits)
    assert caught.value.message == (
        "'b' is 5 bytes; the gateway accepts at most 4 bytes (3.8147e-06 MB) a file"
    )
    assert (caught.value.limit, caught.value.file) == ("max_file_size", "b")


async def test_a_file_after_a_stream_is_checked_before_the_stream_is_read() -> None:
    # kills: _check_limits' `continue` past a stream -> `break` (the files after it unchecked)
    stream = _Stream(b"1")
    limits = UploadLimits(max_file_size=4)
    with pytest.raises(LimitExceededError) as caught:
        await prepare_uploads([Upload(stream, name="s"), Upload(b"12345", name="b")], [], limits)
    assert (caught.value.limit, caught.value.file) == ("max_file_size", "b")
    assert stream.read == 0


async def test_max_total_size_is_a_limit_reached_not_passed() -> None:
    # kills: `total += part.size` -> `=`, `total > max_total_size` -> `>=`, the message,
    # limit= and file=
    limits = UploadLimits(max_total_size=6)
    files = [Upload(b"123", name="a"), Upload(b"456", name="b")]
    assert len(await prepare_uploads(files, [], limits)) == 2
    files.append(Upload(b"7", name="c"))
    with pytest.raises(LimitExceededError) as caught:
        await prepare_uploads(files, [], limits)
    assert caught.value.message == (
        "the files add up to more than 6 bytes (5.72205e-06 MB) a message (7 bytes with 'c')"
    )
    assert (caught.value.limit, caught.value.file) == ("max_total_size", "c")


# --------------------------------------------------------------------------------------------
# prepare_uploads: streams
# --------------------------------------------------------------------------------------------


async def test_a_stream_is_spooled_and_read_back(scratch: Path) -> None:
    # kills: _spool's size (`size += len(chunk)`), the part's name / type / size, the
    # scratch path added to `spooled`, the write of each chunk
    stream = _Stream(b"abc", bytearray(b"de"), memoryview(b"f"))
    spooled: list[str] = []
    [part] = await prepare_uploads([Upload(stream, name="s.txt")], spooled, NO_LIMITS)
    assert (part.name, part.content_type, part.size) == ("s.txt", "text/plain", 6)
    assert await _read(part) == [b"abcdef"]
    [path] = spooled
    assert Path(path).parent == scratch
    assert Path(path).name.startswith(".send-spool.")
    assert _spooled_files(scratch) == [Path(path)]
    await remove_spooled(spooled)
    assert _spooled_files(scratch) == []
    await remove_spooled(spooled)  # already gone: no error (missing_ok)


async def test_remove_spooled_removes_even_when_cancelled(scratch: Path) -> None:
    # kills: remove_spooled's `anyio.CancelScope(shield=True)` -> shield=None / False
    spooled: list[str] = []
    await prepare_uploads([Upload(_Stream(b"a"), name="s1")], spooled, NO_LIMITS)
    await prepare_uploads([Upload(_Stream(b"b"), name="s2")], spooled, NO_LIMITS)
    assert len(_spooled_files(scratch)) == 2
    with anyio.CancelScope() as scope:
        scope.cancel()
        await remove_spooled(spooled)
    assert _spooled_files(scratch) == []


async def test_a_stream_yielding_text_is_refused_and_closed() -> None:
    # kills: the bytes-like tuple of _spool, its message, the `aclose` on an error
    stream = _Stream(b"ok", "text", b"more")
    spooled: list[str] = []
    with pytest.raises(TypeError) as caught:
        await prepare_uploads([Upload(stream, name="s.txt")], spooled, NO_LIMITS)
    assert str(caught.value) == "the content of 's.txt' yielded a str; it must yield bytes"
    assert stream.closed
    assert stream.read == 2
    await remove_spooled(spooled)


async def test_a_stream_without_aclose_is_still_stopped() -> None:
    # kills: `getattr(source, "aclose", None)` / `if aclose is not None` -> `is None`

    class NoClose:
        def __aiter__(self) -> AsyncIterator[bytes]:
            return self

        async def __anext__(self) -> bytes:
            return b"x" * 10

    spooled: list[str] = []
    with pytest.raises(LimitExceededError):
        await prepare_uploads(
            [Upload(NoClose(), name="s")], spooled, UploadLimits(max_file_size=25)
        )
    await remove_spooled(spooled)


async def test_a_cancelled_spool_still_closes_its_stream(scratch: Path) -> None:
    # kills: `anyio.CancelScope(shield=True)` around `aclose` -> shield=None / False (the
    # cancellation would stop `aclose` at its first checkpoint)
    reading = anyio.Event()

    class Blocking:
        closed = False

        def __aiter__(self) -> AsyncIterator[bytes]:
            return self

        async def __anext__(self) -> bytes:
            reading.set()
            await anyio.Event().wait()  # never set: only a cancellation ends it
            raise AssertionError("unreachable")

        async def aclose(self) -> None:
            await anyio.lowlevel.checkpoint()
            Blocking.closed = True

    spooled: list[str] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(prepare_uploads, [Upload(Blocking(), name="s")], spooled, NO_LIMITS)
        await reading.wait()
        tg.cancel_scope.cancel()
    assert Blocking.closed
    await remove_spooled(spooled)
    assert _spooled_files(scratch) == []


async def test_a_stream_stops_at_the_file_size_limit() -> None:
    # kills: `size > cap` -> `>=`, `per_file = cap == max_file_size` -> `!=`, the per-file
    # message, limit= and file=
    limits = UploadLimits(max_file_size=6)
    spooled: list[str] = []
    [part] = await prepare_uploads([Upload(_Stream(b"123", b"456"), name="s")], spooled, limits)
    assert part.size == 6
    stream = _Stream(b"123", b"456", b"7", b"never")
    with pytest.raises(LimitExceededError) as caught:
        await prepare_uploads([Upload(stream, name="t")], spooled, limits)
    assert caught.value.message == (
        "'t' is more than 6 bytes (5.72205e-06 MB); the gateway accepts at most that much a file"
    )
    assert (caught.value.limit, caught.value.file) == ("max_file_size", "t")
    assert stream.read == 3
    assert stream.closed
    await remove_spooled(spooled)


async def test_a_stream_stops_at_what_the_total_still_allows() -> None:
    # kills: the budget `max_total_size - known` -> `+`, `known = sum(...)`, the total
    # message, `per_file` when the budget is the smaller cap, `min(caps)` -> `max`
    limits = UploadLimits(max_file_size=100, max_total_size=10)
    files = [Upload(b"1234", name="a"), Upload(_Stream(b"123", b"456", b"7"), name="s")]
    with pytest.raises(LimitExceededError) as caught:
        await prepare_uploads(files, [], limits)
    assert caught.value.message == (
        "with 's' the files add up to more than 10 bytes (9.53674e-06 MB) a message"
    )
    assert (caught.value.limit, caught.value.file) == ("max_total_size", "s")
    files = [Upload(b"1234", name="a"), Upload(_Stream(b"123", b"456"), name="s")]
    parts = await prepare_uploads(files, [], limits)
    assert [p.size for p in parts] == [4, 6]


async def test_a_second_stream_has_what_the_first_left(tmp_path: Path) -> None:
    # kills: `known += spooled_part.size` -> `=` / `-=`, the order of the ready parts
    path = _file(tmp_path, "p.txt", b"12")
    limits = UploadLimits(max_total_size=8)
    files = [Upload(_Stream(b"123"), name="s1"), path, Upload(_Stream(b"1234"), name="s2")]
    with pytest.raises(LimitExceededError) as caught:
        await prepare_uploads(files, [], limits)
    assert caught.value.file == "s2"
    files = [Upload(_Stream(b"123"), name="s1"), path, Upload(_Stream(b"123"), name="s2")]
    parts = await prepare_uploads(files, [], limits)
    assert [(p.name, p.size) for p in parts] == [("s1", 3), ("p.txt", 2), ("s2", 3)]


async def test_a_stream_with_only_a_total_limit_and_no_limit_at_all() -> None:
    # kills: `caps = [c for c in (...) if c is not None]` -> `is None`, `cap = min(caps) if
    # caps else None`, `cap is not None and size > cap` -> `or`
    big = [b"x" * 1000] * 5
    [part] = await prepare_uploads([Upload(_Stream(*big), name="s")], [], NO_LIMITS)
    assert part.size == 5000
    with pytest.raises(LimitExceededError) as caught:
        await prepare_uploads(
            [Upload(_Stream(*big), name="s")], [], UploadLimits(max_total_size=4999)
        )
    assert caught.value.limit == "max_total_size"
    assert "4,999 bytes" in caught.value.message


async def test_a_stream_equal_to_both_limits_is_a_file_too_large() -> None:
    # kills: `per_file = cap is not None and cap == max_file_size` -> `or`
    limits = UploadLimits(max_file_size=5, max_total_size=5)
    with pytest.raises(LimitExceededError) as caught:
        await prepare_uploads([Upload(_Stream(b"123456"), name="s")], [], limits)
    assert caught.value.limit == "max_file_size"


async def test_a_stream_with_no_file_limit_and_a_total_of_zero_left() -> None:
    # kills: `per_file = cap is not None and ...` -> `cap is None or`; the messages' `or 0`
    limits = UploadLimits(max_total_size=3)
    with pytest.raises(LimitExceededError) as caught:
        await prepare_uploads(
            [Upload(b"123", name="a"), Upload(_Stream(b"x"), name="s")], [], limits
        )
    assert caught.value.message == (
        "with 's' the files add up to more than 3 bytes (2.86102e-06 MB) a message"
    )


async def test_an_empty_stream_is_an_empty_part() -> None:
    # kills: `size = 0` -> 1
    [part] = await prepare_uploads([Upload(_Stream(), name="s")], [], NO_LIMITS)
    assert part.size == 0
    assert await _read(part) == []


# --------------------------------------------------------------------------------------------
# multipart_body
# --------------------------------------------------------------------------------------------


async def test_multipart_body_to_the_byte() -> None:
    # kills: every piece of the heads (boundary, Content-Disposition, field, escaped name,
    # Content-Type, CRLFs), the CRLF after each part, the tail, the length's `+ 2` and
    # `+ len(tail)`, the Content-Type's boundary
    parts = await prepare_uploads(
        [
            Upload(b"first", name='a"b.txt'),
            Upload(b"", name="e.edi", content_type="application/edi-x12"),
        ],
        [],
        NO_LIMITS,
    )
    body, content_type, length = multipart_body(parts)
    match = re.fullmatch(r"multipart/form-data; boundary=(as2gw-[0-9a-f]{32})", content_type)
    assert match
    b = match.group(1)
    expected = (
        f"--{b}\r\n"
        'Content-Disposition: form-data; name="file"; filename="a%22b.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
        "first\r\n"
        f"--{b}\r\n"
        'Content-Disposition: form-data; name="file"; filename="e.edi"\r\n'
        "Content-Type: application/edi-x12\r\n\r\n"
        "\r\n"
        f"--{b}--\r\n"
    ).encode()
    sent = b"".join([chunk async for chunk in body()])
    assert sent == expected
    assert length == len(expected)
    assert b"".join([chunk async for chunk in body()]) == expected  # re-openable


async def test_multipart_body_names_the_field_it_is_given() -> None:
    # kills: the `field` parameter ignored / its default "file"
    parts = await prepare_uploads([Upload(b"x", name="a")], [], NO_LIMITS)
    body, _, length = multipart_body(parts, field="attachment")
    sent = b"".join([chunk async for chunk in body()])
    assert b'Content-Disposition: form-data; name="attachment"; filename="a"\r\n' in sent
    assert length == len(sent)
    _, first, _ = multipart_body(parts)
    _, second, _ = multipart_body(parts)
    assert first != second  # a new random boundary each time


def test_the_module_exports() -> None:
    assert uploads.__all__ == [
        "CHUNK_SIZE",
        "SendFile",
        "UploadLimits",
        "UploadPart",
        "multipart_body",
        "prepare_uploads",
        "raw_name_ok",
        "remove_spooled",
    ]
    assert UploadLimits() == UploadLimits(None, None, None)
