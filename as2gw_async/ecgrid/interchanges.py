"""Interchanges: the EDI envelopes inside parcels, the 8 calls, as ``session.interchanges``."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ._pages import box_filters, iterate_list
from .models import Interchange, interchange_from, parse_datetime

if TYPE_CHECKING:
    from .session import Session

__all__ = ["Interchanges"]

#: Records a page (the server's default is 100, its maximum 500).
DEFAULT_PAGE_LENGTH = 100


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
        filters = box_filters(
            status=status,
            begin=begin,
            end=end,
            mailbox_id=mailbox_id,
            ecgrid_id_from=ecgrid_id_from,
            ecgrid_id_to=ecgrid_id_to,
        )
        return iterate_list(
            self._s,
            path,
            filters,
            items_key="interchanges",
            convert=interchange_from,
            key=_interchange_key,
            page_length=page_length,
            prefetch=prefetch,
        )

    async def get(self, interchange_id: int) -> Interchange:
        """``GET /v2/interchanges/{id}``."""
        return await self._s.call_with(
            "GET",
            f"/v2/interchanges/{int(interchange_id)}",
            lambda envelope: interchange_from(envelope.get("data")),
        )

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
        return await self._s.call_with(
            "POST",
            "/v2/interchanges/get-header",
            _object_data,
            json={"interchangeHeader": interchange_header},
            idempotent=True,
        )

    async def date(self, interchange_header: str) -> dt.datetime | None:
        """``POST /v2/interchanges/get-date``: an ISA segment's ISA09/ISA10 as a datetime."""
        data = await self._s.call(
            "POST",
            "/v2/interchanges/get-date",
            json={"interchangeHeader": interchange_header},
            idempotent=True,
        )
        return parse_datetime(data)


def _interchange_key(interchange: Interchange) -> int:
    return interchange.interchange_id


def _object_data(envelope: dict[str, Any]) -> dict[str, Any]:
    data = envelope.get("data")
    if not isinstance(data, dict):
        raise ValueError("data is not a JSON object")
    return data
