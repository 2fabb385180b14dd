"""The MFT Gateway's inbox as a `Mailbox` (issue 16): what `InboxConsumer` drains.

* ``waiting()``: the inbox listing with ``fetchAll=false`` (messages not yet read through
  the API), each message fetched with ``markAsRead=false`` for its metadata;
* ``fetch()``: each message's attachments (and MDN, with ``include_mdn``) through the
  presigned links, into ``staging/<safe_message_dirname(id)>/``, several messages at once;
* ``acknowledge()``: ``GET /message/inbox/{id}?markAsRead=true`` -- only after the
  consumer has handed the files over, so nothing is marked read that is not safe on disk.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import attrs

from ..converter import structure
from ..errors import AS2GatewayError, NotFoundError
from ..mailbox import FetchResult, FetchSizes, MailboxUsage, WaitingItem, staging_path
from ..models import DownloadedFile
from .models import Message
from .naming import normalise_message

if TYPE_CHECKING:
    from .session import Session

__all__ = ["FETCH_IDS", "MftMailbox"]

#: Messages fetched (and acknowledged) concurrently by one call.
FETCH_IDS = 8


class MftMailbox:
    """The unread inbox (``fetchAll=false``) as `InboxConsumer` consumes it.

    ``partner`` or ``station`` filter the listing; ``include_mdn`` saves each message's
    MDN beside its attachments.
    """

    gateway = "mft"

    def __init__(
        self,
        session: Session,
        *,
        partner: str | None = None,
        station: str | None = None,
        include_mdn: bool = False,
    ) -> None:
        self._session = session
        self._partner = partner
        self._station = station
        self.include_mdn = include_mdn
        self.account = session.username or f"token:{session.token_id}"
        self.sizes = FetchSizes(max_ids=FETCH_IDS)

    def __repr__(self) -> str:
        return f"MftMailbox(account={self.account!r})"

    async def waiting(self) -> AsyncIterator[WaitingItem]:
        """The messages not yet read through the API, with their metadata (not marked).

        Every page of ids is listed before the first message is handed over: the listing
        has no total, so a message acknowledged meanwhile would shift the pages after it
        and make the next page skip as many unread ones.
        """
        inbox = self._session.inbox
        ids = [
            mid
            async for mid in inbox.iter_ids(
                fetch_all=False, partner=self._partner, station=self._station
            )
        ]
        async for message in inbox.iter_messages(ids):
            yield WaitingItem(id=message.identifier, metadata=dict(message.raw or {}))

    async def fetch(
        self, items: Sequence[WaitingItem], staging: Path, *, max_total_size: int
    ) -> FetchResult:
        """Download each message's files into its staging directory, concurrently."""
        files: dict[str, Sequence[DownloadedFile]] = {}
        errors: dict[str, str] = {}

        async def one(item: WaitingItem) -> None:
            directory = staging_path(staging, item.id)
            try:
                got = await self._fetch_one(item.id, directory, max_total_size)
            except (AS2GatewayError, OSError) as exc:
                await anyio.to_thread.run_sync(_remove_tree, directory)
                if len(items) == 1:
                    raise
                errors[item.id] = str(exc)
            else:
                files[item.id] = got

        if len(items) == 1:
            # No task group: its ExceptionGroup would hide the error from the consumer's
            # ``except (AS2GatewayError, OSError)``, which skips a single failed message.
            await one(items[0])
        else:
            async with anyio.create_task_group() as tg:
                for item in items:
                    tg.start_soon(one, item)
        return FetchResult(files=files, errors=errors)

    async def _fetch_one(
        self, message_id: str, directory: Path, max_total_size: int
    ) -> list[DownloadedFile]:
        got = await self._session.inbox.download_attachments(message_id, directory)
        if self.include_mdn:
            got.append(await self._session.inbox.download_mdn(message_id, directory))
        total = sum(f.size for f in got)
        if total > max_total_size:
            raise AS2GatewayError(
                f"message {message_id} holds {total:,} bytes, more than the "
                f"{max_total_size:,} allowed"
            )
        return got

    async def acknowledge(self, ids: Sequence[str]) -> list[str]:
        """Mark read (``markAsRead=true``), several at once; the ids the gateway marked."""
        done: list[str] = []

        async def one(mid: str) -> None:
            try:
                await self._session.inbox.get(mid, mark_as_read=True)
            except NotFoundError:
                return  # deleted meanwhile: nothing left to mark
            done.append(mid)

        for start in range(0, len(ids), FETCH_IDS):
            async with anyio.create_task_group() as tg:
                for mid in ids[start : start + FETCH_IDS]:
                    tg.start_soon(one, mid)
        order = {mid: i for i, mid in enumerate(ids)}
        return sorted(done, key=order.__getitem__)

    def restore(self, metadata: Mapping[str, Any]) -> Message:
        """The `Message` journaled with a stored message."""
        message = structure(normalise_message(metadata), Message)
        return attrs.evolve(message, raw=dict(metadata))

    def usage(self) -> MailboxUsage:
        """The session's request and retry counters."""
        stats = self._session.stats
        return MailboxUsage(requests=stats.requests, retries=stats.retries)


def _remove_tree(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
