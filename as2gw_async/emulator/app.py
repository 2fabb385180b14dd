"""The HTTP face of the emulator: a Starlette app serving the AS2 Gateway API v1.

Routing is done on the *raw* request path (``scope["raw_path"]``), each segment
percent-decoded on its own, so message ids holding ``/``, ``%``, ``<`` or ``>`` round-trip
whether the client encodes them (``%2F``, ``%3C``...) or, for ``<``/``>``, sends them raw
as curl does. Non-spec control routes live under ``/_emulator/`` (see ``docs/emulator.md``).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote_to_bytes

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Message as ASGIMessage
from starlette.types import Receive, Scope, Send

from ._bodies import GeneratedBody, iter_body
from ._zip import ZipEntry, ZipPlan
from .faults import FaultPlan
from .state import (
    FOLDERS,
    PARTNER_TYPES,
    SORT_COLUMNS,
    Attachment,
    Gateway,
    NotFoundError,
    format_retry_after,
)

__all__ = ["InjectedFault", "content_disposition", "create_app", "create_redirect_app"]

_log = logging.getLogger("as2gw_async.emulator")

_CHUNK = 1 << 16
_MULTIPART_SLACK = 1 << 20  # boundaries and part headers on top of the 10 MB of files
_DRAIN_CAP = 64 << 20  # read (and discard) at most this much of a rejected upload
_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class InjectedFault(Exception):
    """Raised on purpose inside a response body to make the server drop the connection."""


class _BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status, headers=headers)


def content_disposition(filename: str) -> str:
    """``attachment; filename="..."``, plus RFC 6266 ``filename*=`` for non-ASCII names."""
    plain = all(32 <= ord(c) < 127 for c in filename)
    fallback = "".join(c if 32 <= ord(c) < 127 else "_" for c in filename)
    fallback = fallback.replace("\\", "\\\\").replace('"', '\\"')
    if plain:
        return f'attachment; filename="{fallback}"'
    encoded = quote(filename, safe="!#$&+-.^_`|~")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def _split_raw_path(scope: Scope) -> list[str]:
    raw: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    raw = raw.split(b"?", 1)[0]
    segments = raw.split(b"/")[1:]
    if len(segments) > 1 and segments[-1] == b"":
        segments = segments[:-1]
    return [unquote_to_bytes(s).decode("utf-8", "surrogateescape") for s in segments]


def _bool_param(request: Request, name: str) -> bool:
    value = request.query_params.get(name)
    if value is None or value == "":
        return False
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise _BadRequest(f"Invalid value for {name}: {value!r} (expected true or false)")


def _str_param(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    return value if value else None


def _int_param(request: Request, name: str, default: int, lo: int, hi: int | None) -> int:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    try:
        n = int(value.strip())
    except ValueError:
        raise _BadRequest(f"Invalid value for {name}: {value!r} (expected an integer)") from None
    if n < lo or (hi is not None and n > hi):
        bounds = f"between {lo} and {hi}" if hi is not None else f"greater than or equal to {lo}"
        raise _BadRequest(f"Invalid value for {name}: {n} (must be {bounds})")
    return n


def _partner_type_param(request: Request) -> str:
    value = request.query_params.get("partnerType")
    if value is None or value == "":
        return "production"
    v = value.strip().lower()
    if v not in PARTNER_TYPES:
        raise _BadRequest(f"Invalid value for partnerType: {value!r} (production or test)")
    return v


async def _aiter(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def _download(
    body: bytes | Iterator[bytes], length: int, filename: str, status: int = 200, **extra: str
) -> Response:
    headers = {
        "Content-Disposition": content_disposition(filename),
        "Content-Length": str(length),
        **extra,
    }
    if isinstance(body, bytes):
        return Response(
            body, status_code=status, headers=headers, media_type="application/octet-stream"
        )
    return StreamingResponse(
        _aiter(body), status_code=status, headers=headers, media_type="application/octet-stream"
    )


async def _prepare_zip(entries: list[ZipEntry]) -> ZipPlan:
    slow = any(isinstance(e.body, GeneratedBody) and not e.body.digests_ready for e in entries)
    if slow:  # the CRC of a large generated body costs a pass over it: not on the event loop
        return await anyio.to_thread.run_sync(ZipPlan, entries)
    return ZipPlan(entries)


class _TruncatedResponse(Response):
    """Sends the headers of ``inner`` and about half its body, then breaks off."""

    def __init__(self, inner: Response, mode: str) -> None:
        self.inner = inner
        self.mode = mode
        self.status_code = inner.status_code
        self.background = None
        self.raw_headers = inner.raw_headers

    async def _chunks(self) -> AsyncIterator[bytes]:
        if isinstance(self.inner, StreamingResponse):
            async for chunk in self.inner.body_iterator:
                yield chunk.encode() if isinstance(chunk, str) else bytes(chunk)
        else:
            yield bytes(self.inner.body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = 0
        for key, value in self.raw_headers:
            if key.lower() == b"content-length":
                declared = int(value)
        budget = declared // 2
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        sent = 0
        async for chunk in self._chunks():
            piece = chunk[: budget - sent]
            if piece:
                await send({"type": "http.response.body", "body": piece, "more_body": True})
                sent += len(piece)
            if sent >= budget:
                break
        if self.mode == "reset" or budget == 0:
            raise InjectedFault(f"connection reset injected after {sent} of {declared} bytes")
        try:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except Exception as exc:  # a real server refuses to end a short body: drop the line
            raise InjectedFault(f"short body injected: {sent} of {declared} bytes") from exc


@dataclass
class _Ctx:
    request: Request
    params: list[str]
    username: str | None
    token: str | None


Handler = Callable[[_Ctx], Awaitable[Response]]


class _EmulatorApp:
    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway

    # ------------------------------------------------------------------ dispatch

    def _match(self, method: str, rest: list[str]) -> tuple[str, Handler, list[str]] | str:
        """``(route, handler, params)``, or "405"/"404"."""
        candidates: list[tuple[str, str, Handler, list[str]]] = []
        n = len(rest)
        if rest == ["authorize"]:
            candidates.append(("POST", "authorize", self.authorize, []))
        elif n >= 2 and rest[0] == "message":
            folder = rest[1]
            if n == 2 and folder in FOLDERS:
                candidates.append(("GET", "list", self.list_messages, [folder]))
            if n == 3:
                if folder in FOLDERS:
                    candidates.append(("GET", "get", self.get, [folder, rest[2]]))
                candidates.append(("POST", "send", self.send, [rest[1], rest[2]]))
            if n == 4 and folder in ("received", "sent"):
                if rest[3] == "attachments":
                    candidates.append(
                        ("GET", "attachment", self.attachment, [folder, rest[2], "0"])
                    )
                if rest[3] == "mdn":
                    candidates.append(("GET", "mdn", self.mdn, [folder, rest[2]]))
            if n == 4 and folder == "received" and rest[2:] == ["batch", "attachments"]:
                candidates.append(("POST", "batch", self.batch, []))
            if n == 4 and folder == "received" and rest[3] == "markUnread":
                candidates.append(("POST", "mark_unread", self.mark_unread, [rest[2]]))
            if n == 4 and folder == "queued" and rest[3] in ("stop", "retry"):
                h = self.stop if rest[3] == "stop" else self.retry
                candidates.append(("POST", rest[3], h, [rest[2]]))
            if n == 5 and folder in ("received", "sent") and rest[3] == "attachments":
                if rest[4] == "all":
                    candidates.append(("GET", "zip", self.zip, [folder, rest[2]]))
                else:
                    candidates.append(
                        ("GET", "attachment", self.attachment, [folder, rest[2], rest[4]])
                    )
        if not candidates:
            return "404"
        for m, name, handler, params in candidates:
            if m == method:
                return name, handler, params
        return "405"

    async def handle(self, request: Request) -> Response:
        segments = _split_raw_path(request.scope)
        if segments and segments[0] == "_emulator":
            return await _Control(self.gw).handle(request, segments[1:])
        gw = self.gw
        if not segments or segments[0] != "v1":
            return self._count(None, _error(404, "Not found"))
        match = self._match(request.method, segments[1:])
        if isinstance(match, str):
            await _drain(request)
        if match == "404":
            return self._count(None, _error(404, "Not found"))
        if match == "405":
            return self._count(None, _error(405, "Method not allowed"))
        assert not isinstance(match, str)
        route, handler, params = match
        with gw._lock:
            gw.stats.requests += 1
            gw.stats.routes[route] += 1
        plan: FaultPlan | None = gw.faults
        fault = plan.decide(route) if plan is not None else None
        delay = gw.latency + (fault[1] if fault else 0.0)
        if delay > 0:
            await anyio.sleep(delay)
        kind = fault[0] if fault else None
        token = request.headers.get("authorization")
        if kind is not None and not (kind == "expire_token" and route == "authorize"):
            with gw._lock:
                gw.stats.faults[kind] += 1
        if kind in ("429", "500", "502", "503"):
            await _drain(request)  # answer after the upload, not into a broken pipe
        if kind == "429" and plan is not None:
            retry_after = format_retry_after(plan.retry_after, integer=False)
            return self._count(
                route,
                _error(429, "Too many requests (injected)", {"Retry-After": retry_after}),
            )
        if kind in ("500", "502", "503"):
            assert kind is not None
            texts = {
                "500": "Internal server error",
                "502": "Bad gateway",
                "503": "Service unavailable",
            }
            return self._count(route, _error(int(kind), f"{texts[kind]} (injected)"))
        if kind == "expire_token" and route != "authorize" and token:
            gw.expire_token(token)
        username: str | None = None
        if route != "authorize":
            username, reason = gw.check_token(token)
            if username is None:
                await _drain(request)
                return self._count(route, _error(401, reason))
            wait = gw.check_rate(username)
            if wait is not None:
                with gw._lock:
                    gw.stats.rate_limited += 1
                await _drain(request)
                return self._count(
                    route,
                    _error(
                        429,
                        "Rate limit exceeded",
                        {"Retry-After": format_retry_after(wait, integer=True)},
                    ),
                )
        try:
            response = await handler(_Ctx(request, params, username, token))
        except _BadRequest as exc:
            response = _error(exc.status, exc.message)
        if kind in ("reset", "short"):
            assert kind is not None
            response = _TruncatedResponse(response, kind)
        return self._count(route, response)

    def _count(self, route: str | None, response: Response) -> Response:
        with self.gw._lock:
            if route is None:
                self.gw.stats.requests += 1
            self.gw.stats.statuses[response.status_code] += 1
        return response

    # ------------------------------------------------------------------ endpoints

    async def authorize(self, ctx: _Ctx) -> Response:
        try:
            data = json.loads(await ctx.request.body() or b"null")
        except ValueError:
            raise _BadRequest(
                'Request body must be JSON: {"username": ..., "password": ...}'
            ) from None
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("username"), str)
            or not isinstance(data.get("password"), str)
        ):
            raise _BadRequest("username and password are required")
        token = self.gw.authorize(data["username"], data["password"])
        if token is None:
            return _error(401, "Invalid username or password")
        return JSONResponse({"token": token.value, "expiry": token.expiry_ms})

    async def list_messages(self, ctx: _Ctx) -> Response:
        request = ctx.request
        (folder,) = ctx.params
        sort_col = request.query_params.get("sortCol") or "persistedTimestamp"
        if sort_col not in SORT_COLUMNS:
            raise _BadRequest(
                f"Invalid value for sortCol: {sort_col!r} (one of {', '.join(SORT_COLUMNS)})"
            )
        sort_dir = (request.query_params.get("sortDir") or "desc").lower()
        if sort_dir not in ("asc", "desc"):
            raise _BadRequest(f"Invalid value for sortDir: {sort_dir!r} (asc or desc)")
        page_offset = _int_param(request, "pageOffset", 0, 0, None)
        page_length = _int_param(request, "pageLength", 10, 1, 100)
        if self.gw.max_page_length is not None:
            page_length = min(page_length, self.gw.max_page_length)
        kwargs: dict[str, Any] = {}
        if folder == "queued":
            kwargs["query"] = _str_param(request, "query")
        else:
            kwargs["partner"] = _str_param(request, "partnerAS2Id")
            kwargs["station"] = _str_param(request, "stationAS2Id")
            kwargs["message_id"] = _str_param(request, "as2MessageId")
            kwargs["subject"] = _str_param(request, "subject")
        if folder == "received":
            kwargs["unread_only"] = _bool_param(request, "unreadOnly")
        total, records = self.gw.list_messages(
            folder,
            sort_col=sort_col,
            sort_dir=sort_dir,
            partner_type=_partner_type_param(request),
            page_offset=page_offset,
            page_length=page_length,
            **kwargs,
        )
        return JSONResponse({"totalRecords": total, "records": [m.to_json() for m in records]})

    def _find(self, folder: str, message_id: str) -> Any:
        msg = self.gw.find(folder, message_id)
        if msg is None:
            raise _BadRequest(f"No {folder} AS2 message found with ID {message_id}", 404)
        return msg

    def _mark(self, ctx: _Ctx, folder: str, message_id: str) -> None:
        if folder == "received" and _bool_param(ctx.request, "markAsRead"):
            self.gw.mark_read(message_id)

    async def get(self, ctx: _Ctx) -> Response:
        folder, message_id = ctx.params
        mark = folder == "received" and _bool_param(ctx.request, "markAsRead")
        msg = self._find(folder, message_id)
        if mark:
            self.gw.mark_read(message_id)
        return JSONResponse(msg.to_json(include_attachments=folder != "queued"))

    async def attachment(self, ctx: _Ctx) -> Response:
        folder, message_id, index_text = ctx.params
        mark = folder == "received" and _bool_param(ctx.request, "markAsRead")
        msg = self._find(folder, message_id)
        if not index_text.isdigit() or int(index_text) >= len(msg.attachments):
            raise _BadRequest(
                f"No attachment at index {index_text} of AS2 message {message_id} "
                f"(it has {len(msg.attachments)})",
                404,
            )
        att: Attachment = msg.attachments[int(index_text)]
        if mark:
            self.gw.mark_read(message_id)
        if isinstance(att.body, bytes):
            return _download(att.body, att.size, att.name)
        return _download(iter_body(att.body), att.size, att.name)

    async def zip(self, ctx: _Ctx) -> Response:
        folder, message_id = ctx.params
        mark = folder == "received" and _bool_param(ctx.request, "markAsRead")
        msg = self._find(folder, message_id)
        entries = [ZipEntry(a.name, a.body, msg.persisted_timestamp) for a in msg.attachments]
        plan = await _prepare_zip(entries)
        if mark:
            self.gw.mark_read(message_id)
        return _download(plan.iter_bytes(), plan.length, "attachments.zip")

    async def mdn(self, ctx: _Ctx) -> Response:
        folder, message_id = ctx.params
        mark = folder == "received" and _bool_param(ctx.request, "markAsRead")
        msg = self._find(folder, message_id)
        if msg.mdn is None:
            raise _BadRequest(f"No MDN found for {folder} AS2 message {message_id}", 404)
        if mark:
            self.gw.mark_read(message_id)
        return _download(msg.mdn.body, len(msg.mdn.body), msg.mdn.filename)

    async def batch(self, ctx: _Ctx) -> Response:
        mark = _bool_param(ctx.request, "markAsRead")
        try:
            ids = json.loads(await ctx.request.body() or b"null")
        except ValueError:
            raise _BadRequest("Request body must be a JSON array of AS2 message IDs") from None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise _BadRequest("Request body must be a JSON array of AS2 message IDs")
        if not ids:
            raise _BadRequest("At least one AS2 message ID is required")
        if len(ids) > 100:
            raise _BadRequest(f"At most 100 AS2 message IDs per request ({len(ids)} given)")
        batch = self.gw.plan_batch(ids, mark_as_read=mark)
        plan = await _prepare_zip(batch.entries)
        extra: dict[str, str] = {}
        if batch.truncation is not None:
            m, i = batch.truncation
            extra["X-Batch-Truncation-Index"] = f"({m},{i})"
        return _download(plan.iter_bytes(), plan.length, "attachments.zip", batch.status, **extra)

    async def mark_unread(self, ctx: _Ctx) -> Response:
        (message_id,) = ctx.params
        if not self.gw.mark_read(message_id, read=False):
            return _error(404, f"No received AS2 message found with ID {message_id}")
        return JSONResponse({"message": f"Successfully marked message {message_id} as unread"})

    async def stop(self, ctx: _Ctx) -> Response:
        (message_id,) = ctx.params
        if not self.gw.stop(message_id):
            return _error(404, f"No queued AS2 message found with ID {message_id}")
        return JSONResponse(
            {"message": f"Successfully stopped retrying AS2 message with ID {message_id}"}
        )

    async def retry(self, ctx: _Ctx) -> Response:
        (message_id,) = ctx.params
        if not self.gw.retry(message_id):
            return _error(404, f"No queued AS2 message found with ID {message_id}")
        return JSONResponse(
            {"message": f"Successfully started retrying AS2 message with ID {message_id}"}
        )

    async def send(self, ctx: _Ctx) -> Response:
        request = ctx.request
        station, partner = ctx.params
        gw = self.gw
        ctype = request.headers.get("content-type", "")
        multipart = ctype.lower().startswith("multipart/form-data")
        cap = gw.send_limit + (_MULTIPART_SLACK if multipart else 0)
        body = await _read_capped(request, cap)
        if body is None:
            return _error(
                413, f"Payload too large: a message may carry at most {_mb(gw.send_limit)} in total"
            )
        partner_type = _partner_type_param(request)
        subject = _str_param(request, "subject")
        if multipart:
            attachments = await self._multipart(request, body)
        else:
            raw_name = _raw_header(request, b"name")
            if not raw_name:
                raise _BadRequest("The Name header (the file name) is required")
            attachments = [Attachment(raw_name, body, ctype or "application/octet-stream")]
        try:
            message_id = gw.submit(
                station, partner, attachments, partner_type=partner_type, subject=subject
            )
        except NotFoundError as exc:
            return _error(404, str(exc))
        base = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}/v1"
        return JSONResponse(
            {"message": "Successfully added a new outbound entry"},
            status_code=202,
            headers={"Link": f"{base}/message/sent/{message_id}"},
        )

    async def _multipart(self, request: Request, body: bytes) -> list[Attachment]:
        gw = self.gw

        async def replay() -> ASGIMessage:
            return {"type": "http.request", "body": body, "more_body": False}

        if b"\r\n" not in body:  # bare-LF line breaks, as in the spec's curl example
            body = _lf_multipart_to_crlf(body, request.headers.get("content-type", ""))
        try:
            form = await Request(request.scope, replay).form(
                max_files=10_000, max_fields=10_000, max_part_size=gw.send_limit + 1
            )
        except Exception as exc:
            detail = getattr(exc, "detail", None) or str(exc) or type(exc).__name__
            raise _BadRequest(f"Malformed multipart payload: {detail}") from None
        try:
            attachments: list[Attachment] = []
            for key, value in form.multi_items():
                if key != "file":
                    continue
                if not isinstance(value, UploadFile) or not value.filename:
                    raise _BadRequest('Each "file" part must be a file with a filename')
                data = await value.read()
                ptype = value.content_type or "application/octet-stream"
                attachments.append(Attachment(value.filename, data, ptype))
        finally:
            await form.close()
        if not attachments:
            raise _BadRequest('The multipart payload holds no "file" part')
        if len(attachments) > gw.max_files:
            raise _BadRequest(
                f"Too many files: at most {gw.max_files} per message ({len(attachments)} given)"
            )
        names = [a.name for a in attachments]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise _BadRequest(f"Each attachment must have a unique filename (repeated: {dupes})")
        total = sum(a.size for a in attachments)
        if total > gw.send_limit:
            raise _BadRequest(
                f"Payload too large: {total} bytes of files, at most {_mb(gw.send_limit)}", 413
            )
        return attachments


def _lf_multipart_to_crlf(body: bytes, content_type: str) -> bytes:
    """Rewrite a multipart body written with bare LF line breaks (as the spec's curl example
    is) to CRLF, touching only delimiter and header lines, never part content."""
    boundary = b""
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip().strip('"').encode("latin-1")
    if not boundary:
        return body
    delimiter = b"--" + boundary
    out: list[bytes] = []
    in_headers = False
    content: list[bytes] = []
    for line in body.split(b"\n"):
        stripped = line.rstrip(b" \t")
        if stripped in (delimiter, delimiter + b"--"):
            if content:
                out.append(b"\n".join(content))
                content = []
            out.append(b"\r\n" + stripped + b"\r\n" if out else stripped + b"\r\n")
            in_headers = stripped == delimiter
            continue
        if in_headers:
            out.append(line + b"\r\n")
            if not line.strip():
                in_headers = False
            continue
        content.append(line)
    if content:
        out.append(b"\n".join(content))
    return b"".join(out)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB" if n % 1024 == 0 else f"{n} bytes"


def _raw_header(request: Request, name: bytes) -> str | None:
    for key, value in request.scope["headers"]:
        if key.lower() == name:
            try:
                return str(value.decode("utf-8"))
            except UnicodeDecodeError:
                return str(value.decode("latin-1"))
    return None


async def _read_capped(request: Request, cap: int) -> bytes | None:
    """The request body, or None (after draining a bounded amount) if it exceeds ``cap``."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > cap:
        await _drain(request)
        return None
    buf = bytearray()
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > cap:  # too large: keep reading (and discarding) a while, then answer 413
            buf.clear()
            if seen > _DRAIN_CAP:
                break
            continue
        buf += chunk
    return None if seen > cap else bytes(buf)


async def _drain(request: Request) -> None:
    """Read and discard what is left of a request body (up to a bound), so the client sees
    our answer instead of a broken pipe."""
    seen = 0
    try:
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > _DRAIN_CAP:
                return
    except Exception:  # already consumed or disconnected: nothing to drain
        return


class _Control:
    """The non-spec ``/_emulator/`` routes: inspect and drive a (separate-process) emulator."""

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway

    async def handle(self, request: Request, rest: list[str]) -> Response:
        try:
            return await self._handle(request, rest)
        except (_BadRequest, ValueError, TypeError, KeyError) as exc:
            status = exc.status if isinstance(exc, _BadRequest) else 400
            text = exc.message if isinstance(exc, _BadRequest) else f"{type(exc).__name__}: {exc}"
            return _error(status, text)

    async def _json(self, request: Request) -> Any:
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise _BadRequest("Request body must be JSON") from None

    async def _handle(self, request: Request, rest: list[str]) -> Response:
        gw = self.gw
        method = request.method
        route = "/".join(rest)
        if (method, route) == ("GET", "health"):
            return JSONResponse({"status": "ok"})
        if (method, route) == ("GET", "stats"):
            with gw._lock:
                return JSONResponse(gw.stats.as_dict())
        if (method, route) == ("POST", "stats/reset"):
            with gw._lock:
                gw.stats.__init__()  # type: ignore[misc]
            return JSONResponse({"message": "stats reset"})
        if (method, route) == ("GET", "config"):
            return JSONResponse(_config(gw))
        if (method, route) == ("POST", "config"):
            data = await self._json(request)
            _apply_config(gw, data)
            return JSONResponse(_config(gw))
        if (method, route) == ("POST", "faults"):
            data = await self._json(request)
            gw.faults = _fault_plan(data)
            return JSONResponse({"message": "fault plan " + ("set" if gw.faults else "off")})
        if (method, route) == ("POST", "expire-tokens"):
            gw.expire_all_tokens()
            return JSONResponse({"message": "all tokens expired"})
        if (method, route) == ("POST", "accounts"):
            data = await self._json(request)
            gw.add_account(str(data["username"]), str(data["password"]))
            return JSONResponse({"username": data["username"]}, status_code=201)
        if (method, route) == ("POST", "stations"):
            data = await self._json(request)
            gw.add_station(str(data["name"]))
            return JSONResponse({"name": data["name"]}, status_code=201)
        if (method, route) == ("POST", "partners"):
            data = await self._json(request)
            p = gw.add_partner(
                str(data["name"]),
                partner_type=str(data.get("partnerType", "production")),
                fail=bool(data.get("fail", False)),
                fail_status=int(data.get("failStatus", 503)),
            )
            return JSONResponse(
                {"name": p.name, "partnerType": p.partner_type, "fail": p.fail}, status_code=201
            )
        if (method, route) == ("POST", "seed"):
            data = await self._json(request)
            ids = gw.seed(
                int(data.get("n", 10)),
                attachments=_pair(data.get("attachments", [1, 3])),
                size=_pair(data.get("size", [64, 4096])),
                seed=int(data.get("seed", 0)),
                station=data.get("station"),
                partner=data.get("partner"),
                partner_type=str(data.get("partnerType", "production")),
            )
            return JSONResponse({"ids": ids}, status_code=201)
        if (method, route) == ("POST", "deliver"):
            data = await self._json(request)
            mid = gw.deliver(
                str(data.get("station", "RJ_Station")),
                str(data.get("partner", "RJ_Partner")),
                [_attachment_from_json(a) for a in data.get("attachments", [])]
                or [("message.txt", b"Hello from the emulator\n")],
                subject=data.get("subject"),
                partner_type=str(data.get("partnerType", "production")),
                mdn=bool(data.get("mdn", True)),
                message_id=data.get("messageId"),
            )
            return JSONResponse({"as2MessageId": mid}, status_code=201)
        if method == "GET" and len(rest) == 2 and rest[0] == "messages":
            folder = rest[1]
            if folder not in FOLDERS:
                raise _BadRequest(f"unknown folder {folder!r}", 404)
            ids = [m.as2_message_id for m in gw.messages(folder)]
            return JSONResponse({"ids": ids})
        if method == "GET" and len(rest) == 3 and rest[0] == "messages":
            folder, message_id = rest[1], rest[2]
            if folder not in FOLDERS:
                raise _BadRequest(f"unknown folder {folder!r}", 404)
            msg = gw.find(folder, message_id)
            if msg is None:
                raise _BadRequest(f"no {folder} message {message_id}", 404)
            out = msg.to_json()
            out["read"] = msg.read
            out["stopped"] = msg.stopped
            out["attempts"] = msg.attempts
            digests = await anyio.to_thread.run_sync(lambda: [a.sha256() for a in msg.attachments])
            for item, digest in zip(out["attachments"], digests, strict=True):
                item["sha256"] = digest
            return JSONResponse(out)
        return _error(404, f"No emulator control route {method} /_emulator/{route}")


def _pair(value: Any) -> tuple[int, int]:
    lo, hi = value
    return int(lo), int(hi)


def _attachment_from_json(item: dict[str, Any]) -> tuple[str, Any, str]:
    name = str(item["name"])
    ctype = str(item.get("contentType", "application/octet-stream"))
    if "generatedSize" in item:
        return name, GeneratedBody(int(item["generatedSize"]), int(item.get("seed", 0))), ctype
    if "contentBase64" in item:
        try:
            return name, base64.b64decode(item["contentBase64"], validate=True), ctype
        except binascii.Error:
            raise _BadRequest("contentBase64 is not valid base64") from None
    return name, str(item.get("content", "")).encode("utf-8"), ctype


def _config(gw: Gateway) -> dict[str, Any]:
    return {
        "latency": gw.latency,
        "rateLimit": list(gw.rate_limit) if gw.rate_limit else None,
        "batchLimit": gw.batch_limit,
        "sendLimit": gw.send_limit,
        "maxFiles": gw.max_files,
        "sendDelay": gw.send_delay,
        "retryInterval": gw.retry_interval,
        "maxAttempts": gw.max_attempts,
        "tokenTtl": gw.token_ttl,
        "maxPageLength": gw.max_page_length,
        "faults": gw.faults is not None,
    }


def _apply_config(gw: Gateway, data: dict[str, Any]) -> None:
    if "latency" in data:
        gw.latency = float(data["latency"])
    if "rateLimit" in data:
        rl = data["rateLimit"]
        gw.rate_limit = None if rl is None else (int(rl[0]), float(rl[1]))
    if "batchLimit" in data:
        gw.batch_limit = int(data["batchLimit"])
    if "sendLimit" in data:
        gw.send_limit = int(data["sendLimit"])
    if "maxFiles" in data:
        gw.max_files = int(data["maxFiles"])
    if "sendDelay" in data:
        gw.send_delay = float(data["sendDelay"])
    if "retryInterval" in data:
        gw.retry_interval = float(data["retryInterval"])
    if "maxAttempts" in data:
        gw.max_attempts = int(data["maxAttempts"])
    if "tokenTtl" in data:
        gw.token_ttl = float(data["tokenTtl"])
    if "maxPageLength" in data:
        cap = data["maxPageLength"]
        gw.max_page_length = None if cap is None else int(cap)


def _fault_plan(data: Any) -> FaultPlan | None:
    if data is None or data == {} or (isinstance(data, dict) and data.get("off")):
        return None
    if not isinstance(data, dict):
        raise _BadRequest("fault plan must be a JSON object (or null to turn faults off)")
    kwargs: dict[str, Any] = {}
    if "seed" in data:
        kwargs["seed"] = int(data["seed"])
    if "rate" in data:
        kwargs["rate"] = float(data["rate"])
    if "kinds" in data:
        kwargs["kinds"] = FaultPlan.parse_kinds(data["kinds"])
    if "latency" in data:
        lo, hi = data["latency"]
        kwargs["latency"] = (float(lo), float(hi))
    if "retryAfter" in data:
        kwargs["retry_after"] = float(data["retryAfter"])
    if data.get("routes") is not None:
        kwargs["routes"] = tuple(data["routes"])
    plan = FaultPlan(**kwargs)
    script = data.get("script") or []
    for item in script:
        if isinstance(item, str):
            plan.script(item)
        else:
            plan.script(str(item["kind"]), route=item.get("route"))
    return plan


def create_app(gateway: Gateway) -> Starlette:
    """The emulator as a Starlette (ASGI) app serving ``gateway``.

    Usable in-process with ``httpx.AsyncClient(transport=httpx.ASGITransport(app))`` or under
    any ASGI server; :func:`as2gw_async.emulator.serve` runs it under uvicorn.
    """
    handler = _EmulatorApp(gateway)
    app = Starlette(routes=[Route("/{path:path}", handler.handle, methods=_ALL_METHODS)])
    app.state.gateway = gateway
    return app


def create_redirect_app(https_origin: str) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """An ASGI app answering every request with 307 to the same path on ``https_origin``.

    This is what the plain-http listener runs when https is enabled, as the real API does
    ("HTTP endpoint will be automatically redirected to HTTPS with a HTTP 307 response").
    """

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        raw: bytes = scope.get("raw_path") or quote(scope["path"]).encode("ascii")
        raw = raw.split(b"?", 1)[0]
        location = https_origin + raw.decode("latin-1")
        if scope.get("query_string"):
            location += "?" + scope["query_string"].decode("latin-1")
        body = json.dumps({"message": f"Use HTTPS: {location}"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 307,
                "headers": [
                    (b"location", location.encode("latin-1")),
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return app
