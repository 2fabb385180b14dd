"""The journal interface `InboxConsumer` keeps its states in (file by default; a database
backend with claims and leases for consumers on several hosts implements the same).

The consumer calls, in order: `Journal.open` once (it gets back what an earlier run left
unfinished), then for each listing `Journal.states` (which waiting ids are already done),
`Journal.claim` just before fetching (or adopting) the others (which it may take now; ids
not granted are another consumer's, or were finished meanwhile), `Journal.record` for each
step (``stored`` after the files are in place, ``acked``, ``marked``), `Journal.release` for
claims it gives up (a message skipped for now), and `Journal.close` at the end, from the
same task as `Journal.open`.

Claims: a backend shared by several consumers (hosts) grants an id to one consumer at a
time, with a lease it renews while it works (between ``open`` and ``close``); the claim ends
when ``acked`` is recorded, on ``release``, or when the lease expires (the consumer died),
after which another consumer may claim it and deliver it again from its own download. The
file journal belongs to one consumer (``dest_dir`` is locked), so it grants every claim.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from attrs import field, frozen

from .states import State

__all__ = ["Journal", "JournalRecord", "JournalScope", "Recovery"]


@frozen(kw_only=True)
class JournalScope:
    """Whose journal it is: one gateway, one account, one consumer's ``dest_dir``.

    States are kept per (gateway, account, message id); a journal opened for another
    gateway or account than the one it was written for raises `JournalMismatchError`.
    """

    gateway: str
    account: str
    dest_dir: Path


@frozen(kw_only=True)
class JournalRecord:
    """One step of one message.

    ``directory`` (the folder's name inside ``dest_dir``) and ``metadata`` (what the
    mailbox gave for the message, JSON-serialisable) are set on ``stored`` records.
    """

    message_id: str
    state: State
    directory: str | None = None
    metadata: Mapping[str, Any] | None = None
    time: float = field(factory=time.time)


@frozen(kw_only=True)
class Recovery:
    """What an earlier run of this consumer left unfinished, as `Journal.open` found it.

    ``stored``: messages on disk and handed to your code, never acked (handed over again,
    from disk); for a leasing backend only those this consumer holds (again) a claim on.
    ``acked``: messages your code finished whose acknowledgement was not recorded.
    """

    stored: tuple[JournalRecord, ...] = ()
    acked: tuple[str, ...] = ()


@runtime_checkable
class Journal(Protocol):
    """Durable states per (gateway, account, message id); see the module docstring."""

    async def open(self, scope: JournalScope) -> Recovery:
        """Bind to ``scope`` (raising `JournalMismatchError` if the journal belongs to
        another gateway or account) and return what an earlier run left unfinished."""
        ...

    async def close(self) -> None:
        """Release every claim still held and any resource; safe to call twice."""
        ...

    async def states(self, ids: Sequence[str]) -> dict[str, State]:
        """The latest state of each of ``ids`` that has one (by any consumer)."""
        ...

    async def claim(self, ids: Sequence[str]) -> list[str]:
        """The ids of ``ids`` this consumer may fetch now, claimed for it (in one atomic
        step for a shared backend). Ids already ``acked``/``marked`` are never granted."""
        ...

    async def release(self, ids: Sequence[str]) -> None:
        """Give up the claims on ``ids`` (messages skipped for now)."""
        ...

    async def record(self, records: Sequence[JournalRecord]) -> None:
        """Make ``records`` durable (fsync, commit) before returning; later states win.

        A shared backend refuses a ``stored`` record whose claim passed to another consumer
        (`ClaimLostError`): that message is not handed over here."""
        ...
