"""The HTTP face of the ECGrid emulator: a Starlette app serving ECGrid REST v2.6 under ``/v2/``.

Every answer is the envelope ``{"success", "data", "errorCode", "message"}``; errors carry the
documented HTTP status of their errorCode. Non-spec control routes live under ``/_emulator/``.
Downloads are streamed (the base64 ``content`` is encoded chunk by chunk into the response),
and uploads are parsed as they arrive (``content`` is decoded once, straight into storage).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..app import InjectedFault
from ._codec import UploadError, UploadParser, b64_chunks, b64_length
from .faults import FAULT_KINDS, Fault
from .state import (
    HOSTILE_FILE_NAMES,
    ECGridError,
    ECGridState,
    Parcel,
    Principal,
    isa_date,
    parse_isa,
    parse_iso,
)

__all__ = ["create_app"]

_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
_JSON_CAP = 16 << 20  # bodies of calls other than upload: at most 16 MiB of JSON
_DRAIN_CAP = 64 << 20


@dataclass
class _Call:
    request: Request
    body: dict[str, Any]
    params: list[str]
    principal: Principal | None


Handler = Callable[[_Call], Awaitable[Response]]


@dataclass(frozen=True)
class _RouteSpec:
    method: str
    name: str
    handler: Handler
    auth: bool = True
    raw_body: bool = False  # the handler reads the body itself (upload)


class _Answer(Exception):
    """A ready response to send instead of running the handler."""

    def __init__(self, response: Response) -> None:
        self.response = response


class _ECGridApp:
    def __init__(self, state: ECGridState) -> None:
        self.st = state
        fixed: dict[tuple[str, ...], list[_RouteSpec]] = {}
        with_id: dict[tuple[str, ...], list[_RouteSpec]] = {}

        def add(path: str, method: str, handler: Handler, **kw: Any) -> None:
            parts = tuple(path.split("/"))
            table = with_id if parts[-1] == "{id}" else fixed
            key = parts[:-1] if parts[-1] == "{id}" else parts
            name = "/".join(p for p in parts if p != "{id}")
            if parts[-1] == "{id}" and len(parts) == 2:
                name += "/get"
            table.setdefault(key, []).append(_RouteSpec(method, name, handler, **kw))

        add("auth/version", "GET", self.version, auth=False)
        add("auth/login", "POST", self.login, auth=False)
        add("auth/refresh", "POST", self.refresh, auth=False)
        add("auth/logout", "POST", self.logout)
        add("auth/session", "POST", self.session)
        add("auth/password", "PUT", self.password)
        add("parcels/upload", "POST", self.upload, raw_body=True)
        add("parcels/download", "POST", self.download)
        add("parcels/confirm", "POST", self.confirm)
        add("parcels/inbox-list", "POST", self.parcel_inbox)
        add("parcels/outbox-list", "POST", self.parcel_outbox)
        add("parcels/pending-inbox-list", "POST", self.parcel_pending)
        add("parcels/update", "POST", self.parcel_update)
        add("parcels/set-mailbagcontrolid", "POST", self.set_mailbag)
        add("parcels/find-mailbagcontrolid", "POST", self.find_mailbag)
        add("parcels/acknowledgment-note", "POST", self.ack_note)
        add("parcels/send-test-file", "POST", self.send_test_file)
        add("parcels/{id}", "GET", self.parcel_get)
        add("parcels/manifest/{id}", "GET", self.parcel_manifest)
        add("parcels/cancel/{id}", "POST", self.parcel_cancel)
        add("parcels/reset-to-inbox/{id}", "POST", self.parcel_reset)
        add("interchanges/{id}", "GET", self.interchange_get)
        add("interchanges/inbox-list", "POST", self.interchange_inbox)
        add("interchanges/outbox-list", "POST", self.interchange_outbox)
        add("interchanges/cancel/{id}", "POST", self.interchange_cancel)
        add("interchanges/resend/{id}", "POST", self.interchange_resend)
        add("interchanges/get-manifest/{id}", "GET", self.interchange_manifest)
        add("interchanges/get-header", "POST", self.interchange_header)
        add("interchanges/get-date", "POST", self.interchange_date)
        add("mailboxes/list", "POST", self.mailbox_list)
        add("mailboxes/{id}", "GET", self.mailbox_get)
        add("networks/list", "POST", self.network_list)
        add("networks/{id}", "GET", self.network_get)
        self._fixed = fixed
        self._with_id = with_id

    # ------------------------------------------------------------------ envelope

    def _envelope(self, data: Any, **extra: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"success": True, "data": data}
        out.update(extra)
        mode = self.st.success_fields
        if mode == "empty":
            out["errorCode"] = ""
            out["message"] = ""
        elif mode == "null":
            out["errorCode"] = None
            out["message"] = None
        return out

    def ok(self, data: Any, **extra: Any) -> Response:
        return JSONResponse(self._envelope(data, **extra))

    def error(
        self, error_code: str, message: str, status: int, headers: dict[str, str] | None = None
    ) -> Response:
        body = {"success": False, "data": None, "errorCode": error_code, "message": message}
        return JSONResponse(body, status_code=status, headers=headers)

    # ------------------------------------------------------------------ dispatch

    def _match(self, method: str, rest: list[str]) -> tuple[_RouteSpec, list[str]] | str:
        candidates = self._fixed.get(tuple(rest), [])
        params: list[str] = []
        if not candidates and len(rest) >= 2 and rest[-1].isdigit():
            candidates = self._with_id.get(tuple(rest[:-1]), [])
            params = [rest[-1]]
        if not candidates:
            return "404"
        for spec in candidates:
            if spec.method == method:
                return spec, params
        return "405"

    async def handle(self, request: Request) -> Response:
        path = request.url.path.strip("/").split("/")
        if path and path[0] == "_emulator":
            return await _Control(self.st).handle(request, path[1:])
        match = self._match(request.method, path[1:]) if path[:1] == ["v2"] else "404"
        if isinstance(match, str):
            await _drain(request)
            if match == "405":
                response = self.error("InvalidParameter", "Method not allowed", 405)
            else:
                response = self.error("ObjectNotFound", f"No endpoint {request.url.path}", 404)
            return self._count(None, response)
        spec, params = match
        try:
            response = await self._run(spec, params, request)
        except _Answer as answer:
            response = answer.response
        except ECGridError as exc:
            await _drain(request)
            response = self.error(exc.error_code, exc.message, exc.status)
        return self._count(spec.name, response)

    async def _run(self, spec: _RouteSpec, params: list[str], request: Request) -> Response:
        st = self.st
        with st._lock:
            st.stats.routes[spec.name] += 1
        if st.latency > 0:
            await anyio.sleep(st.latency)
        await self._injected(spec.name, request)
        principal = self._authenticate(request) if spec.auth else None
        body: dict[str, Any] = {}
        if not spec.raw_body:
            body = await _json_body(request)
        return await spec.handler(_Call(request, body, params, principal))

    async def _injected(self, route: str, request: Request) -> None:
        fault = self.st.faults.take(route, ("status", "rate_limit", "envelope", "latency"))
        if fault is None:
            return
        self._note_fault(fault)
        if fault.kind == "latency":
            await anyio.sleep(fault.seconds)
            return
        await _drain(request)  # answer after the body, not into a broken pipe
        message = fault.message or f"{fault.error_code} (injected)"
        if fault.kind == "rate_limit":
            raise _Answer(
                self.error(
                    "RateLimitExceeded",
                    fault.message or "Too many requests (injected)",
                    429,
                    {"Retry-After": _seconds(fault.retry_after)},
                )
            )
        status = 200 if fault.kind == "envelope" else fault.status
        raise _Answer(self.error(fault.error_code, message, status))

    def _note_fault(self, fault: Fault) -> None:
        with self.st._lock:
            self.st.stats.faults[fault.kind] += 1

    def _authenticate(self, request: Request) -> Principal:
        key = request.headers.get("x-api-key")
        if key is not None:
            return self.st.check_api_key(key)
        auth = request.headers.get("authorization")
        if auth is None:
            raise ECGridError("InvalidAPIKey", "Send X-API-Key or Authorization: Bearer <token>.")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ECGridError("InvalidSession", "The Authorization header must be Bearer <token>.")
        return self.st.check_token(token.strip())

    def _count(self, route: str | None, response: Response) -> Response:
        code = getattr(response, "error_code", None)
        if code is None and isinstance(response, JSONResponse):
            try:
                body = json.loads(bytes(response.body))
                code = body.get("errorCode") if body.get("success") is False else None
            except ValueError:  # pragma: no cover - we wrote it
                code = None
        with self.st._lock:
            self.st.stats.requests += 1
            self.st.stats.statuses[response.status_code] += 1
            if code:
                self.st.stats.error_codes[code] += 1
        return response

    # ------------------------------------------------------------------ auth

    async def version(self, call: _Call) -> Response:
        return self.ok({"version": "2.6"})

    async def login(self, call: _Call) -> Response:
        login = call.body.get("login", call.body.get("email"))
        password = call.body.get("password")
        if not isinstance(login, str) or not isinstance(password, str):
            raise ECGridError("InvalidParameter", "login (or email) and password are required")
        return self.ok(self.st.do_login(login, password))

    async def refresh(self, call: _Call) -> Response:
        token = call.body.get("token")
        refresh = call.body.get("refreshToken")
        if not isinstance(token, str) and not isinstance(refresh, str):
            raise ECGridError("InvalidParameter", "token (or refreshToken) is required")
        return self.ok(
            self.st.do_refresh(
                token if isinstance(token, str) else None,
                refresh if isinstance(refresh, str) else None,
            )
        )

    async def logout(self, call: _Call) -> Response:
        assert call.principal is not None
        self.st.do_logout(call.principal)
        return JSONResponse(
            {"success": True, "data": None, "errorCode": "", "message": "Session terminated."}
        )

    async def session(self, call: _Call) -> Response:
        assert call.principal is not None
        return self.ok(self.st.session_info(call.principal))

    async def password(self, call: _Call) -> Response:
        assert call.principal is not None
        self.st.change_password(
            call.principal, call.body.get("currentPassword"), call.body.get("newPassword")
        )
        return JSONResponse(
            {
                "success": True,
                "data": None,
                "errorCode": "",
                "message": "Password updated successfully.",
            }
        )

    # ------------------------------------------------------------------ parcels

    async def upload(self, call: _Call) -> Response:
        parser = UploadParser()
        try:
            async for chunk in call.request.stream():
                parser.feed(chunk)
            parser.close()
        except UploadError as exc:
            await _drain(call.request)
            raise ECGridError("InvalidParameter", str(exc)) from None
        fields = parser.fields
        name = fields.get("fileName")
        if not isinstance(name, str) or not name:
            raise ECGridError("InvalidParameter", "fileName is required")
        content = parser.content
        if content is None:
            raise ECGridError("InvalidParameter", "content (base64) is required")
        declared = _opt_int(fields, "bytes")
        if declared is not None and declared != len(content):
            raise ECGridError(
                "InvalidParameter",
                f"bytes ({declared}) does not match the decoded content ({len(content)} bytes)",
            )
        parcel = self.st.upload(
            name,
            content,
            mailbox_id=_opt_int(fields, "mailboxId"),
            ecgrid_id_from=_opt_int(fields, "ecGridIdFrom", "fromECGridId"),
            ecgrid_id_to=_opt_int(fields, "ecGridIdTo", "toECGridId"),
        )
        if self.st.upload_answer == "object":
            return self.ok(
                {
                    "parcelId": parcel.parcel_id,
                    "fileName": parcel.file_name,
                    "status": parcel.status,
                    "size": parcel.size,
                }
            )
        return self.ok(parcel.parcel_id)

    async def download(self, call: _Call) -> Response:
        pid = _req_int(call.body, "parcelId")
        parcel = self.st.begin_download(pid)
        faults = self.st.faults
        reset = faults.take("parcels/download", ("reset",))
        mismatch = faults.take("parcels/download", ("mismatch",))
        for fault in (reset, mismatch):
            if fault is not None:
                self._note_fault(fault)
        declared = parcel.declared_bytes if parcel.declared_bytes is not None else parcel.size
        if mismatch is not None:
            declared = parcel.size + mismatch.delta
        return _DownloadResponse(
            parcel,
            declared,
            self._envelope(None),
            self.st.spelling,
            reset.fraction if reset is not None else None,
        )

    async def confirm(self, call: _Call) -> Response:
        parcel = self.st.confirm(_req_int(call.body, "parcelId"))
        if self.st.confirm_answer == "object":
            return self.ok({"parcelId": parcel.parcel_id, "status": parcel.status})
        return self.ok(True)

    def _filters(self, body: dict[str, Any]) -> dict[str, Any]:
        begin = body.get("beginDate")
        end = body.get("endDate")
        return {
            "mailbox_id": _opt_int(body, "mailboxId"),
            "ecgrid_id_from": _opt_int(body, "ecGridIdFrom", "fromECGridId"),
            "ecgrid_id_to": _opt_int(body, "ecGridIdTo", "toECGridId"),
            "begin": parse_iso(begin, "beginDate") if begin else None,
            "end": parse_iso(end, "endDate") if end else None,
        }

    def _parcel_page(self, parcels: list[Parcel], body: dict[str, Any], paged: bool) -> Response:
        st = self.st
        total = len(parcels)
        if paged:
            page_no, per_page = _paging(body, default=25, maximum=500)
            window = parcels[(page_no - 1) * per_page : page_no * per_page]
        else:
            page_no, per_page, window = 1, max(total, 1), parcels
        items = [p.to_json(st.spelling) for p in window]
        if st.page_shape == 2:
            return self.ok(
                {
                    "totalRecords": total,
                    "pageNo": page_no,
                    "recordsPerPage": per_page,
                    "parcels": items,
                }
            )
        if st.page_shape == 3:
            return self.ok(items, totalRecords=total, pageNo=page_no, recordsPerPage=per_page)
        return self.ok(items)

    async def parcel_inbox(self, call: _Call) -> Response:
        status = _opt_str(call.body, "status")
        parcels = self.st.list_parcels(outbound=False, status=status, **self._filters(call.body))
        return self._parcel_page(parcels, call.body, paged=True)

    async def parcel_outbox(self, call: _Call) -> Response:
        status = _opt_str(call.body, "status")
        parcels = self.st.list_parcels(outbound=True, status=status, **self._filters(call.body))
        return self._parcel_page(parcels, call.body, paged=True)

    async def parcel_pending(self, call: _Call) -> Response:
        parcels = self.st.pending(_opt_int(call.body, "mailboxId"))
        paged = "pageNo" in call.body or "recordsPerPage" in call.body
        return self._parcel_page(parcels, call.body, paged=paged)

    async def parcel_get(self, call: _Call) -> Response:
        return self.ok(self.st.parcel(_path_id(call)).to_json(self.st.spelling))

    async def parcel_manifest(self, call: _Call) -> Response:
        parcel = self.st.parcel(_path_id(call))
        return self.ok(
            [
                {
                    "interchangeId": i.interchange_id,
                    "sender": i.sender,
                    "receiver": i.receiver,
                    "documentType": i.document_type,
                    "count": i.count,
                }
                for i in parcel.interchanges
            ]
        )

    async def parcel_cancel(self, call: _Call) -> Response:
        self.st.cancel(_path_id(call))
        return self.ok(True)

    async def parcel_reset(self, call: _Call) -> Response:
        self.st.reset_to_inbox(_path_id(call))
        return self.ok(True)

    async def parcel_update(self, call: _Call) -> Response:
        parcel = self.st.update(_req_int(call.body, "parcelId"), _opt_str(call.body, "status"))
        return self.ok(parcel.to_json(self.st.spelling))

    async def set_mailbag(self, call: _Call) -> Response:
        value = _req_str(call.body, "mailbagControlId")
        self.st.set_mailbag_control_id(_req_int(call.body, "parcelId"), value)
        return self.ok(True)

    async def find_mailbag(self, call: _Call) -> Response:
        value = _req_str(call.body, "mailbagControlId")
        parcels = self.st.list_parcels(
            outbound=False, mailbox_id=_opt_int(call.body, "mailboxId"), mailbag_control_id=value
        )
        return self.ok([p.to_json(self.st.spelling) for p in parcels])

    async def ack_note(self, call: _Call) -> Response:
        note = _req_str(call.body, "note")
        self.st.add_note(_req_int(call.body, "parcelId"), note)
        return self.ok(True)

    async def send_test_file(self, call: _Call) -> Response:
        doc = call.body.get("documentType") or "850"
        if not isinstance(doc, str):
            raise ECGridError("InvalidParameter", "documentType must be a string")
        parcel = self.st.send_test_file(
            _req_int(call.body, "ecGridIdFrom"), _req_int(call.body, "ecGridIdTo"), doc
        )
        return self.ok(parcel.parcel_id)

    # ------------------------------------------------------------------ interchanges

    async def interchange_get(self, call: _Call) -> Response:
        return self.ok(self.st.interchange(_path_id(call)).to_json())

    def _interchange_page(self, call: _Call, outbound: bool) -> Response:
        page_no, per_page = _paging(call.body, default=100, maximum=500)
        items = self.st.list_interchanges(outbound=outbound, **self._filters(call.body))
        window = items[(page_no - 1) * per_page : page_no * per_page]
        return self.ok(
            {
                "totalRecords": len(items),
                "pageNo": page_no,
                "recordsPerPage": per_page,
                "interchanges": [i.to_json() for i in window],
            }
        )

    async def interchange_inbox(self, call: _Call) -> Response:
        return self._interchange_page(call, outbound=False)

    async def interchange_outbox(self, call: _Call) -> Response:
        return self._interchange_page(call, outbound=True)

    async def interchange_cancel(self, call: _Call) -> Response:
        self.st.cancel_interchange(_path_id(call))
        return self.ok(True)

    async def interchange_resend(self, call: _Call) -> Response:
        self.st.resend_interchange(_path_id(call))
        return self.ok(True)

    async def interchange_manifest(self, call: _Call) -> Response:
        ich = self.st.interchange(_path_id(call))
        return self.ok(
            [
                {
                    "functionalGroup": "PO" if ich.document_type == "850" else "IN",
                    "transactionSetType": ich.document_type,
                    "transactionSetCount": ich.count,
                    "groupControlNumber": f"{ich.interchange_id % 1_000_000:06d}",
                }
            ]
        )

    async def interchange_header(self, call: _Call) -> Response:
        return self.ok(parse_isa(call.body.get("interchangeHeader")))

    async def interchange_date(self, call: _Call) -> Response:
        return self.ok(isa_date(call.body.get("interchangeHeader")))

    # ------------------------------------------------------------------ administration

    def _admin_page(self, call: _Call, rows: list[dict[str, Any]], key: str) -> Response:
        page_no, per_page = _paging(call.body, default=25, maximum=500)
        status = _opt_str(call.body, "status")
        network = _opt_int(call.body, "networkId")
        rows = [
            r
            for r in rows
            if (not status or r.get("status") == status)
            and (not network or r.get("networkId") == network)
        ]
        return self.ok(
            {
                "totalRecords": len(rows),
                "pageNo": page_no,
                "recordsPerPage": per_page,
                key: rows[(page_no - 1) * per_page : page_no * per_page],
            }
        )

    async def mailbox_list(self, call: _Call) -> Response:
        return self._admin_page(call, self.st.mailboxes, "mailboxes")

    async def network_list(self, call: _Call) -> Response:
        return self._admin_page(call, self.st.networks, "networks")

    async def mailbox_get(self, call: _Call) -> Response:
        return self.ok(_find(self.st.mailboxes, "mailboxId", _path_id(call), "Mailbox"))

    async def network_get(self, call: _Call) -> Response:
        return self.ok(_find(self.st.networks, "networkId", _path_id(call), "Network"))


# ---------------------------------------------------------------------- the streamed download


class _DownloadResponse(Response):
    """``{"success": true, "data": {"parcelId", "fileName", "content", "bytes"}, ...}``, with
    ``content`` base64-encoded chunk by chunk as it is sent; an exact ``Content-Length``.

    With ``reset`` (a fraction) the connection is dropped after that share of the body.
    """

    def __init__(
        self,
        parcel: Parcel,
        declared: int,
        envelope: dict[str, Any],
        spelling: str,
        reset: float | None,
    ) -> None:
        data_head = {"parcelId": parcel.parcel_id, "fileName": parcel.file_name}
        head = json.dumps(data_head)[:-1].encode() + b', "content": "'
        if spelling == "guide":
            tail_fields = {"contentEncoding": "Base64", "size": declared}
        else:
            tail_fields = {"bytes": declared}
        tail = b'", ' + json.dumps(tail_fields)[1:].encode()
        rest = {k: v for k, v in envelope.items() if k not in ("success", "data")}
        self._prefix = b'{"success": true, "data": ' + head
        self._suffix = tail + (b", " + json.dumps(rest)[1:].encode() if rest else b"}")
        self._parcel = parcel
        self._reset = reset
        self.length = len(self._prefix) + b64_length(parcel.size) + len(self._suffix)
        self.status_code = 200
        self.background = None
        self.init_headers({"content-type": "application/json", "content-length": str(self.length)})

    def _pieces(self) -> Iterator[bytes]:
        yield self._prefix
        yield from b64_chunks(self._parcel.iter_body())
        yield self._suffix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        budget = None if self._reset is None else int(self.length * self._reset)
        sent = 0
        for piece in self._pieces():
            if budget is not None and sent + len(piece) >= budget:
                piece = piece[: budget - sent]
                if piece:
                    await send({"type": "http.response.body", "body": piece, "more_body": True})
                raise InjectedFault(f"connection reset injected after {budget} of {self.length}")
            await send({"type": "http.response.body", "body": piece, "more_body": True})
            sent += len(piece)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


# ---------------------------------------------------------------------- helpers


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


async def _drain(request: Request) -> None:
    """Read and discard what is left of a request body (up to a bound)."""
    seen = 0
    try:
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > _DRAIN_CAP:
                return
    except Exception:  # already consumed or disconnected: nothing to drain
        return


async def _json_body(request: Request) -> dict[str, Any]:
    buf = bytearray()
    async for chunk in request.stream():
        buf += chunk
        if len(buf) > _JSON_CAP:
            await _drain(request)
            raise ECGridError("InvalidParameter", "request body too large")
    if not bytes(buf).strip():
        return {}
    try:
        data = json.loads(bytes(buf))
    except ValueError:
        raise ECGridError("InvalidParameter", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ECGridError("InvalidParameter", "The request body must be a JSON object.")
    return data


def _opt_int(body: dict[str, Any], *names: str) -> int | None:
    for name in names:
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool):
            raise ECGridError("InvalidParameter", f"{name} must be an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise ECGridError("InvalidParameter", f"{name} must be an integer")
    return None


def _req_int(body: dict[str, Any], name: str) -> int:
    value = _opt_int(body, name)
    if value is None:
        raise ECGridError("InvalidParameter", f"{name} is required")
    return value


def _opt_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ECGridError("InvalidParameter", f"{name} must be a string")
    return value


def _req_str(body: dict[str, Any], name: str) -> str:
    value = _opt_str(body, name)
    if value is None:
        raise ECGridError("InvalidParameter", f"{name} is required (non-empty)")
    return value


def _paging(body: dict[str, Any], *, default: int, maximum: int) -> tuple[int, int]:
    page_no = _opt_int(body, "pageNo")
    per_page = _opt_int(body, "recordsPerPage")
    page_no = 1 if page_no is None else page_no
    per_page = default if per_page is None else per_page
    if page_no < 1:
        raise ECGridError("InvalidParameter", "pageNo must be at least 1")
    if not 1 <= per_page <= maximum:
        raise ECGridError("InvalidParameter", f"recordsPerPage must be between 1 and {maximum}")
    return page_no, per_page


def _path_id(call: _Call) -> int:
    text = call.params[0]
    if not text.isdigit():
        raise ECGridError("InvalidParameter", f"id must be a number, not {text!r}")
    return int(text)


def _find(rows: list[dict[str, Any]], key: str, value: int, what: str) -> dict[str, Any]:
    for row in rows:
        if row.get(key) == value:
            return row
    raise ECGridError("ObjectNotFound", f"{what} {value} not found.")


# ---------------------------------------------------------------------- control routes


class _Control:
    """``/_emulator/``: inspect and drive an emulator running in another process."""

    def __init__(self, state: ECGridState) -> None:
        self.st = state

    async def handle(self, request: Request, rest: list[str]) -> Response:
        try:
            return await self._handle(request, "/".join(rest))
        except (ECGridError, ValueError, TypeError, KeyError) as exc:
            return JSONResponse({"message": f"{type(exc).__name__}: {exc}"}, status_code=400)

    async def _handle(self, request: Request, route: str) -> Response:
        st = self.st
        method = request.method
        if (method, route) == ("GET", "health"):
            return JSONResponse({"status": "ok"})
        if (method, route) == ("GET", "stats"):
            with st._lock:
                return JSONResponse(st.stats.as_dict())
        if (method, route) == ("GET", "config"):
            return JSONResponse(_config(st))
        if (method, route) == ("POST", "config"):
            data = await _json_body(request)
            for key, attr, convert in _SWITCHES:
                if key in data:
                    setattr(st, attr, convert(data[key]))
            return JSONResponse(_config(st))
        if (method, route) == ("POST", "expire-tokens"):
            st.expire_tokens()
            return JSONResponse({"message": "all tokens expired"})
        if (method, route) == ("POST", "seed"):
            data = await _json_body(request)
            sizes = data.get("sizes", 256)
            ids = st.seed_inbox(
                int(data.get("n", 10)),
                sizes=[int(s) for s in sizes] if isinstance(sizes, list) else int(sizes),
                file_names=HOSTILE_FILE_NAMES if data.get("hostile") else data.get("fileNames"),
                status=str(data.get("status", "InBoxReady")),
                outbound=bool(data.get("outbound", False)),
            )
            return JSONResponse({"ids": ids}, status_code=201)
        if (method, route) == ("POST", "faults"):
            data = await _json_body(request)
            kind = str(data.get("kind"))
            if kind not in FAULT_KINDS:
                raise ValueError(f"kind must be one of {list(FAULT_KINDS)}")
            fault = Fault(
                kind,
                str(
                    data.get("route", "parcels/download" if kind in ("reset", "mismatch") else "*")
                ),
                status=int(data.get("status", 500)),
                error_code=str(data.get("errorCode", "InternalError")),
                retry_after=float(data.get("retryAfter", 1.0)),
                fraction=float(data.get("fraction", 0.5)),
                delta=int(data.get("delta", 1)),
                seconds=float(data.get("seconds", 0.0)),
            )
            st.faults.add(fault, int(data.get("count", 1)))
            return JSONResponse({"queued": len(st.faults)})
        return JSONResponse({"message": f"No control route {method} /_emulator/{route}"}, 404)


_SWITCHES: tuple[tuple[str, str, Callable[[Any], Any]], ...] = (
    ("pageShape", "page_shape", int),
    ("spelling", "spelling", str),
    ("refreshTokens", "refresh_tokens", bool),
    ("tokenTtl", "token_ttl", float),
    ("refreshGrace", "refresh_grace", float),
    ("latency", "latency", float),
    ("uploadAnswer", "upload_answer", str),
    ("confirmAnswer", "confirm_answer", str),
    ("successFields", "success_fields", str),
)


def _config(st: ECGridState) -> dict[str, Any]:
    return {key: getattr(st, attr) for key, attr, _ in _SWITCHES}


def create_app(state: ECGridState) -> Starlette:
    """The ECGrid emulator as a Starlette (ASGI) app serving ``state``.

    Usable in-process with ``httpx.AsyncClient(transport=httpx.ASGITransport(app))`` or under
    any ASGI server; :func:`serve_ecgrid` runs it under uvicorn on loopback.
    """
    handler = _ECGridApp(state)
    app = Starlette(routes=[Route("/{path:path}", handler.handle, methods=_ALL_METHODS)])
    app.state.ecgrid = state
    return app
