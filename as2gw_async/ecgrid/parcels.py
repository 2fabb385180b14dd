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
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx

from ..atomic import AtomicFile, ProgressCallback
from ..errors import IntegrityError
from ..filenames import resolve_destination
from ..models import DownloadedFile
from ._pages import box_filters, iterate_list, page_of
from ._scanner import ContentScanner, ScanError
from ._upload_body import UploadBody
from .envelope import envelope_of, error_from_envelope, malformed
from .models import (
    ManifestEntry,
    Parcel,
    ParcelStatus,
    manifest_entry_from,
    parcel_from,
)

if TYPE_CHECKING:
    from .session import Session

__all__ = ["DEFAULT_PAGE_LENGTH", "Parcels"]

StrPath = str | os.PathLike[str]

#: Records a page for the parcel lists (the server's default is 25, its maximum 500).
DEFAULT_PAGE_LENGTH = 100


def _filters(**values: Any) -> dict[str, Any]:
    """The request fields that were given (None means: not sent)."""
    return {k: v for k, v in values.items() if v is not None}


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
            {"mailboxId": mailbox_id},
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
        return self._box(
            "/v2/parcels/inbox-list",
            status,
            begin,
            end,
            mailbox_id,
            ecgrid_id_from,
            ecgrid_id_to,
            page_length,
            prefetch,
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
        return self._box(
            "/v2/parcels/outbox-list",
            status,
            begin,
            end,
            mailbox_id,
            ecgrid_id_from,
            ecgrid_id_to,
            page_length,
            prefetch,
        )

    async def find_by_mailbag_control_id(
        self, mailbag_control_id: str, *, mailbox_id: int | None = None
    ) -> list[Parcel]:
        """``POST /v2/parcels/find-mailbagcontrolid``: the parcels with that control id."""
        return await self._s.call_with(
            "POST",
            "/v2/parcels/find-mailbagcontrolid",
            lambda envelope: [parcel_from(r) for r in page_of(envelope, "parcels").items],
            json=_filters(mailboxId=mailbox_id, mailbagControlId=mailbag_control_id),
            idempotent=True,
        )

    def _box(
        self,
        path: str,
        status: ParcelStatus | str | None,
        begin: dt.datetime | str | None,
        end: dt.datetime | str | None,
        mailbox_id: int | None,
        ecgrid_id_from: int | None,
        ecgrid_id_to: int | None,
        page_length: int,
        prefetch: int | None,
    ) -> AsyncIterator[Parcel]:
        filters = box_filters(
            status=None if status is None else str(status),
            begin=begin,
            end=end,
            mailbox_id=mailbox_id,
            ecgrid_id_from=ecgrid_id_from,
            ecgrid_id_to=ecgrid_id_to,
        )
        return self._iterate(path, filters, page_length=page_length, prefetch=prefetch)

    def _iterate(
        self, path: str, filters: dict[str, Any], *, page_length: int, prefetch: int | None
    ) -> AsyncIterator[Parcel]:
        return iterate_list(
            self._s,
            path,
            filters,
            items_key="parcels",
            convert=parcel_from,
            key=_parcel_key,
            page_length=page_length,
            prefetch=prefetch,
        )

    # -- one parcel ------------------------------------------------------------------------

    async def get(self, parcel_id: int) -> Parcel:
        """``GET /v2/parcels/{id}``."""
        return await self._s.call_with("GET", f"/v2/parcels/{int(parcel_id)}", _parcel_data)

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
        return await self._s.call_with(
            "POST",
            "/v2/parcels/update",
            _parcel_data,
            json=_filters(parcelId=int(parcel_id), status=None if status is None else str(status)),
            idempotent=True,
        )

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
        return await self._s.call_with(
            "POST",
            "/v2/parcels/send-test-file",
            _parcel_id,
            json=_filters(
                ecGridIdFrom=ecgrid_id_from, ecGridIdTo=ecgrid_id_to, documentType=document_type
            ),
        )

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
        try:
            return _parcel_id(envelope_of(response))
        except ValueError as exc:
            raise malformed(response, str(exc)) from None

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
                try:  # the scanner refuses a broken body as it streams, or at its end
                    async for chunk in response.aiter_bytes():
                        data = scanner.feed(chunk)
                        if data:
                            if file is None:
                                file = await self._open(dest, default_name, overwrite, progress)
                            await file.write(data, checkpoint=False)
                    envelope = scanner.finish()
                except ScanError as exc:
                    raise self._scan_error(exc, response) from None
                error = error_from_envelope(response, envelope)
                if error is not None:
                    raise self._s.redactor.scrub_error(error)
                data_field = envelope.get("data") if isinstance(envelope, dict) else None
                if not isinstance(data_field, dict) or not scanner.content_seen:
                    raise malformed(response, "the answer holds no data.content")
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
        return malformed(response, str(exc))


def _parcel_key(parcel: Parcel) -> int:
    return parcel.parcel_id


def _parcel_data(envelope: dict[str, Any]) -> Parcel:
    return parcel_from(envelope.get("data"))


def _parcel_id(envelope: dict[str, Any]) -> int:
    """A parcel id answered as a number, or as ``{"parcelId": n}`` (one sample's form)."""
    data = envelope.get("data")
    if isinstance(data, dict):
        data = data.get("parcelId")
    if isinstance(data, str) and data.isdigit():
        data = int(data)
    if isinstance(data, bool) or not isinstance(data, int):
        raise ValueError("no parcel id in the answer")
    return data
