"""A fake S3 object store serving the MFT Gateway's presigned links, on its own port.

The gateway answers ``/attachments`` and ``/mdn`` with links to this store; the store checks
each GET the way S3 checks a presigned URL: the signature (HMAC-SHA256 over the raw path,
``X-Amz-Date`` and ``X-Amz-Expires``), the expiry, and that no ``Authorization`` header came
along (S3 allows one auth mechanism; a client that leaks the gateway's token to the storage
host is refused, and counted in :attr:`StoreStats.authorization_headers`). Refusals are 403
with an S3-style XML body. ``Range`` is honoured (206); ``Content-Length`` and ``ETag`` are
always sent. Faults: an error status, a delay or a reset mid-body on the next downloads.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote

import anyio
from starlette.types import Receive, Scope, Send

from .._bodies import Body, GeneratedBody, body_size, iter_body
from ..app import InjectedFault
from .faults import FaultScript

__all__ = ["STORE_ROUTES", "ObjectStore", "StoreStats", "StoredObject", "create_store_app"]

#: fault route names of the store
STORE_ROUTES: tuple[str, ...] = ("download",)
DEFAULT_BUCKET = "mftg-emulator-bucket"
DEFAULT_LINK_TTL = 600
_ALGORITHM = "AWS4-HMAC-SHA256"
_CREDENTIAL = "ASIAEMULATOREXAMPLE/{day}/us-east-1/s3/aws4_request"


@dataclass
class StoredObject:
    """One object: its body (bytes or generated), content type and ETag."""

    body: Body
    content_type: str = "application/octet-stream"
    etag: str = ""

    def __post_init__(self) -> None:
        if not self.etag:
            self.etag = _etag(self.body)

    @property
    def size(self) -> int:
        """Size of the body in bytes."""
        return body_size(self.body)


def _etag(body: Body) -> str:
    if isinstance(body, GeneratedBody):  # as S3 does for a multipart upload: not an MD5
        digest = hashlib.md5(f"{body.size}:{body.seed}".encode(), usedforsecurity=False)
        return f'"{digest.hexdigest()}-1"'
    return f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'


@dataclass
class StoreStats:
    """What the store saw: downloads served, refusals, and Authorization headers received."""

    requests: int = 0
    downloads: int = 0
    bytes_sent: int = 0
    authorization_headers: int = 0
    expired: int = 0
    bad_signatures: int = 0
    not_found: int = 0
    resets: int = 0
    ranges: int = 0
    statuses: Counter[int] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready snapshot."""
        out = {k: v for k, v in self.__dict__.items() if k != "statuses"}
        out["statuses"] = {str(k): v for k, v in sorted(self.statuses.items())}
        return out


class ObjectStore:
    """The objects behind the presigned links, and the rules for signing and checking them.

    ``base_url`` is set by the server once it listens. ``link_ttl`` is the ``X-Amz-Expires``
    of new links (600 s, as the real service). :meth:`expire_links` makes every link issued
    so far expired (the store's clock jumps past them); new links work again.

    Example::

        store = ObjectStore()
        store.put("AS2/files/a.txt", b"hello")
        url = store.presign("AS2/files/a.txt")    # after the server set store.base_url
        store.stats.authorization_headers         # 0 unless a client leaked its token
    """

    def __init__(
        self,
        *,
        bucket: str = DEFAULT_BUCKET,
        link_ttl: int = DEFAULT_LINK_TTL,
        clock: Callable[[], float] = time.time,
        secret: bytes = b"emulator-object-store-secret",
    ) -> None:
        self._lock = threading.RLock()
        self.bucket = bucket
        self.link_ttl = link_ttl
        self.base_clock = clock
        self._offset = 0.0
        self._secret = secret
        self._objects: dict[str, StoredObject] = {}
        self.base_url = "http://127.0.0.1:0"
        self.stats = StoreStats()
        self.faults = FaultScript(STORE_ROUTES)

    def now(self) -> float:
        """The store's clock (the base clock plus the jumps of :meth:`expire_links`)."""
        return self.base_clock() + self._offset

    # ------------------------------------------------------------------ objects

    def put(self, key: str, body: Body, content_type: str = "application/octet-stream") -> str:
        """Store ``body`` under ``key`` (a bucket-relative path, segments unencoded)."""
        with self._lock:
            self._objects[self._raw_path(key)] = StoredObject(body, content_type)
            return key

    def delete(self, key: str) -> bool:
        """Remove an object; True if it existed."""
        with self._lock:
            return self._objects.pop(self._raw_path(key), None) is not None

    def get(self, key: str) -> StoredObject | None:
        """The object under ``key``, or None."""
        with self._lock:
            return self._objects.get(self._raw_path(key))

    def keys(self) -> list[str]:
        """The raw (percent-encoded) paths of every stored object."""
        with self._lock:
            return list(self._objects)

    def _raw_path(self, key: str) -> str:
        """``/<bucket>/<key>``, each key segment percent-encoded on its own (``/`` and ``..``
        inside a file name stay inside one segment)."""
        segments = [_segment(s) for s in key.split("/")]
        return f"/{self.bucket}/" + "/".join(segments)

    # ------------------------------------------------------------------ links

    def presign(self, key: str) -> str:
        """A presigned GET link to ``key`` valid for ``link_ttl`` seconds from now."""
        with self._lock:
            path = self._raw_path(key)
            issued = int(self.now())
            amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(issued))
            expires = str(int(self.link_ttl))
            signature = self._sign(path, amz_date, expires)
            credential = quote(_CREDENTIAL.format(day=amz_date[:8]), safe="")
            query = (
                f"X-Amz-Algorithm={_ALGORITHM}&X-Amz-Credential={credential}"
                f"&X-Amz-Date={amz_date}&X-Amz-Expires={expires}"
                f"&X-Amz-SignedHeaders=host&X-Amz-Signature={signature}"
            )
            return f"{self.base_url}{path}?{query}"

    def _sign(self, path: str, amz_date: str, expires: str) -> str:
        message = f"GET\n{path}\n{amz_date}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def expire_links(self) -> None:
        """Every link issued so far is expired from now on (links issued later work)."""
        with self._lock:
            self._offset += max(self.link_ttl, 0) + 1

    def check(self, path: str, query: str) -> tuple[str, str] | None:
        """None if ``path?query`` is a valid, unexpired link; else ``(code, message)``."""
        params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        amz_date = params.get("X-Amz-Date", "")
        expires = params.get("X-Amz-Expires", "")
        signature = params.get("X-Amz-Signature", "")
        if params.get("X-Amz-Algorithm") != _ALGORITHM or not (amz_date and expires):
            return "AccessDenied", "Query-string authentication requires the X-Amz-* parameters"
        good = self._sign(path, amz_date, expires)
        if not hmac.compare_digest(good, signature):
            return (
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        try:
            issued = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
            ttl = int(expires)
        except ValueError:
            return "AccessDenied", "X-Amz-Date or X-Amz-Expires is malformed"
        if self.now() >= issued + ttl:
            return "AccessDenied", "Request has expired"
        return None


def _segment(text: str) -> str:
    encoded = quote(text, safe="")
    if encoded and set(encoded) == {"."}:  # "." and ".." would be removed by URL normalisers
        encoded = encoded.replace(".", "%2E")
    return encoded


def _xml_error(code: str, message: str, resource: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{_xml_escape(message)}</Message>"
        f"<Resource>{_xml_escape(resource)}</Resource>"
        "<RequestId>EMULATOR0000000</RequestId></Error>"
    ).encode()


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """``(start, end_inclusive)``, None (ignore: serve it all) or "bad" (416)."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None  # S3 ignores what it does not support and sends the whole object
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if first == "":
            n = int(last)
            if n <= 0:
                return "bad"
            return max(size - n, 0), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        return "bad"
    return start, min(end, size - 1)


def _slice(body: Body, start: int, end: int) -> Iterator[bytes]:
    if isinstance(body, GeneratedBody):
        yield from body.iter_chunks(start, end + 1)
        return
    yield from iter_body(body[start : end + 1])


def create_store_app(store: ObjectStore) -> Callable[[Scope, Receive, Send], Any]:
    """The store as a bare ASGI app (GET and HEAD of presigned links)."""

    async def respond(
        send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes = b""
    ) -> None:
        with store._lock:
            store.stats.statuses[status] += 1
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def error(send: Send, status: int, code: str, message: str, resource: str) -> None:
        body = _xml_error(code, message, resource)
        headers = [
            (b"content-type", b"application/xml"),
            (b"content-length", str(len(body)).encode()),
        ]
        await respond(send, status, headers, body)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        raw: bytes = scope.get("raw_path") or quote(scope["path"]).encode()
        path = raw.split(b"?", 1)[0].decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        with store._lock:
            store.stats.requests += 1
        if store.faults.latency > 0:
            await anyio.sleep(store.faults.latency)
        if scope["method"] not in ("GET", "HEAD"):
            await error(send, 405, "MethodNotAllowed", "The method is not allowed", path)
            return
        if "authorization" in headers:
            with store._lock:
                store.stats.authorization_headers += 1
            await error(
                send,
                403,
                "AccessDenied",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                "Signature query string parameter or the Authorization header should be specified",
                path,
            )
            return
        refusal = store.check(path, query)
        if refusal is not None:
            code, message = refusal
            with store._lock:
                if message == "Request has expired":
                    store.stats.expired += 1
                elif code == "SignatureDoesNotMatch":
                    store.stats.bad_signatures += 1
            await error(send, 403, code, message, path)
            return
        # faults hit requests that pass the checks: a refused request uses none up
        fault = store.faults.take("download") if scope["method"] == "GET" else None
        if fault is not None and fault.kind == "delay":
            await anyio.sleep(fault.seconds)
        if fault is not None and fault.kind == "status":
            code = "SlowDown" if fault.status == 503 else "InternalError"
            await error(send, fault.status, code, "Injected fault", path)
            return
        with store._lock:
            obj = store._objects.get(path)
        if obj is None:
            with store._lock:
                store.stats.not_found += 1
            await error(send, 404, "NoSuchKey", "The specified key does not exist.", path)
            return
        size = obj.size
        start, end, status = 0, size - 1, 200
        out = [
            (b"content-type", obj.content_type.encode("latin-1")),
            (b"etag", obj.etag.encode()),
            (b"accept-ranges", b"bytes"),
        ]
        if "range" in headers:
            parsed = _parse_range(headers["range"], size)
            if parsed == "bad":
                await error(
                    send, 416, "InvalidRange", "The requested range is not satisfiable", path
                )
                return
            if isinstance(parsed, tuple):
                start, end = parsed
                status = 206
                out.append((b"content-range", f"bytes {start}-{end}/{size}".encode()))
                with store._lock:
                    store.stats.ranges += 1
        length = max(end - start + 1, 0)
        out.append((b"content-length", str(length).encode()))
        if scope["method"] == "HEAD":
            await respond(send, status, out)
            return
        with store._lock:
            store.stats.downloads += 1
            store.stats.statuses[status] += 1
        await send({"type": "http.response.start", "status": status, "headers": out})
        budget = None
        if fault is not None and fault.kind == "reset" and fault.after_bytes < length:
            budget = fault.after_bytes
        sent = 0
        async for chunk in _aiter(_slice(obj.body, start, end) if length else iter(())):
            if budget is not None and sent + len(chunk) >= budget:
                chunk = chunk[: budget - sent]
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    sent += len(chunk)
                with store._lock:
                    store.stats.resets += 1
                    store.stats.bytes_sent += sent
                raise InjectedFault(f"object store reset injected after {sent} bytes")
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            sent += len(chunk)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        with store._lock:
            store.stats.bytes_sent += sent

    return app


async def _aiter(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
