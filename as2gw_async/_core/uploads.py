"""Request bodies made of files: checked, measured and streamed from disk (any gateway).

`prepare_uploads` turns what a caller passes to a send (paths and `Upload` objects) into
`UploadPart` objects whose size is known and whose ``chunks()`` reads the file afresh each
time, so a request can be sent again (after a 307 or a 401) without holding a file in
memory. An `Upload` of an async iterable is spooled to a scratch file first, stopping as
soon as it breaks a limit. `multipart_body` builds a re-openable ``multipart/form-data``
body of known length. The limits are the gateway's (`UploadLimits`; None: none documented).
"""

from __future__ import annotations

import errno
import mimetypes
import os
import secrets
import stat
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TypeAlias, Union

import anyio
import anyio.to_thread
from attrs import define

from ..atomic import create_scratch_file, scratch_directory
from ..errors import AS2GatewayError, LimitExceededError
from ..models import Upload

__all__ = [
    "CHUNK_SIZE",
    "SendFile",
    "UploadLimits",
    "UploadPart",
    "multipart_body",
    "prepare_uploads",
    "raw_name_ok",
    "remove_spooled",
]

#: Files are read from disk this many bytes at a time.
CHUNK_SIZE = 64 * 1024

#: What a send takes as a file: a path, or an `Upload`.
SendFile: TypeAlias = Union[str, "os.PathLike[str]", Upload]

_DEFAULT_CONTENT_TYPE = "application/octet-stream"


@define(frozen=True)
class UploadLimits:
    """A gateway's documented limits on one message's files (None: no limit documented)."""

    max_files: int | None = None
    max_file_size: int | None = None
    max_total_size: int | None = None


@define(frozen=True)
class UploadPart:
    """One file, checked and measured; ``chunks()`` reads it afresh each time it is called."""

    name: str
    content_type: str
    size: int
    chunks: Callable[[], AsyncIterator[bytes]]


@define
class _Pending:
    """A file whose size is known only once an async iterable is spooled to disk."""

    name: str
    content_type: str
    source: AsyncIterable[bytes]


def _mb(n: int) -> str:
    return f"{n:,} bytes ({n / (1024 * 1024):g} MB)"


def _check_name(name: object, what: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"the name of {what} must be a str, not {type(name).__name__}")
    if not name:
        raise ValueError(f"the name of {what} is empty")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ValueError(f"the name of {what} holds a control character: {name!r}")
    return name


def _check_content_type(value: str | None, name: str) -> str:
    if value is None:
        guessed, _ = mimetypes.guess_type(name, strict=False)
        return guessed or _DEFAULT_CONTENT_TYPE
    if not isinstance(value, str):
        raise TypeError(f"content_type of {name!r} must be a str, not {type(value).__name__}")
    if not value or not value.isascii() or not value.isprintable():
        raise ValueError(f"content_type of {name!r} is not a valid MIME type: {value!r}")
    return value


def _inspect_file(path: str) -> int:
    """The size of a regular, readable file; clear OSErrors otherwise (runs in a thread)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "no such file to send", path) from None
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(errno.EISDIR, "a directory cannot be sent; pass its files", path)
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{path!r} is not a regular file and cannot be sent")
    with open(path, "rb"):  # a permission problem shows now, not halfway through a send
        pass
    return info.st_size


async def _file_chunks(path: str, size: int) -> AsyncIterator[bytes]:
    """Exactly ``size`` bytes of ``path``, a chunk at a time; fails if the file changed."""
    async with await anyio.open_file(path, "rb") as f:
        remaining = size
        while remaining:
            chunk = await f.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
        if remaining or await f.read(1):
            raise AS2GatewayError(
                f"{path!r} changed size while it was being sent (it was {size:,} bytes); "
                "the request was aborted before it completed"
            )


async def _bytes_chunks(data: bytes) -> AsyncIterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(view), CHUNK_SIZE):
        yield bytes(view[start : start + CHUNK_SIZE])


async def _path_part(path: str, name: str, content_type: str | None) -> UploadPart:
    size = await anyio.to_thread.run_sync(_inspect_file, path)
    ctype = _check_content_type(content_type, name)
    return UploadPart(name, ctype, size, partial(_file_chunks, path, size))


def _check_limits(parts: Sequence[UploadPart | _Pending], limits: UploadLimits) -> None:
    """Names unique, each known size and their total within the limits."""
    seen: set[str] = set()
    for part in parts:
        wire_name = escape_filename(part.name)
        if wire_name in seen:
            raise LimitExceededError(
                f"the file name {part.name!r} is used twice; each attachment of a message "
                "must have a unique name",
                limit="unique_names",
                file=part.name,
            )
        seen.add(wire_name)
    total = 0
    for part in parts:
        if isinstance(part, _Pending):
            continue
        if limits.max_file_size is not None and part.size > limits.max_file_size:
            raise LimitExceededError(
                f"{part.name!r} is {part.size:,} bytes; the gateway accepts at most "
                f"{_mb(limits.max_file_size)} a file",
                limit="max_file_size",
                file=part.name,
            )
        total += part.size
        if limits.max_total_size is not None and total > limits.max_total_size:
            raise LimitExceededError(
                f"the files add up to more than {_mb(limits.max_total_size)} a message "
                f"({total:,} bytes with {part.name!r})",
                limit="max_total_size",
                file=part.name,
            )


async def _spool(
    pending: _Pending, budget: int | None, spooled: list[str], limits: UploadLimits
) -> UploadPart:
    """Copy an async iterable to a scratch file, stopping as soon as it breaks a limit.

    ``budget`` is what the total limit still allows after the other files (None: no limit).
    """
    caps = [c for c in (limits.max_file_size, budget) if c is not None]
    cap = min(caps) if caps else None
    per_file = cap is not None and cap == limits.max_file_size

    def create() -> tuple[int, str]:
        fd, path = create_scratch_file(scratch_directory(), "send-spool")
        spooled.append(str(path))  # in the thread: removed even if the caller is cancelled
        return fd, str(path)

    fd, tmp = await anyio.to_thread.run_sync(create)
    size = 0
    source = pending.source
    try:
        async with await anyio.open_file(fd, "wb") as out:
            async for chunk in source:
                if not isinstance(chunk, (bytes, bytearray, memoryview)):
                    raise TypeError(
                        f"the content of {pending.name!r} yielded a "
                        f"{type(chunk).__name__}; it must yield bytes"
                    )
                size += len(chunk)
                if cap is not None and size > cap:
                    raise _spool_limit_error(pending.name, limits, per_file=per_file)
                await out.write(chunk)
    except BaseException:
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            with anyio.CancelScope(shield=True):
                await aclose()
        raise
    return UploadPart(pending.name, pending.content_type, size, partial(_file_chunks, tmp, size))


def _spool_limit_error(name: str, limits: UploadLimits, *, per_file: bool) -> LimitExceededError:
    if per_file:
        return LimitExceededError(
            f"{name!r} is more than {_mb(limits.max_file_size or 0)}; the gateway accepts at "
            "most that much a file",
            limit="max_file_size",
            file=name,
        )
    return LimitExceededError(
        f"with {name!r} the files add up to more than {_mb(limits.max_total_size or 0)} a message",
        limit="max_total_size",
        file=name,
    )


def _label(item: object, index: int) -> str:
    if isinstance(item, Upload):
        return item.name or f"file #{index + 1}"
    return str(os.fspath(item)) if isinstance(item, (str, os.PathLike)) else "?"


async def prepare_uploads(
    files: Sequence[SendFile], spooled: list[str], limits: UploadLimits
) -> list[UploadPart]:
    """Check and measure every file; spool async iterables (their scratch paths are added
    to ``spooled``: remove them with `remove_spooled`). No byte is sent here."""
    if not files:
        raise ValueError("send() needs at least one file")
    if limits.max_files is not None and len(files) > limits.max_files:
        label = _label(files[limits.max_files], limits.max_files)
        raise LimitExceededError(
            f"{len(files)} files given; the gateway accepts at most {limits.max_files} a "
            f"message (the first one too many: {label!r})",
            limit="max_files",
            file=label,
        )
    parts: list[UploadPart | _Pending] = []
    for index, item in enumerate(files):
        if isinstance(item, Upload):
            content = item.content
            if isinstance(content, (str, os.PathLike)):
                path = os.fspath(content)
                name = _check_name(item.name or Path(path).name, f"file #{index + 1}")
                parts.append(await _path_part(path, name, item.content_type))
                continue
            if item.name is None:
                raise ValueError(
                    f"Upload #{index + 1} holds bytes or a stream and so needs a name: "
                    "Upload(content, name='invoice.xml')"
                )
            name = _check_name(item.name, f"Upload #{index + 1}")
            ctype = _check_content_type(item.content_type, name)
            if isinstance(content, (bytes, bytearray, memoryview)):
                data = bytes(content)
                parts.append(UploadPart(name, ctype, len(data), partial(_bytes_chunks, data)))
            elif isinstance(content, AsyncIterable):
                parts.append(_Pending(name, ctype, content))
            else:
                raise TypeError(
                    f"Upload #{index + 1} content must be bytes, a path or an async iterable "
                    f"of bytes, not {type(content).__name__}"
                )
        elif isinstance(item, (str, os.PathLike)):
            path = os.fspath(item)
            name = _check_name(Path(path).name, f"file {path!r}")
            parts.append(await _path_part(path, name, None))
        else:
            hint = " (wrap bytes in Upload(data, name=...))" if isinstance(item, bytes) else ""
            raise TypeError(
                f"each file must be a path or an Upload, not {type(item).__name__}{hint}"
            )
    _check_limits(parts, limits)
    known = sum(p.size for p in parts if isinstance(p, UploadPart))
    ready: list[UploadPart] = []
    for part in parts:
        if isinstance(part, _Pending):
            budget = None if limits.max_total_size is None else limits.max_total_size - known
            spooled_part = await _spool(part, budget, spooled, limits)
            known += spooled_part.size
            ready.append(spooled_part)
        else:
            ready.append(part)
    return ready


async def remove_spooled(spooled: list[str]) -> None:
    """Remove the scratch files `prepare_uploads` spooled to, even when cancelled."""
    with anyio.CancelScope(shield=True):
        for tmp in spooled:
            await anyio.Path(tmp).unlink(missing_ok=True)


def escape_filename(name: str) -> str:
    """A ``filename`` parameter value made safe as RFC 7578 / HTML 5 do it."""
    return name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def raw_name_ok(name: str) -> bool:
    """Whether a name can travel as it is in an HTTP header (a raw body's file name)."""
    return name.isascii() and name.isprintable() and name == name.strip()


def multipart_body(
    parts: Sequence[UploadPart], field: str = "file"
) -> tuple[Callable[[], AsyncIterator[bytes]], str, int]:
    """A re-openable multipart body (one part named ``field`` a file), its Content-Type and
    its exact length."""
    boundary = f"as2gw-{secrets.token_hex(16)}"
    heads = [
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; '
            f'filename="{escape_filename(p.name)}"\r\n'
            f"Content-Type: {p.content_type}\r\n\r\n"
        ).encode()
        for p in parts
    ]
    tail = f"--{boundary}--\r\n".encode()
    length = sum(len(h) + p.size + 2 for h, p in zip(heads, parts, strict=True)) + len(tail)

    async def body() -> AsyncIterator[bytes]:
        for head, part in zip(heads, parts, strict=True):
            yield head
            async for chunk in part.chunks():
                yield chunk
            yield b"\r\n"
        yield tail

    return body, f"multipart/form-data; boundary={boundary}", length
