"""ECGrid's inbox as a `Mailbox`: pending-inbox-list, download, confirm.

``session.mailbox()`` returns one; `InboxConsumer` drives it. Each waiting item is one
``InBoxReady`` parcel (its id as text); a fetch streams the parcel's file into the staging
directory (decoded on the fly, size checked, atomic); acknowledging confirms it, which is
what stops the network from delivering it again. One request a parcel each way: ECGrid has
no batch download or batch confirm.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from ..errors import AS2GatewayError
from ..mailbox import ExpectedFile, FetchResult, FetchSizes, MailboxUsage, WaitingItem, staging_path
from ..models import DownloadedFile
from .models import Parcel, parcel_from

if TYPE_CHECKING:
    from .session import Session

__all__ = ["ECGridMailbox", "parcel_to_json"]

#: Pending parcels listed a request.
PAGE_LENGTH = 100
#: Parcels confirmed at the same time by one `ECGridMailbox.acknowledge`.
CONFIRM_CONCURRENCY = 8


def parcel_to_json(parcel: Parcel) -> dict[str, Any]:
    """A `Parcel` as the reference pages spell it (what the consumer journals)."""
    fields = {
        "parcelId": parcel.parcel_id,
        "fileName": parcel.file_name,
        "bytes": parcel.size,
        "status": None if parcel.status is None else str(parcel.status),
        "mailboxId": parcel.mailbox_id,
        "networkId": parcel.network_id,
        "ecGridIdFrom": parcel.ecgrid_id_from,
        "ecGridIdTo": parcel.ecgrid_id_to,
        "created": None if parcel.created is None else parcel.created.isoformat(),
        "modified": None if parcel.modified is None else parcel.modified.isoformat(),
    }
    return {**parcel.extra, **{k: v for k, v in fields.items() if v is not None}}


class ECGridMailbox:
    """The ``InBoxReady`` parcels of a mailbox, as `InboxConsumer` consumes them.

    ``mailbox_id`` (0 or None: the key's default mailbox) selects the mailbox.
    """

    gateway = "ecgrid"

    def __init__(self, session: Session, *, mailbox_id: int | None = None) -> None:
        self._session = session
        self.mailbox_id = mailbox_id
        self.account = (
            session.account if not mailbox_id else f"{session.account}/mailbox-{mailbox_id}"
        )
        self.sizes = FetchSizes(max_ids=1)  # one download a parcel: the consumer's workers

    def __repr__(self) -> str:
        return f"ECGridMailbox(account={self.account!r})"

    async def waiting(self) -> AsyncIterator[WaitingItem]:
        """The pending parcels, with their announced file name and size."""
        async for parcel in self._session.parcels.pending(
            mailbox_id=self.mailbox_id, page_length=PAGE_LENGTH
        ):
            yield WaitingItem(
                id=str(parcel.parcel_id),
                metadata=parcel_to_json(parcel),
                files=(ExpectedFile(name=parcel.file_name, size=parcel.size),),
            )

    async def fetch(
        self, items: Sequence[WaitingItem], staging: Path, *, max_total_size: int
    ) -> FetchResult:
        """Download each parcel into its staging directory; never confirms."""
        files: dict[str, Sequence[DownloadedFile]] = {}
        errors: dict[str, str] = {}
        for item in items:
            size = item.size
            if size is not None and size > max_total_size:
                errors[item.id] = f"parcel of {size} bytes is over max_total_size"
                continue
            directory = staging_path(staging, item.id)
            try:
                await anyio.to_thread.run_sync(
                    functools.partial(directory.mkdir, parents=True, exist_ok=True)
                )
                files[item.id] = [await self._session.parcels.download(int(item.id), directory)]
            except (AS2GatewayError, OSError) as exc:
                if len(items) == 1:
                    raise
                errors[item.id] = str(exc)
        return FetchResult(files=files, errors=errors)

    async def acknowledge(self, ids: Sequence[str]) -> list[str]:
        """Confirm each parcel (a few at a time); the ids the network confirmed."""
        done: list[str] = []
        limiter = anyio.CapacityLimiter(CONFIRM_CONCURRENCY)

        async def confirm(pid: str) -> None:
            async with limiter:
                try:
                    await self._session.parcels.confirm(int(pid))
                except AS2GatewayError:
                    return  # not confirmed: the consumer keeps it and tries again
            done.append(pid)

        async with anyio.create_task_group() as tg:
            for pid in ids:
                tg.start_soon(confirm, pid)
        order = {pid: i for i, pid in enumerate(ids)}
        return sorted(done, key=order.__getitem__)

    def restore(self, metadata: Mapping[str, Any]) -> Parcel:
        """The `Parcel` journaled with a stored parcel."""
        return parcel_from(metadata)

    def usage(self) -> MailboxUsage:
        """The session's request and retry counters."""
        stats = self._session.stats
        return MailboxUsage(requests=stats.requests, retries=stats.retries)
