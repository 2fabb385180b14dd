"""Parcels: the 15 calls of ECGrid's file exchange, as ``session.parcels``.

Inbound: `Parcels.pending` lists what is waiting (``InBoxReady``), `Parcels.download`
streams one to disk (base64 decoded on the fly, size checked, written atomically) and
`Parcels.confirm` tells the network it is safe; a parcel that is downloaded but not
confirmed is delivered again on the next poll, so `download` never confirms. Outbound:
`Parcels.upload` streams a file up as base64 inside JSON; it is never repeated silently.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from .._core.bodies import endpoint_of
from ..atomic import AtomicFile, ProgressCallback
from ..errors import IntegrityError, MalformedResponseError
from ..filenames import resolve_destination
from ..models import DownloadedFile
from ._pages import RawPage, iterate_pages, page_of
from ._scanner import ContentScanner, ScanError
from ._upload_body import UploadBody
from .envelope import error_from_envelope, unwrap
from .models import ManifestEntry, Parcel, ParcelStatus, manifest_entry_from, parcel_from

if TYPE_CHECKING:
    from .session import Session

__all__ = ["DEFAULT_PAGE_LENGTH", "Parcels"]

StrPath = str | os.PathLike[str]

#: Records a page for the parcel lists (the server's default is 25, its maximum 500).
DEFAULT_PAGE_LENGTH = 100


def _iso(value: dt.datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _filters(**values: Any) -> dict[str, Any]:
    """The request fields that were given (None means: not sent)."""
    return {k: v for k, v in values.items() if v is not None}


def _parcel(raw: Mapping[str, Any], endpoint: str) -> Parcel:
    try:
        return parcel_from(raw)
    except ValueError as exc:
        raise MalformedResponseError(
            f"{endpoint}: {exc}", endpoint=endpoint, response=httpx.Response(200)
        ) from None


class Parcels:
    """``session.parcels``: upload, download, confirm, lists and the other parcel calls."""

    def __init__(self, session: Session) -> None:
        self._s = session

    # -- lists ---------------------------------------------------------------------------

    def pending(
        self,
        *,
        mailbox_id: int | None = None,
        page_length: int = DEFAULT_PAGE_LENGTH,
        prefetch: int | None = None,
    ) -> AsyncIterator[Parcel]:
        """Every ``InBoxReady`` parcel (``POST /v2/parcels/pending-inbox-list``), paged.

        ``mailbox_id`` 0 or None: the key's default mailbox.

        >>> async for p in s.parcels.pending():  # doctest: +SKIP
        ...     print(p.parcel_id, p.file_name, p.size)
        """
        return self._iterate(
            "/v2/parcels/pending-inbox-list",
            _filters(mailboxId=mailbox_id),
            page_length=page_length,
            prefetch=prefetch,
        )

    def inbox(
        self,
        *,
        status: ParcelStatus | str | None = None,
        begin: dt.datetime | str | None = None,
        end: dt.datetime | str | None = None,
        mailbox_id: int | None = None,
        ecgrid_id_from: int | None = None,
        ecgrid_id_to: int | None = None,
        page_length: int = DEFAULT_PAGE_LENGTH,
        prefetch: int | None = None,
    ) -> AsyncIterator[Parcel]:
        """Inbound parcels (``POST /v2/parcels/inbox-list``), filtered, paged lazily."""
        return self._iterate(
            "/v2/parcels/inbox-list",
            self._list_filters(status, begin, end, mailbox_id, ecgrid_id_from, ecgrid_id_to),
            page_length=page_length,
            prefetch=prefetch,
        )

    def outbox(
        self,
        *,
        status: ParcelStatus | str | None = None,
        begin: dt.datetime | str | None = None,
        end: dt.datetime | str | None = None,
        mailbox_id: int | None = None,
        ecgrid_id_from: int | None = None,
        ecgrid_id_to: int | None = None,
        page_length: int = DEFAULT_PAGE_LENGTH,
        prefetch: int | None = None,
    ) -> AsyncIterator[Parcel]:
        """Outbound parcels (``POST /v2/parcels/outbox-list``), filtered, paged lazily."""
        return self._iterate(
            "/v2/parcels/outbox-list",
            self._list_filters(status, begin, end, mailbox_id, ecgrid_id_from, ecgrid_id_to),
            page_length=page_length,
            prefetch=prefetch,
        )

    async def find_by_mailbag_control_id(
        self, mailbag_control_id: str, *, mailbox_id: int | None = None
    ) -> list[Parcel]:
        """``POST /v2/parcels/find-mailbagcontrolid``: the parcels with that control id."""
        envelope = await self._s.call_envelope(
            "POST",
            "/v2/parcels/find-mailbagcontrolid",
            json=_filters(mailboxId=mailbox_id, mailbagControlId=mailbag_control_id),
            idempotent=True,
        )
        endpoint = "POST /v2/parcels/find-mailbagcontrolid"
        return [_parcel(r, endpoint) for r in self._page(envelope, endpoint).items]

    @staticmethod
    def _list_filters(
        status: ParcelStatus | str | None,
        begin: dt.datetime | str | None,
        end: dt.datetime | str | None,
        mailbox_id: int | None,
        ecgrid_id_from: int | None,
        ecgrid_id_to: int | None,
    ) -> dict[str, Any]:
        return _filters(
            mailboxId=mailbox_id,
            ecGridIdFrom=ecgrid_id_from,
            ecGridIdTo=ecgrid_id_to,
            status=None if status is None else str(status),
            beginDate=_iso(begin),
            endDate=_iso(end),
        )

    @staticmethod
    def _page(envelope: Mapping[str, Any], endpoint: str) -> RawPage:
        try:
            return page_of(envelope, "parcels")
        except ValueError as exc:
            raise MalformedResponseError(
                f"{endpoint}: {exc}", endpoint=endpoint, response=httpx.Response(200)
            ) from None

    def _iterate(
        self,
        path: str,
        filters: dict[str, Any],
        *,
        page_length: int,
        prefetch: int | None,
    ) -> AsyncIterator[Parcel]:
        if not 1 <= page_length <= 500:
            raise ValueError(f"page_length must be 1..500, not {page_length}")
        endpoint = f"POST {path}"

        async def fetch(page_no: int, per_page: int) -> RawPage:
            body = {**filters, "pageNo": page_no, "recordsPerPage": per_page}
            envelope = await self._s.call_envelope("POST", path, json=body, idempotent=True)
            return self._page(envelope, endpoint)

        kwargs = {} if prefetch is None else {"prefetch": prefetch}
        return iterate_pages(
            fetch,
            lambda raw: _parcel(raw, endpoint),
            key=lambda p: p.parcel_id,
            page_length=page_length,
            **kwargs,
        )

    # -- one parcel ------------------------------------------------------------------------

    async def get(self, parcel_id: int) -> Parcel:
        """``GET /v2/parcels/{id}``."""
        data = await self._s.call("GET", f"/v2/parcels/{int(parcel_id)}")
        return self._one(data, "GET /v2/parcels/{id}")

    async def manifest(self, parcel_id: int) -> list[ManifestEntry]:
        """``GET /v2/parcels/manifest/{id}``: the interchanges inside a parcel."""
        data = await self._s.call("GET", f"/v2/parcels/manifest/{int(parcel_id)}")
        if not isinstance(data, list):
            data = []
        return [manifest_entry_from(r) for r in data if isinstance(r, dict)]

    async def confirm(self, parcel_id: int) -> None:
        """``POST /v2/parcels/confirm``: the file is safe; the parcel becomes
        ``InBoxTransferred`` and is not delivered again. Call it only after `download`."""
        await self._s.call(
            "POST", "/v2/parcels/confirm", json={"parcelId": int(parcel_id)}, idempotent=True
        )

    async def cancel(self, parcel_id: int) -> None:
        """``POST /v2/parcels/cancel/{id}``: an outbound parcel not yet delivered."""
        await self._s.call("POST", f"/v2/parcels/cancel/{int(parcel_id)}", idempotent=True)

    async def reset_to_inbox(self, parcel_id: int) -> None:
        """``POST /v2/parcels/reset-to-inbox/{id}``: make an inbound parcel ``InBoxReady``."""
        await self._s.call("POST", f"/v2/parcels/reset-to-inbox/{int(parcel_id)}", idempotent=True)

    async def update(self, parcel_id: int, *, status: ParcelStatus | str | None = None) -> Parcel:
        """``POST /v2/parcels/update``: set a parcel's status; returns the parcel."""
        data = await self._s.call(
            "POST",
            "/v2/parcels/update",
            json=_filters(parcelId=int(parcel_id), status=None if status is None else str(status)),
            idempotent=True,
        )
        return self._one(data, "POST /v2/parcels/update")

    async def set_mailbag_control_id(self, parcel_id: int, mailbag_control_id: str) -> None:
        """``POST /v2/parcels/set-mailbagcontrolid``."""
        await self._s.call(
            "POST",
            "/v2/parcels/set-mailbagcontrolid",
            json={"parcelId": int(parcel_id), "mailbagControlId": mailbag_control_id},
            idempotent=True,
        )

    async def acknowledgment_note(self, parcel_id: int, note: str) -> None:
        """``POST /v2/parcels/acknowledgment-note``: attach a note (not repeated silently)."""
        await self._s.call(
            "POST",
            "/v2/parcels/acknowledgment-note",
            json={"parcelId": int(parcel_id), "note": note},
        )

    async def send_test_file(
        self, ecgrid_id_from: int, ecgrid_id_to: int, *, document_type: str | None = None
    ) -> int:
        """``POST /v2/parcels/send-test-file``: the new parcel's id (not repeated silently)."""
        data = await self._s.call(
            "POST",
            "/v2/parcels/send-test-file",
            json=_filters(
                ecGridIdFrom=ecgrid_id_from, ecGridIdTo=ecgrid_id_to, documentType=document_type
            ),
        )
        return _parcel_id(data, "POST /v2/parcels/send-test-file")

    @staticmethod
    def _one(data: Any, endpoint: str) -> Parcel:
        if not isinstance(data, dict):
            raise MalformedResponseError(
                f"{endpoint}: data is not a parcel", endpoint=endpoint, response=httpx.Response(200)
            )
        return _parcel(data, endpoint)

    # -- upload --------------------------------------------------------------------------

    async def upload(
        self,
        path: StrPath,
        *,
        file_name: str | None = None,
        mailbox_id: int | None = None,
        ecgrid_id_from: int | None = None,
        ecgrid_id_to: int | None = None,
    ) -> int:
        """Upload a file as a new parcel (``POST /v2/parcels/upload``); return its id.

        The JSON body is streamed: the file is base64-encoded in chunks as it is sent, so
        memory stays flat whatever its size; ``bytes`` is given. Without ids, routing
        follows the ISA segment. An upload is not idempotent: it is repeated only when the
        server refused it unread (429) or the connection was never made.

        >>> pid = await s.parcels.upload("po.edi", ecgrid_id_to=2)  # doctest: +SKIP
        """
        name = file_name if file_name is not None else os.path.basename(os.fspath(path))
        body = UploadBody(
            path,
            _filters(
                fileName=name,
                mailboxId=mailbox_id,
                ecGridIdFrom=ecgrid_id_from,
                ecGridIdTo=ecgrid_id_to,
            ),
        )
        response = await self._s.request(
            "POST",
            "/v2/parcels/upload",
            content=body,
            headers={"Content-Type": "application/json", "Content-Length": str(len(body))},
            idempotent=False,
        )
        return _parcel_id(unwrap(response), "POST /v2/parcels/upload")

    # -- download ------------------------------------------------------------------------

    async def download(
        self,
        parcel_id: int,
        dest: StrPath,
        *,
        overwrite: bool = False,
        progress: ProgressCallback | None = None,
    ) -> DownloadedFile:
        """Download a parcel's file to ``dest`` (a directory, or the exact file path).

        ``content`` is base64-decoded from the response bytes as they arrive, straight into
        a temporary file beside the target; the size is checked against ``bytes`` and the
        file moved into place only then (`IntegrityError` and nothing at the final path on a
        mismatch). The server's ``fileName`` goes through the one sanitiser: it can never
        leave ``dest``. This does not confirm the parcel: call `confirm` once the file is
        safe.

        >>> f = await s.parcels.download(pid, "in/")  # doctest: +SKIP
        >>> await s.parcels.confirm(pid)  # doctest: +SKIP
        """
        pid = int(parcel_id)
        default_name = f"parcel-{pid}"

        async def consume(response: httpx.Response) -> DownloadedFile:
            scanner = ContentScanner()
            file: AtomicFile | None = None
            try:
                async for chunk in response.aiter_bytes():
                    data = scanner.feed(chunk)
                    if data:
                        if file is None:
                            file = await self._open(dest, default_name, overwrite, progress)
                        await file.write(data, checkpoint=False)
                try:
                    envelope = scanner.finish()
                except ScanError as exc:
                    raise self._scan_error(exc, response) from None
                error = error_from_envelope(response, envelope)
                if error is not None:
                    raise self._s.redactor.scrub_error(error)
                data_field = envelope.get("data") if isinstance(envelope, dict) else None
                if not isinstance(data_field, dict) or not scanner.content_seen:
                    endpoint = endpoint_of(response.request)
                    raise MalformedResponseError(
                        f"{endpoint}: the answer holds no data.content",
                        endpoint=endpoint,
                        response=response,
                    )
                declared = data_field.get("bytes", data_field.get("size"))
                if declared is not None and (
                    isinstance(declared, bool) or not isinstance(declared, int)
                ):
                    declared = None
                if declared is not None and declared != scanner.decoded:
                    raise IntegrityError(
                        f"parcel {pid}: the server declared {declared} bytes but content "
                        f"decoded to {scanner.decoded}",
                        retryable=False,
                    )
                raw_name = data_field.get("fileName")
                server_name = raw_name if isinstance(raw_name, str) else None
                if file is None:  # an empty file
                    file = await self._open(dest, default_name, overwrite, progress)
                file.path = resolve_destination(dest, server_name, default_name=default_name)
                path = await file.commit()
                return DownloadedFile(
                    path=path, name=server_name or default_name, size=scanner.decoded
                )
            except BaseException:
                if file is not None:
                    file.abort()
                raise

        result: DownloadedFile = await self._s.stream(
            "POST",
            "/v2/parcels/download",
            consume,
            json={"parcelId": pid},
            idempotent=True,  # a download changes nothing: a broken one is fetched again
        )
        return result

    @staticmethod
    async def _open(
        dest: StrPath, default_name: str, overwrite: bool, progress: ProgressCallback | None
    ) -> AtomicFile:
        """The temporary file, beside where the file will go (its name may come later)."""
        return await AtomicFile.create(
            lambda: resolve_destination(dest, None, default_name=default_name),
            overwrite=overwrite,
            progress=progress,
        )

    @staticmethod
    def _scan_error(exc: ScanError, response: httpx.Response) -> Exception:
        if exc.incomplete:
            return IntegrityError(f"parcel download cut short: {exc}")
        endpoint = endpoint_of(response.request)
        return MalformedResponseError(f"{endpoint}: {exc}", endpoint=endpoint, response=response)


def _parcel_id(data: Any, endpoint: str) -> int:
    """A parcel id answered as a number, or as ``{"parcelId": n}`` (one sample's form)."""
    if isinstance(data, dict):
        data = data.get("parcelId")
    if isinstance(data, str) and data.isdigit():
        data = int(data)
    if isinstance(data, bool) or not isinstance(data, int):
        raise MalformedResponseError(
            f"{endpoint}: no parcel id in the answer",
            endpoint=endpoint,
            response=httpx.Response(200),
        )
    return data
