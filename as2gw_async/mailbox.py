"""The mailbox protocol: what `InboxConsumer` needs from a gateway, and nothing more.

The consumer (``inbox.py``) owns the journal, staging, crash recovery and the exactly-once
hand-over; it talks to a gateway only through these operations, which each gateway
implements in its own package (AS2 Gateway v1: ``as2gw_async.endpoints.mailbox``):

- ``waiting()``: what is waiting to be fetched (v1: the unread listing), as `WaitingItem` objects;
- ``fetch(items, staging)``: download these into ``staging/<safe_message_dirname(id)>/``;
- ``acknowledge(ids)``: tell the gateway they are done (v1: mark read), return which were.

A session offers its gateway's mailbox as ``session.mailbox(**options)``, so this module and
the consumer import no gateway package.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from attrs import field, frozen

from .files import safe_message_dirname
from .models import DownloadedFile

__all__ = [
    "ExpectedFile",
    "FetchResult",
    "FetchSizes",
    "Mailbox",
    "MailboxUsage",
    "SupportsMailbox",
    "WaitingItem",
    "staging_path",
]


@frozen(kw_only=True)
class ExpectedFile:
    """A file the gateway says a waiting message holds (``None``: not said)."""

    name: str | None = None
    size: int | None = None


@frozen(kw_only=True)
class WaitingItem:
    """One message waiting in a mailbox.

    ``metadata`` is what the consumer journals with the message (JSON-serialisable) and gives
    back to `Mailbox.restore` to rebuild ``Delivered.message``. ``files`` are the files the
    listing announces, or ``None`` when the listing does not say (then nothing can be checked
    before the download, and an adopted directory is accepted only if it holds a file).
    """

    id: str
    metadata: Mapping[str, Any] = field(factory=dict)
    files: tuple[ExpectedFile, ...] | None = None

    @property
    def size(self) -> int | None:
        """The total announced size in bytes, or ``None`` if any file's size is unknown."""
        if self.files is None or any(f.size is None for f in self.files):
            return None
        return sum(f.size or 0 for f in self.files)


@frozen(kw_only=True)
class FetchResult:
    """What `Mailbox.fetch` did: the files of each fetched id, the reason for each failed one.

    Every requested id is in exactly one of the two mappings.
    """

    files: Mapping[str, Sequence[DownloadedFile]] = field(factory=dict)
    errors: Mapping[str, str] = field(factory=dict)


@frozen(kw_only=True)
class FetchSizes:
    """How the consumer should group items into `Mailbox.fetch` calls.

    At most ``max_ids`` items and about ``max_bytes`` announced bytes a call; an item whose
    size is ``large`` or more is fetched in a call of its own (for v1: streamed attachment
    by attachment, never in the batch zip), so it never holds back smaller ones.
    """

    max_ids: int = 1
    max_bytes: int | None = None
    large: int | None = None


@frozen
class MailboxUsage:
    """Requests made and retried so far by the mailbox's client (for `ConsumerStats`)."""

    requests: int = 0
    retries: int = 0


@runtime_checkable
class Mailbox(Protocol):
    """A gateway's inbox as `InboxConsumer` sees it (see the module docstring)."""

    #: The gateway's name, journaled: ``"as2gateway"``, ``"mft"`` or ``"ecgrid"``.
    gateway: str
    #: Whose mailbox this is (user name, mailbox id): a journal belongs to one account.
    account: str
    #: How to group items into fetches.
    sizes: FetchSizes

    def waiting(self) -> AsyncIterator[WaitingItem]:
        """Yield the messages waiting to be fetched (the same id may come twice)."""
        ...

    async def fetch(
        self,
        items: Sequence[WaitingItem],
        staging: Path,
        *,
        max_total_size: int,
    ) -> FetchResult:
        """Download ``items`` into ``staging / safe_message_dirname(item.id) /``.

        Files are complete and verified when this returns (atomic writes); a message that
        would exceed ``max_total_size`` bytes is an error for that id, not for the call.
        Raises only for a failure of the whole call (the consumer then retries the items one
        at a time). Never acknowledges anything.
        """
        ...

    async def acknowledge(self, ids: Sequence[str]) -> list[str]:
        """Tell the gateway these messages are done with (v1: mark read); return which were."""
        ...

    def restore(self, metadata: Mapping[str, Any]) -> Any:
        """Rebuild the gateway's message object (``Delivered.message``) from journaled metadata."""
        ...

    def usage(self) -> MailboxUsage:
        """Requests made and retried so far by this mailbox's client."""
        ...


@runtime_checkable
class SupportsMailbox(Protocol):
    """A session that can hand out its gateway's mailbox (``InboxConsumer(session, ...)``)."""

    def mailbox(self, **options: Any) -> Mailbox:
        """This session's mailbox; ``options`` are the gateway's own (filters, extras)."""
        ...


def staging_path(staging: str | os.PathLike[str], message_id: str) -> Path:
    """Where `Mailbox.fetch` puts ``message_id``'s files inside ``staging``."""
    return Path(staging) / safe_message_dirname(message_id)
