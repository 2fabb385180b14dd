"""The HTTP face of the MFT emulator: a Starlette app serving the MFT Gateway REST API.

Routing works on the raw request path, each segment percent-decoded on its own, so message
identifiers (``<...@mftgateway.com>``, or ones holding ``/`` and ``%``) travel as one path
segment. The token is checked on every call but ``/authorize`` and ``/refresh-session``; it
must be the bare ``Authorization`` value (``Bearer <token>`` is refused). Every error body is
``{"message": ...}``; validation errors of ``/station`` and ``/partner`` add ``errors``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote_to_bytes

import anyio
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message as ASGIMessage

from .control import handle_control
from .faults import Fault, format_retry_after
from .naming import SUBMIT_FIELDS, TOKEN_FIELDS, query_param, rename
from .state import LIST_FOLDERS, MftGateway

__all__ = ["create_app"]

_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
_CERT_TYPES = ("STATION", "PARTNER", "HTTPS", "PARTNER_CHAIN", "HTTPS_CHAIN")
_VALIDATION_FAILED = "User input validation failed. Please try again"
_REFRESH_FAILED = "Error occurred while refreshing the user session"
_DRAIN_CAP = 64 << 20


class _Refusal(Exception):
    """An error answer: status, message and (for create calls) field errors."""

    def __init__(
        self, status: int, message: str, errors: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status, headers=headers)


def _segments(request: Request) -> list[str]:
    raw: bytes = request.scope.get("raw_path") or request.scope["path"].encode("utf-8")
    parts = raw.split(b"?", 1)[0].split(b"/")[1:]
    if len(parts) > 1 and parts[-1] == b"":
        parts = parts[:-1]
    return [unquote_to_bytes(p).decode("utf-8", "surrogateescape") for p in parts]


def _bool(request: Request, name: str, default: bool) -> bool:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    v = value.strip().lower()
    if v == "true":
        return True
    if v == "false":
        return False
    raise _Refusal(400, f"Invalid value for {name}: {value} (expected true or false)")


def _int(request: Request, name: str, default: int, lo: int, hi: int | None) -> int:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    try:
        n = int(value.strip())
    except ValueError:
        raise _Refusal(400, f"Invalid value for {name}: {value} (expected an integer)") from None
    if n < lo or (hi is not None and n > hi):
        bounds = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise _Refusal(400, f"Invalid value for {name}: {n} (must be {bounds})")
    return n


def _service(request: Request) -> None:
    value = request.query_params.get("service")
    if value not in (None, "", "as2"):
        raise _Refusal(400, f"Unsupported service: {value}")


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except ValueError:
        raise _Refusal(400, "Request body must be JSON") from None


async def _drain(request: Request) -> None:
    seen = 0
    try:
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > _DRAIN_CAP:
                return
    except Exception:  # already consumed or disconnected
        return


Handler = Callable[[Request, list[str]], Awaitable[Response]]


class _MftApp:
    def __init__(self, gateway: MftGateway) -> None:
        self.gw = gateway

    # ------------------------------------------------------------------ dispatch

    def _match(self, method: str, seg: list[str]) -> tuple[str, Handler, list[str]] | int:
        """``(route, handler, params)``, or 404/405."""
        cands: list[tuple[str, str, Handler, list[str]]] = []
        n = len(seg)
        if seg == ["authorize"]:
            cands.append(("POST", "authorize", self.authorize, []))
        elif seg == ["refresh-session"]:
            cands.append(("POST", "refresh", self.refresh, []))
        elif seg == ["certificate"]:
            cands.append(("GET", "certificates", self.certificates, []))
        elif n == 2 and seg[0] == "certificate":
            cands.append(("GET", "certificate", self.certificate, [seg[1]]))
        elif seg == ["station"]:
            cands.append(("POST", "station", self.create_station, []))
        elif seg == ["partner"]:
            cands.append(("POST", "partner", self.create_partner, []))
        elif n >= 2 and seg[0] == "message" and seg[1] in ("inbox", "outbox", "submit"):
            box = seg[1]
            if seg == ["message", "submit"]:
                cands.append(("POST", "submit", self.submit, []))
            elif n == 2:
                folder = "inbox" if box == "inbox" else "sent"
                cands.append(("GET", "list", self.list_ids, [folder]))
            elif n == 3 and box == "outbox" and seg[2] in ("queued", "failed", "incomplete"):
                cands.append(("GET", "list", self.list_ids, [seg[2]]))
            elif n == 3 and seg[2] == "delete":
                cands.append(("POST", "batch_delete", self.batch_delete, [box]))
            if n == 3 and not (box == "outbox" and seg[2] in ("queued", "failed", "incomplete")):
                cands.append(("GET", "get", self.get, [box, seg[2]]))
                cands.append(("DELETE", "delete", self.delete, [box, seg[2]]))
            if n == 4 and seg[3] == "attachments":
                cands.append(("GET", "attachments", self.attachments, [box, seg[2]]))
            if n == 4 and seg[3] == "mdn":
                cands.append(("GET", "mdn", self.mdn, [box, seg[2]]))
            if n == 4 and box == "inbox" and seg[3] == "markUnread":
                cands.append(("POST", "mark_unread", self.mark_unread, [seg[2]]))
        if not cands:
            return 404
        for m, route, handler, params in cands:
            if m == method:
                return route, handler, params
        return 405

    def _count(self, route: str | None, response: Response) -> Response:
        with self.gw._lock:
            if route is None:
                self.gw.stats.requests += 1
            self.gw.stats.statuses[response.status_code] += 1
        return response

    async def handle(self, request: Request) -> Response:
        gw = self.gw
        segments = _segments(request)
        if segments and segments[0] == "_emulator":
            return await handle_control(gw, request, segments[1:])
        match = self._match(request.method, segments)
        if isinstance(match, int):
            await _drain(request)
            text = "Not Found" if match == 404 else "Method Not Allowed"
            return self._count(None, _error(match, text))
        route, handler, params = match
        with gw._lock:
            gw.stats.requests += 1
            gw.stats.routes[route] += 1
        fault = gw.faults.take(route)
        delay = gw.faults.latency + (fault.seconds if fault and fault.kind == "delay" else 0.0)
        if delay > 0:
            await anyio.sleep(delay)
        if fault is not None and fault.kind == "status":
            return self._count(route, await self._fault(request, fault))
        if route not in ("authorize", "refresh"):
            username, reason = gw.check_token(request.headers.get("authorization"))
            if username is None:
                await _drain(request)
                with gw._lock:
                    gw.stats.unauthorized += 1
                return self._count(route, _error(401, reason))
        try:
            response = await handler(request, params)
        except _Refusal as exc:
            if exc.errors is not None:
                response = JSONResponse(
                    {"message": exc.message, "errors": exc.errors}, status_code=exc.status
                )
            else:
                response = _error(exc.status, exc.message)
        return self._count(route, response)

    async def _fault(self, request: Request, fault: Fault) -> Response:
        await _drain(request)  # answer after the upload, not into a broken pipe
        with self.gw._lock:
            self.gw.stats.faults[str(fault.status)] += 1
        headers = None
        if fault.retry_after is not None:
            headers = {"Retry-After": format_retry_after(fault.retry_after)}
        texts = {429: "Too Many Requests", 500: "Internal server error", 502: "Bad Gateway"}
        text = texts.get(fault.status, "Service Unavailable" if fault.status == 503 else "Error")
        return _error(fault.status, f"{text} (injected)", headers)

    # ------------------------------------------------------------------ authorization

    def _token_body(self, access: str, refresh: str) -> dict[str, Any]:
        return rename({"api_token": access, "refresh_token": refresh}, TOKEN_FIELDS, self.gw.naming)

    async def authorize(self, request: Request, params: list[str]) -> Response:
        data = await _json_body(request)
        if not isinstance(data, dict):
            raise _Refusal(400, "Request body must be a JSON object")
        gw = self.gw
        if isinstance(data.get("tokenID"), str) and isinstance(data.get("tokenSecret"), str):
            issued = gw.authorize_api_token(data["tokenID"], data["tokenSecret"])
            if issued is None:
                return _error(401, "Authentication Failed: Bad credentials")
            access, refresh, ttl = issued
            body = self._token_body(access.value, refresh.value)
            if gw.send_token_expiry:
                body["apiTokenExpiryIn"] = int(ttl)
            return JSONResponse(body)
        if not isinstance(data.get("username"), str) or not isinstance(data.get("password"), str):
            raise _Refusal(400, "username and password (or tokenID and tokenSecret) are required")
        pair = gw.authorize(data["username"], data["password"])
        if pair is None:
            return _error(401, "Authentication Failed: Bad credentials")
        return JSONResponse(self._token_body(pair[0].value, pair[1].value))

    async def refresh(self, request: Request, params: list[str]) -> Response:
        try:
            data = await _json_body(request)
        except _Refusal:
            data = None
        username = data.get("username") if isinstance(data, dict) else None
        token = data.get("refreshToken") if isinstance(data, dict) else None
        pair = None
        if isinstance(username, str) and isinstance(token, str):
            pair = self.gw.refresh(username, token)
        else:
            with self.gw._lock:
                self.gw.stats.refresh_calls += 1
                self.gw.stats.refresh_failures += 1
        if pair is None:
            return _error(500, _REFRESH_FAILED)
        return JSONResponse(self._token_body(pair[0].value, pair[1].value))

    # ------------------------------------------------------------------ sending

    async def submit(self, request: Request, params: list[str]) -> Response:
        gw = self.gw
        _service(request)
        body = await _read_capped(request, gw.max_body)
        if body is None:
            return _error(413, "Request Too Long")
        station = request.headers.get("as2-from")
        partner = request.headers.get("as2-to")
        if not station or not partner:
            raise _Refusal(400, "AS2-From and AS2-To headers are required")
        ctype = request.headers.get("content-type", "")
        if ctype.lower().startswith("multipart/form-data"):
            attachments = await _multipart(request, body)
        else:
            name = _raw_header(request, b"attachment-name")
            if not name:
                raise _Refusal(400, "Attachment-Name header is required for a single attachment")
            attachments = [(name, body, ctype or "application/octet-stream")]
        try:
            mid = gw.submit(station, partner, attachments, subject=_raw_header(request, b"subject"))
        except LookupError as exc:
            return _error(422, str(exc.args[0]))
        origin = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
        answer = rename(
            {"message": "Message queued successfully", "as2MessageId": mid},
            SUBMIT_FIELDS,
            gw.naming,
        )
        return JSONResponse(
            answer, status_code=202, headers={"Link": f"{origin}/message/outbox/{mid}"}
        )

    # ------------------------------------------------------------------ listing

    async def list_ids(self, request: Request, params: list[str]) -> Response:
        (folder,) = params
        _service(request)
        sort_dir = (request.query_params.get("sortDir") or "desc").lower()
        if sort_dir not in ("asc", "desc"):
            raise _Refusal(400, f"Invalid value for sortDir: {sort_dir} (asc or desc)")
        page_length = _int(request, "pageLength", 10, 1, 100)
        page_offset = _int(request, "pageOffset", 0, 0, None)
        fetch_all = _bool(request, "fetchAll", False) if folder == "inbox" else True
        if folder not in LIST_FOLDERS:  # "incomplete": coming soon, always empty
            return JSONResponse({"messages": []})
        naming = self.gw.naming

        def q(legacy: str) -> str | None:
            return request.query_params.get(query_param(legacy, naming)) or None

        ids = self.gw.list_ids(
            folder,
            sort_dir=sort_dir,
            page_length=page_length,
            page_offset=page_offset,
            partner=q("partnerAS2Id"),
            station=q("stationAS2Id"),
            identifier=q("as2MessageId"),
            subject=request.query_params.get("subject") or None,
            fetch_all=fetch_all,
        )
        return JSONResponse({"messages": ids})

    # ------------------------------------------------------------------ one message

    def _message(self, box: str, mid: str) -> Any:
        msg = self.gw.find(mid)
        if msg is None or msg.incoming != (box == "inbox"):
            raise _Refusal(404, "Message not found")
        return msg

    async def get(self, request: Request, params: list[str]) -> Response:
        box, mid = params
        mark = _bool(request, "markAsRead", True) if box == "inbox" else False
        msg = self._message(box, mid)
        if mark:
            self.gw.mark_fetched(mid)
        return JSONResponse(msg.to_json(self.gw.naming))

    async def mark_unread(self, request: Request, params: list[str]) -> Response:
        (mid,) = params
        if not self.gw.mark_fetched(mid, False):
            raise _Refusal(404, "Message not found")
        return JSONResponse({"message": f"Successfully marked message {mid} as unread"})

    async def delete(self, request: Request, params: list[str]) -> Response:
        box, mid = params
        if not self.gw.delete(mid, inbox=box == "inbox"):
            raise _Refusal(404, "Unable to find message")
        return JSONResponse({"deleted": mid})

    async def batch_delete(self, request: Request, params: list[str]) -> Response:
        (box,) = params
        data = await _json_body(request)
        ids = None
        if isinstance(data, dict):
            ids = data.get("messageIdentifiers", data.get("as2MessageIds"))
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise _Refusal(400, "messageIdentifiers must be a non-empty array of identifiers")
        if len(ids) > 100:
            raise _Refusal(400, f"At most 100 messages per request ({len(ids)} given)")
        deleted = [mid for mid in dict.fromkeys(ids) if self.gw.delete(mid, inbox=box == "inbox")]
        if not deleted:
            raise _Refusal(404, "Unable to find messages")
        return JSONResponse({"deleted": deleted})

    async def attachments(self, request: Request, params: list[str]) -> Response:
        box, mid = params
        links = self.gw.attachment_links(mid, inbox=box == "inbox")
        if links is None:
            raise _Refusal(404, "Attachment(s) not found")
        return JSONResponse(
            {"total": len(links), "attachments": [{"name": n, "url": u} for n, u in links]}
        )

    async def mdn(self, request: Request, params: list[str]) -> Response:
        box, mid = params
        url = self.gw.mdn_link(mid, inbox=box == "inbox")
        if url is None:
            raise _Refusal(404, "MDN not found")
        return JSONResponse({"url": url})

    # ------------------------------------------------------------------ admin

    async def certificates(self, request: Request, params: list[str]) -> Response:
        cert_type = request.query_params.get("certType") or None
        if cert_type is not None and cert_type not in _CERT_TYPES:
            raise _Refusal(400, f"Invalid certType: {cert_type} (one of {', '.join(_CERT_TYPES)})")
        return JSONResponse([c.summary() for c in self.gw.certificates(cert_type)])

    async def certificate(self, request: Request, params: list[str]) -> Response:
        (alias,) = params
        cert = self.gw.certificate(alias)
        if cert is None:
            raise _Refusal(404, f"Unable to find certificate with alias: {alias}")
        return JSONResponse(cert.to_json())

    async def create_station(self, request: Request, params: list[str]) -> Response:
        data = await _json_body(request)
        errors = _station_errors(data, self.gw)
        if errors:
            raise _Refusal(422, _VALIDATION_FAILED, errors)
        station = self.gw.create_station(data)
        return JSONResponse(
            {"message": "Station created successfully", "stationId": station.station_id}
        )

    async def create_partner(self, request: Request, params: list[str]) -> Response:
        data = await _json_body(request)
        errors = _partner_errors(data, self.gw)
        if errors:
            raise _Refusal(422, _VALIDATION_FAILED, errors)
        partner = self.gw.create_partner(data)
        return JSONResponse(
            {"message": "Partner created successfully", "partnerId": partner.partner_id}
        )


# ---------------------------------------------------------------------- validation

_NEW_CERT_REQUIRED = ("commonName", "password", "keyLength", "validity")
_KEYSTORE_REQUIRED = ("keystore", "keystorePassword", "alias", "privateKeyPassword")
_ENCRYPTION = (
    "DES_EDE3_CBC",
    "AES128_CBC",
    "AES192_CBC",
    "AES256_CBC",
    "CAMELLIA128_CBC",
    "CAMELLIA192_CBC",
    "CAMELLIA256_CBC",
    "CAST5_CBC",
    "RC2_CBC",
    "SEED_CBC",
    "ECDH_SHA1KDF",
)
_SIGNATURE = ("SHA1", "MD2", "MD5", "SHA224", "SHA256", "SHA384", "SHA512")
_RESERVED_HEADERS = (
    "as2-from",
    "as2-to",
    "as2-version",
    "content-transfer-encoding",
    "content-type",
    "disposition-notification-options",
    "mime-version",
    "message-id",
    "receipt-delivery-option",
    "destination",
)


def _required(data: dict[str, Any], names: tuple[str, ...]) -> list[dict[str, str]]:
    return [
        {name: f"{name} is required"}
        for name in names
        if data.get(name) is None or data.get(name) == ""
    ]


def _station_errors(data: Any, gw: MftGateway) -> list[dict[str, str]]:
    if not isinstance(data, dict):
        return [{"body": "Request body must be a JSON object"}]
    errors = _required(data, ("name", "as2Identifier", "email", "certificate"))
    as2_id = data.get("as2Identifier")
    if isinstance(as2_id, str) and as2_id and gw.has_station(as2_id):
        errors.append({"as2Identifier": f"Station already exists with AS2 identifier: {as2_id}"})
    email = data.get("email")
    if isinstance(email, str) and email:
        emails = [e.strip() for e in email.split(",")]
        if len(emails) > 3:
            errors.append({"email": "At most 3 email addresses are allowed"})
        elif not all("@" in e for e in emails):
            errors.append({"email": "Invalid email address"})
    cert = data.get("certificate")
    if cert is not None:
        if not isinstance(cert, dict):
            errors.append({"certificate": "certificate must be an object"})
        else:
            kind = cert.get("type", "NEW_SELF_SIGN_CERTIFICATE")
            needed = {
                "NEW_SELF_SIGN_CERTIFICATE": _NEW_CERT_REQUIRED,
                "FROM_KEYSTORE": _KEYSTORE_REQUIRED,
                "FROM_CERTIFICATE_STORE": ("alias",),
            }.get(kind)
            if needed is None:
                errors.append({"certificate.type": f"Unknown certificate type: {kind}"})
            else:
                errors += [
                    {f"certificate.{k}": v for k, v in e.items()} for e in _required(cert, needed)
                ]
                if kind == "NEW_SELF_SIGN_CERTIFICATE":
                    if cert.get("keyLength") not in (None, 1024, 2048, 4096):
                        errors.append({"certificate.keyLength": "must be 1024, 2048 or 4096"})
                    if cert.get("validity") not in (None, 1, 2, 5, 8, 10):
                        errors.append({"certificate.validity": "must be 1, 2, 5, 8 or 10"})
    return errors


def _partner_errors(data: Any, gw: MftGateway) -> list[dict[str, str]]:
    if not isinstance(data, dict):
        return [{"body": "Request body must be a JSON object"}]
    errors = _required(data, ("name", "as2Identifier", "url", "encryptionCertificate"))
    as2_id = data.get("as2Identifier")
    if isinstance(as2_id, str) and as2_id and gw.has_partner(as2_id):
        errors.append({"as2Identifier": f"Partner already exists with AS2 identifier: {as2_id}"})
    url = data.get("url")
    if isinstance(url, str) and url and not url.startswith(("http://", "https://")):
        errors.append({"url": "url must be an http or https URL"})
    cert = data.get("encryptionCertificate")
    if isinstance(cert, str) and cert:
        try:
            base64.b64decode(cert, validate=True)
        except (binascii.Error, ValueError):
            errors.append({"encryptionCertificate": "must be Base64 encoded"})
    if data.get("encryptionAlgorithm") not in (None, *_ENCRYPTION):
        errors.append({"encryptionAlgorithm": "Unsupported encryption algorithm"})
    if data.get("signatureAlgorithm") not in (None, *_SIGNATURE):
        errors.append({"signatureAlgorithm": "Unsupported signature algorithm"})
    if data.get("transmissionTimeout") not in (None, 60, 120, 180, 300):
        errors.append({"transmissionTimeout": "must be 60, 120, 180 or 300"})
    subject = data.get("messageSubject")
    if subject is not None and not (isinstance(subject, str) and 1 <= len(subject) <= 128):
        errors.append({"messageSubject": "must be 1 to 128 characters"})
    for header in data.get("customHeaders") or []:
        name = header.get("headerName", "") if isinstance(header, dict) else ""
        if str(name).lower() in _RESERVED_HEADERS:
            errors.append({"customHeaders": f"Reserved header name: {name}"})
    return errors


# ---------------------------------------------------------------------- bodies


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
        if seen > cap:
            buf.clear()
            if seen > _DRAIN_CAP:
                break
            continue
        buf += chunk
    return None if seen > cap else bytes(buf)


async def _multipart(request: Request, body: bytes) -> list[tuple[str, bytes, str]]:
    async def replay() -> ASGIMessage:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(
            max_files=10_000, max_fields=10_000, max_part_size=len(body) + 1
        )
    except Exception as exc:
        detail = getattr(exc, "detail", None) or str(exc) or type(exc).__name__
        raise _Refusal(400, f"Malformed multipart payload: {detail}") from None
    try:
        out: list[tuple[str, bytes, str]] = []
        for key, value in form.multi_items():
            if key != "File":
                continue
            if not isinstance(value, UploadFile) or not value.filename:
                raise _Refusal(400, 'Each "File" part must be a file with a filename')
            data = await value.read()
            out.append((value.filename, data, value.content_type or "application/octet-stream"))
    finally:
        await form.close()
    if not out:
        raise _Refusal(400, 'The multipart payload holds no "File" part')
    return out


def create_app(gateway: MftGateway) -> Starlette:
    """The MFT emulator as a Starlette (ASGI) app serving ``gateway``."""
    handler = _MftApp(gateway)
    app = Starlette(routes=[Route("/{path:path}", handler.handle, methods=_ALL_METHODS)])
    app.state.gateway = gateway
    return app
