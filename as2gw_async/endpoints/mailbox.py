"""AS2 Gateway v1's inbox as a `Mailbox`: unread listing, batch download, batch mark-read.

``session.mailbox()`` returns one; `InboxConsumer` drives it. The requests are today's:
one listing call per 100 unread messages, one batch download per 100 messages (about 8 MB),
one batch mark-read per 100 messages. A message the listing shows at `LARGE_MESSAGE` bytes
or more is streamed attachment by attachment instead (one request each, no zip to hold in
full, no 206 resumption), in a fetch of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from ..archives import _unique
from ..converter import structure, unstructure
from ..errors import AS2GatewayError
from ..files import safe_filename
from ..mailbox import ExpectedFile, FetchResult, FetchSizes, MailboxUsage, WaitingItem, staging_path
from ..models import AS2Message, DownloadedFile, PartnerType

if TYPE_CHECKING:
    from ..session import Session

__all__ = ["BATCH_BYTES", "BATCH_IDS", "LARGE_MESSAGE", "AS2GatewayMailbox"]

#: The most ids one batch request carries (spec 4.2.2.2).
BATCH_IDS = 100
#: The batch endpoint stops at 10 MB; fetches are planned below it so 206s stay rare.
BATCH_BYTES = 8 * 1024 * 1024
#: A message this large (by the listing) is streamed on its own, never in a batch zip.
LARGE_MESSAGE = BATCH_BYTES


class AS2GatewayMailbox:
    """The received folder's unread messages, as `InboxConsumer` consumes them.

    ``partner_as2_id``, ``station_as2_id`` and ``partner_type`` filter the listing;
    ``include_mdn`` saves each message's MDN beside its attachments.
    """

    gateway = "as2gateway"

    def __init__(
        self,
        session: Session,
        *,
        partner_as2_id: str | None = None,
        station_as2_id: str | None = None,
        partner_type: PartnerType | str = PartnerType.PRODUCTION,
        include_mdn: bool = False,
    ) -> None:
        self._session = session
        self._filters: dict[str, Any] = {
            "partner_as2_id": partner_as2_id,
            "station_as2_id": station_as2_id,
            "partner_type": partner_type,
        }
        self.include_mdn = include_mdn
        self.account = session.username
        self.sizes = FetchSizes(max_ids=BATCH_IDS, max_bytes=BATCH_BYTES, large=LARGE_MESSAGE)

    def __repr__(self) -> str:
        return f"AS2GatewayMailbox(account={self.account!r})"

    async def waiting(self) -> AsyncIterator[WaitingItem]:
        """The unread received messages, 100 a listing page."""
        async for message in self._session.received.iter(
            unread_only=True, page_length=BATCH_IDS, **self._filters
        ):
            yield WaitingItem(
                id=message.as2_message_id,
                metadata=unstructure(message),
                files=tuple(ExpectedFile(name=a.name, size=a.size) for a in message.attachments),
            )

    async def fetch(
        self, items: Sequence[WaitingItem], staging: Path, *, max_total_size: int
    ) -> FetchResult:
        """One batch download for small messages; a large one streamed file by file."""
        files: dict[str, Sequence[DownloadedFile]] = {}
        errors: dict[str, str] = {}
        large = [i for i in items if (i.size or 0) >= LARGE_MESSAGE]
        small = [i for i in items if (i.size or 0) < LARGE_MESSAGE]
        if small:
            result = await self._session.received.batch_download(
                [i.id for i in small], staging, max_total_size=max_total_size
            )
            files.update(result.files)
            errors.update(result.errors)
        for item in large:
            try:
                files[item.id] = await self._stream(item, staging)
            except (AS2GatewayError, OSError) as exc:
                if len(items) == 1:
                    raise
                errors[item.id] = str(exc)
        if self.include_mdn:
            for mid in list(files):
                try:
                    await self._session.received.download_mdn(mid, staging_path(staging, mid))
                except (AS2GatewayError, OSError) as exc:
                    errors[mid] = f"MDN: {exc}"
                    del files[mid]
        return FetchResult(files=files, errors=errors)

    async def acknowledge(self, ids: Sequence[str]) -> list[str]:
        """Mark read, 100 ids a request; the ids the gateway marked."""
        return await self._session.received.mark_read(ids)

    def restore(self, metadata: Mapping[str, Any]) -> AS2Message:
        """The `AS2Message` journaled with a stored message."""
        return structure(dict(metadata), AS2Message)

    def usage(self) -> MailboxUsage:
        """The session's request and retry counters."""
        stats = self._session.stats
        return MailboxUsage(requests=stats.requests, retries=stats.retries)

    async def _stream(self, item: WaitingItem, staging: Path) -> list[DownloadedFile]:
        directory = staging_path(staging, item.id)
        await anyio.to_thread.run_sync(lambda: directory.mkdir(parents=True, exist_ok=True))
        names = _distinct_names([f.name for f in item.files or ()])
        return [
            await self._session.received.download_attachment(item.id, directory / name, index=i)
            for i, name in enumerate(names)
        ]


def _distinct_names(names: Sequence[str | None]) -> list[str]:
    """Safe file names, ``name (2).ext`` for a repeat: the batch zip's rule (`_unique`)."""
    taken: set[str] = set()
    out: list[str] = []
    for i, raw in enumerate(names):
        name = _unique(Path(), safe_filename(raw, default=f"attachment-{i}"), taken.__contains__)
        taken.add(str(name).casefold())
        out.append(str(name))
    return out
