"""Interchanges: the EDI envelopes inside parcels, the 8 calls, as ``session.interchanges``."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from ..errors import MalformedResponseError
from ._pages import RawPage, iterate_pages, page_of
from .models import Interchange, interchange_from, parse_datetime

if TYPE_CHECKING:
    from .session import Session

__all__ = ["Interchanges"]

#: Records a page (the server's default is 100, its maximum 500).
DEFAULT_PAGE_LENGTH = 100


def _malformed(endpoint: str, text: str) -> MalformedResponseError:
    return MalformedResponseError(
        f"{endpoint}: {text}", endpoint=endpoint, response=httpx.Response(200)
    )


def _interchange(raw: Mapping[str, Any], endpoint: str) -> Interchange:
    try:
        return interchange_from(raw)
    except ValueError as exc:
        raise _malformed(endpoint, str(exc)) from None


def _iso(value: dt.datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Interchanges:
    """``session.interchanges``: get, inbox/outbox lists, cancel, resend, manifest, ISA."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def inbox(self, **filters: Any) -> AsyncIterator[Interchange]:
        """Inbound interchanges (``POST /v2/interchanges/inbox-list``), paged lazily.

        Filters: ``status``, ``begin``, ``end``, ``mailbox_id``, ``ecgrid_id_from``,
        ``ecgrid_id_to``; ``page_length`` (≤ 500) and ``prefetch``.
        """
        return self._iterate("/v2/interchanges/inbox-list", **filters)

    def outbox(self, **filters: Any) -> AsyncIterator[Interchange]:
        """Outbound interchanges (``POST /v2/interchanges/outbox-list``); as `inbox`."""
        return self._iterate("/v2/interchanges/outbox-list", **filters)

    def _iterate(
        self,
        path: str,
        *,
        status: str | None = None,
        begin: dt.datetime | str | None = None,
        end: dt.datetime | str | None = None,
        mailbox_id: int | None = None,
        ecgrid_id_from: int | None = None,
        ecgrid_id_to: int | None = None,
        page_length: int = DEFAULT_PAGE_LENGTH,
        prefetch: int | None = None,
    ) -> AsyncIterator[Interchange]:
        if not 1 <= page_length <= 500:
            raise ValueError(f"page_length must be 1..500, not {page_length}")
        endpoint = f"POST {path}"
        filters = {
            k: v
            for k, v in {
                "status": status,
                "beginDate": _iso(begin),
                "endDate": _iso(end),
                "mailboxId": mailbox_id,
                "ecGridIdFrom": ecgrid_id_from,
                "ecGridIdTo": ecgrid_id_to,
            }.items()
            if v is not None
        }

        async def fetch(page_no: int, per_page: int) -> RawPage:
            body = {**filters, "pageNo": page_no, "recordsPerPage": per_page}
            envelope = await self._s.call_envelope("POST", path, json=body, idempotent=True)
            try:
                return page_of(envelope, "interchanges")
            except ValueError as exc:
                raise _malformed(endpoint, str(exc)) from None

        kwargs = {} if prefetch is None else {"prefetch": prefetch}
        return iterate_pages(
            fetch,
            lambda raw: _interchange(raw, endpoint),
            key=lambda i: i.interchange_id,
            page_length=page_length,
            **kwargs,
        )

    async def get(self, interchange_id: int) -> Interchange:
        """``GET /v2/interchanges/{id}``."""
        data = await self._s.call("GET", f"/v2/interchanges/{int(interchange_id)}")
        if not isinstance(data, dict):
            raise _malformed("GET /v2/interchanges/{id}", "data is not an interchange")
        return _interchange(data, "GET /v2/interchanges/{id}")

    async def cancel(self, interchange_id: int) -> None:
        """``POST /v2/interchanges/cancel/{id}``."""
        await self._s.call(
            "POST", f"/v2/interchanges/cancel/{int(interchange_id)}", idempotent=True
        )

    async def resend(self, interchange_id: int) -> None:
        """``POST /v2/interchanges/resend/{id}`` (not idempotent: never repeated silently)."""
        await self._s.call("POST", f"/v2/interchanges/resend/{int(interchange_id)}")

    async def manifest(self, interchange_id: int) -> list[dict[str, Any]]:
        """``GET /v2/interchanges/get-manifest/{id}``: its functional groups, as JSON objects."""
        data = await self._s.call("GET", f"/v2/interchanges/get-manifest/{int(interchange_id)}")
        return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []

    async def header(self, interchange_header: str) -> dict[str, Any]:
        """``POST /v2/interchanges/get-header``: an ISA segment's 16 elements by name."""
        data = await self._s.call(
            "POST",
            "/v2/interchanges/get-header",
            json={"interchangeHeader": interchange_header},
            idempotent=True,
        )
        if not isinstance(data, dict):
            raise _malformed("POST /v2/interchanges/get-header", "data is not an object")
        return data

    async def date(self, interchange_header: str) -> dt.datetime | None:
        """``POST /v2/interchanges/get-date``: an ISA segment's ISA09/ISA10 as a datetime."""
        data = await self._s.call(
            "POST",
            "/v2/interchanges/get-date",
            json={"interchangeHeader": interchange_header},
            idempotent=True,
        )
        return parse_datetime(data)
