"""Sending messages (spec 4.1) and waiting for their delivery.

`send` checks every documented limit before a byte leaves, then streams the files from
disk in chunks: one file as the raw body of the single-file endpoint, several as a
``multipart/form-data`` body built here (so its length is known up front and it can be
produced again, files re-read, if the request has to be repeated after a 307 or a 401).

`wait_for_delivery` polls the sent, queued and failed folders as the spec advises: a first
look after a few seconds, then less and less often.
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
from typing import TYPE_CHECKING, TypeAlias, Union
from urllib.parse import unquote

import anyio
import anyio.to_thread
import httpx
from attrs import define

from ..atomic import create_scratch_file, scratch_directory
from ..errors import (
    AS2GatewayError,
    DeliveryFailedError,
    DeliveryTimeoutError,
    LimitExceededError,
    NotFoundError,
)
from ..models import AS2Message, Folder, PartnerType, SendReceipt, Upload
from ..session import quote_id
from ._params import check_id, check_text, partner_type_param, with_query

if TYPE_CHECKING:
    from ..session import Session
    from .folders import FolderResource

__all__ = [
    "CHUNK_SIZE",
    "MAX_FILES",
    "MAX_FILE_SIZE",
    "MAX_TOTAL_SIZE",
    "SendFile",
    "send",
    "wait_for_delivery",
]

#: At most this many files a message (spec 4.1.2).
MAX_FILES = 10
#: At most this many bytes a file (spec 4.1.1: "up to 10 MB", read as 10 MiB).
MAX_FILE_SIZE = 10 * 1024 * 1024
#: At most this many bytes of files a message (spec 4.1.2: "a total size of 10 MB").
MAX_TOTAL_SIZE = 10 * 1024 * 1024
#: Files are read from disk this many bytes at a time.
CHUNK_SIZE = 64 * 1024

#: What `send` takes as a file: a path, or an `Upload`.
SendFile: TypeAlias = Union[str, "os.PathLike[str]", Upload]

_DEFAULT_CONTENT_TYPE = "application/octet-stream"
_SENT_MARKER = "/message/sent/"


# -- preparing the files --------------------------------------------------------------


@define(frozen=True)
class _Part:
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


async def _path_part(path: str, name: str, content_type: str | None) -> _Part:
    size = await anyio.to_thread.run_sync(_inspect_file, path)
    ctype = _check_content_type(content_type, name)
    return _Part(name, ctype, size, partial(_file_chunks, path, size))


def _check_limits(parts: Sequence[_Part | _Pending]) -> None:
    """Names unique, each known size and their total within the limits."""
    seen: set[str] = set()
    for part in parts:
        wire_name = _escape_filename(part.name)
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
        if part.size > MAX_FILE_SIZE:
            raise LimitExceededError(
                f"{part.name!r} is {part.size:,} bytes; the gateway accepts at most "
                f"{_mb(MAX_FILE_SIZE)} a file",
                limit="max_file_size",
                file=part.name,
            )
        total += part.size
        if total > MAX_TOTAL_SIZE:
            raise LimitExceededError(
                f"the files add up to more than {_mb(MAX_TOTAL_SIZE)} a message "
                f"({total:,} bytes with {part.name!r})",
                limit="max_total_size",
                file=part.name,
            )


async def _spool(pending: _Pending, budget: int, spooled: list[str]) -> _Part:
    """Copy an async iterable to a temporary file, stopping as soon as it breaks a limit.

    ``budget`` is what the total limit still allows after the other files.
    """
    cap = min(MAX_FILE_SIZE, budget)

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
                if size > cap:
                    raise _spool_limit_error(pending.name, per_file=cap == MAX_FILE_SIZE)
                await out.write(chunk)
    except BaseException:
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            with anyio.CancelScope(shield=True):
                await aclose()
        raise
    return _Part(pending.name, pending.content_type, size, partial(_file_chunks, tmp, size))


def _spool_limit_error(name: str, *, per_file: bool) -> LimitExceededError:
    if per_file:
        return LimitExceededError(
            f"{name!r} is more than {_mb(MAX_FILE_SIZE)}; the gateway accepts at most that "
            "much a file",
            limit="max_file_size",
            file=name,
        )
    return LimitExceededError(
        f"with {name!r} the files add up to more than {_mb(MAX_TOTAL_SIZE)} a message",
        limit="max_total_size",
        file=name,
    )


async def _prepare(files: Sequence[SendFile], spooled: list[str]) -> list[_Part]:
    """Check and measure every file; spool async iterables. No byte is sent here."""
    if not files:
        raise ValueError("send() needs at least one file")
    if len(files) > MAX_FILES:
        extra = files[MAX_FILES]
        if isinstance(extra, Upload):
            label = extra.name or f"file #{MAX_FILES + 1}"
        else:
            label = str(os.fspath(extra)) if isinstance(extra, (str, os.PathLike)) else "?"
        raise LimitExceededError(
            f"{len(files)} files given; the gateway accepts at most {MAX_FILES} a message "
            f"(the first one too many: {label!r})",
            limit="max_files",
            file=label,
        )
    parts: list[_Part | _Pending] = []
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
                parts.append(_Part(name, ctype, len(data), partial(_bytes_chunks, data)))
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
    _check_limits(parts)
    known = sum(p.size for p in parts if isinstance(p, _Part))
    ready: list[_Part] = []
    for part in parts:
        if isinstance(part, _Pending):
            budget = MAX_TOTAL_SIZE - known
            spooled_part = await _spool(part, budget, spooled)
            known += spooled_part.size
            ready.append(spooled_part)
        else:
            ready.append(part)
    return ready


# -- the two body shapes ------------------------------------------------------------------


def _escape_filename(name: str) -> str:
    """A ``filename`` parameter value made safe as RFC 7578 / HTML 5 do it."""
    return name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _raw_name_ok(name: str) -> bool:
    """Whether a name can travel as it is in the raw endpoint's ``Name`` header."""
    return name.isascii() and name.isprintable() and name == name.strip()


def _multipart(parts: Sequence[_Part]) -> tuple[Callable[[], AsyncIterator[bytes]], str, int]:
    """A re-openable multipart body, its Content-Type and its exact length."""
    boundary = f"as2gw-{secrets.token_hex(16)}"
    heads = [
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; '
            f'filename="{_escape_filename(p.name)}"\r\n'
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


# -- send ---------------------------------------------------------------------------------


async def send(
    session: Session,
    station: str,
    partner: str,
    *files: SendFile,
    subject: str | None = None,
    partner_type: PartnerType | str = PartnerType.PRODUCTION,
) -> SendReceipt:
    """Send one file to the raw endpoint or several as multipart; see `Session.send`.

    Every check (count, sizes, unique names, files that exist and are readable) runs
    before the request starts. A file travels in 64 KiB chunks read from disk; an `Upload`
    of an async iterable is spooled to a temporary file first (stopping as soon as it
    passes the limits), so the body can be produced again if the request must be repeated.
    A single file whose name is not plain printable ASCII goes multipart too, since the
    raw endpoint carries the name in an HTTP header.
    """
    check_id("station", station)
    check_id("partner", partner)
    ptype = partner_type_param(partner_type)
    if subject is not None:
        check_text("subject", subject)
    path = with_query(
        f"/message/{quote_id(station)}/{quote_id(partner)}",
        {"partnerType": ptype.query_value, "subject": subject},
    )
    spooled: list[str] = []
    try:
        parts = await _prepare(files, spooled)
        if len(parts) == 1 and _raw_name_ok(parts[0].name):
            part = parts[0]
            headers = {
                "Name": part.name,
                "Content-Type": part.content_type,
                "Content-Length": str(part.size),
            }
            body = part.chunks
        else:
            body, ctype, length = _multipart(parts)
            headers = {"Content-Type": ctype, "Content-Length": str(length)}
        response = await session.request(
            "POST", path, content=body, headers=headers, idempotent=False
        )
    finally:
        with anyio.CancelScope(shield=True):
            for tmp in spooled:
                await anyio.Path(tmp).unlink(missing_ok=True)
    return _receipt(response)


def _response_message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])
    return " ".join(response.text.split())[:200]


def _link_url(header: str) -> str:
    """The URL of a ``Link`` header, written bare (as the gateway does) or as ``<url>; ...``."""
    value = header.strip()
    if value.startswith("<"):
        # RFC 8288 form. The id inside may hold '<' and '>' itself, so the URL ends at the
        # last '>' before the parameters, or at the very end.
        end = value.rfind(">;")
        inner = value[1:end] if end > 0 else value[1:].removesuffix(">")
        if "://" in inner:
            value = inner
    return value.strip()


def message_id_from_link(link: str) -> str | None:
    """The AS2 message id at the end of a send's ``Link`` header, or None.

    The id is everything after ``/message/sent/``, raw (``<1.2@as2gateway.com>``, maybe
    with ``/`` inside) or percent-encoded (``%3C1.2%40as2gateway.com%3E``).

    >>> message_id_from_link("https://api.as2gateway.com/v1/message/sent/<9.41@as2gateway.com>")
    '<9.41@as2gateway.com>'
    """
    url = _link_url(link)
    where = url.find(_SENT_MARKER)
    if where >= 0:
        tail = url[where + len(_SENT_MARKER) :]
    else:
        tail = url.rstrip("/").rsplit("/", 1)[-1] if "://" in url else ""
    if "<" not in tail and ">" not in tail:
        tail = unquote(tail.split("?", 1)[0].split("#", 1)[0])
    return tail.strip() or None


def _receipt(response: httpx.Response) -> SendReceipt:
    message = _response_message(response)
    link = response.headers.get("link")
    what = f"the gateway accepted the message (HTTP {response.status_code}: {message!r})"
    consequence = (
        "so its AS2 message id is unknown. The message WAS submitted: do not send it again; "
        "look for it in the queued or sent folder"
    )
    if not link:
        raise AS2GatewayError(f"{what} but sent no Link header, {consequence}")
    message_id = message_id_from_link(link)
    if message_id is None:
        raise AS2GatewayError(f"{what} but its Link header {link!r} is unreadable, {consequence}")
    return SendReceipt(as2_message_id=message_id, link=_link_url(link), message=message)


# -- wait_for_delivery --------------------------------------------------------------------

#: Polls grow by this factor each time, up to `_MAX_POLL_INTERVAL` (or poll_interval if more).
_BACKOFF = 1.5
_MAX_POLL_INTERVAL = 15.0
#: Rounds in a row that must see "failed, not queued" before the failure is declared.
_FAILURE_CONFIRMATIONS = 2


async def _find(folder: FolderResource, as2_message_id: str) -> AS2Message | None:
    try:
        return await folder.get(as2_message_id)
    except NotFoundError:
        return None


async def _failed_attempts(
    session: Session, as2_message_id: str, latest: AS2Message
) -> tuple[AS2Message, ...]:
    """Every failed-folder record of the message, oldest first (the gateway retries it)."""
    ptype = latest.partner_type if isinstance(latest.partner_type, PartnerType) else None
    try:
        page = await session.failed.list(
            as2_message_id=as2_message_id,
            partner_type=ptype,
            sort_dir="asc",
            page_length=100,
        )
    except NotFoundError:
        return (latest,)
    attempts = tuple(m for m in page.records if m.as2_message_id == as2_message_id)
    return attempts or (latest,)


def _describe(as2_message_id: str, last_seen: str | None, failures: int) -> str:
    if last_seen is None:
        return (
            f"AS2 message {as2_message_id} was never seen in the sent, queued or failed "
            "folder (is the id right?)"
        )
    where = f"AS2 message {as2_message_id} was last seen in the {last_seen} folder"
    if failures:
        where += ", after failed attempts (the gateway retries up to 10 times)"
    return where


async def wait_for_delivery(
    session: Session,
    as2_message_id: str,
    *,
    timeout: float,
    poll_interval: float,
    initial_delay: float | None,
) -> AS2Message:
    """Poll the sent, queued and failed folders until the message settles.

    Each round asks the sent folder first (done), then the queued folder (still pending,
    maybe retrying), then, only if it is not queued, the failed folder: 2 or 3 requests a
    round. A message with failed attempts that is no longer queued has been given up on;
    since a message being retried right now may be missing from the queued folder, that
    must be seen in two rounds in a row before `DeliveryFailedError` is raised. The first
    look is after ``initial_delay`` (default: ``2.5 * poll_interval``, at most 5 s, as the
    spec advises), later ones further and further apart, up to 15 s (or ``poll_interval``
    when larger). ``timeout`` is checked between rounds, so the wait may overrun it by the
    time of one round.
    """
    check_id("as2_message_id", as2_message_id)
    if timeout < 0:
        raise ValueError(f"timeout must be 0 or more seconds, not {timeout}")
    if poll_interval <= 0:
        raise ValueError(f"poll_interval must be more than 0 seconds, not {poll_interval}")
    if initial_delay is None:
        initial_delay = min(5.0, 2.5 * poll_interval)
    elif initial_delay < 0:
        raise ValueError(f"initial_delay must be 0 or more seconds, not {initial_delay}")

    deadline = anyio.current_time() + timeout
    max_interval = max(poll_interval, _MAX_POLL_INTERVAL)
    interval = poll_interval
    last_seen: str | None = None
    failures = 0
    confirmations = 0
    await anyio.sleep(min(initial_delay, timeout))
    while True:
        sent = await _find(session.sent, as2_message_id)
        if sent is not None:
            return sent
        if await _find(session.queued, as2_message_id) is not None:
            last_seen = Folder.QUEUED.value
            confirmations = 0
        else:
            latest = await _find(session.failed, as2_message_id)
            if latest is None:
                confirmations = 0
            else:
                last_seen = Folder.FAILED.value
                failures += 1
                confirmations += 1
                if confirmations >= _FAILURE_CONFIRMATIONS:
                    attempts = await _failed_attempts(session, as2_message_id, latest)
                    last = attempts[-1]
                    status = (
                        f", the partner answered HTTP {last.transport_status_received}"
                        if last.transport_status_received is not None
                        else ""
                    )
                    raise DeliveryFailedError(
                        f"the gateway gave up sending AS2 message {as2_message_id} after "
                        f"{len(attempts)} failed attempt(s){status}",
                        as2_message_id=as2_message_id,
                        attempts=attempts,
                    )
        remaining = deadline - anyio.current_time()
        if remaining <= 0:
            raise DeliveryTimeoutError(
                f"not delivered within {timeout:g}s: "
                + _describe(as2_message_id, last_seen, failures),
                as2_message_id=as2_message_id,
                last_seen=last_seen,
            )
        await anyio.sleep(min(interval, remaining))
        interval = min(interval * _BACKOFF, max_interval)
