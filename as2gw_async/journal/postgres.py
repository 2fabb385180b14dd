"""The PostgreSQL journal: consumers on several hosts share one inbox, each message once.

``InboxConsumer(session, dest_dir, journal=PostgresJournal(dsn))``. States (stored, acked,
marked) are kept per (gateway, account, message id) in one table; a consumer *claims* a
message before fetching it, with a lease (``lease_until``, the database's clock) that a
background task renews while the consumer runs. A claim is one ``INSERT … ON CONFLICT DO
UPDATE … WHERE … RETURNING`` statement: granted only if nobody holds the message, its lease
expired, or the holder is this consumer (or a dead predecessor in the same ``dest_dir``:
the consumer's directory lock proves it gone), and never for an acked or marked message.

Each consumer has an id (host, pid, random) and a *site* (host and ``dest_dir``): the site
of a ``stored`` row says whose directory holds the files, so a restarted consumer gets back
its own stored-but-unacked messages, and nobody else's.

The driver is psycopg 3 (``pip install "as2gw_async[postgres]"``), imported only when a
`PostgresJournal` is made. It runs under asyncio only (so under anyio's asyncio backend;
under trio `PostgresJournal.open` raises `AsyncBackendError`).

A database that goes away is waited for: every statement is idempotent and retried on a
connection error, with exponential backoff (each attempt bounded by ``attempt_timeout``),
for ever by default or up to ``max_wait`` seconds, then `JournalUnavailableError`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from ..errors import (
    AsyncBackendError,
    ClaimLostError,
    JournalDatabaseError,
    JournalMismatchError,
    JournalUnavailableError,
)
from ._pg_schema import SCHEMA_VERSION, Tables, migrate
from .base import JournalRecord, JournalScope, Recovery
from .states import ACKED, MARKED, STATES, STORED, State, is_state

if TYPE_CHECKING:
    import psycopg

__all__ = ["INSTALL_HINT", "PostgresJournal"]

logger = logging.getLogger("as2gw_async.journal.postgres")

#: What to run when the driver is missing.
INSTALL_HINT = 'pip install "as2gw_async[postgres]"'

_T = TypeVar("_T")
#: The states in order, as SQL: ``array_position(<this>, state)`` ranks a state.
_ORDER = "ARRAY[" + ", ".join(f"'{s}'" for s in STATES) + "]"


def _driver() -> Any:
    """psycopg, or an `ImportError` naming the extra to install."""
    try:
        import psycopg
    except ImportError as exc:
        raise ImportError(f"PostgresJournal needs psycopg 3: {INSTALL_HINT}") from exc
    return psycopg


class PostgresJournal:
    """Inbox states and claims with leases in PostgreSQL, shared by consumers on many hosts.

    ``dsn``: a libpq connection string or URI (``postgresql://user@host/db``; passwords may
    come from ``PGPASSWORD`` or ``~/.pgpass``). Tables are ``<table_prefix>messages`` and
    ``<table_prefix>schema_version``, created on first use. ``lease_seconds``: how long a
    claim outlives a consumer that died (another one takes the message over after that);
    renewed every ``lease_seconds / 3``. A lost database is retried with backoff from
    ``retry_initial`` to ``retry_max`` seconds, each attempt at most ``attempt_timeout``
    seconds, for ever (``max_wait=None``) or until ``max_wait`` seconds have passed.

    >>> journal = PostgresJournal("postgresql://as2gw@db.internal/as2gw")  # doctest: +SKIP
    >>> async with InboxConsumer(session, "inbox/", journal=journal) as c:  # doctest: +SKIP
    ...     async for delivered in c: ...
    """

    def __init__(
        self,
        dsn: str,
        *,
        table_prefix: str = "as2gw_",
        lease_seconds: float = 60.0,
        attempt_timeout: float = 10.0,
        retry_initial: float = 0.5,
        retry_max: float = 15.0,
        max_wait: float | None = None,
    ) -> None:
        self._psycopg = _driver()
        if lease_seconds <= 0:
            raise ValueError(f"lease_seconds must be positive: {lease_seconds}")
        if attempt_timeout <= 0 or retry_initial <= 0 or retry_max < retry_initial:
            raise ValueError("attempt_timeout and retry_initial must be positive, retry_max >= it")
        self.dsn = dsn
        self.tables = Tables(table_prefix)
        self.lease_seconds = float(lease_seconds)
        self.attempt_timeout = attempt_timeout
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.max_wait = max_wait
        #: This instance's id in the ``holder`` and ``stored_by`` columns.
        self.consumer_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        #: Host and ``dest_dir`` (set by `open`): where this consumer's stored files are.
        self.site: str | None = None
        self._scope: JournalScope | None = None
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = anyio.Lock()
        self._held: set[str] = set()
        self._renewal: asyncio.Task[None] | None = None
        self._down_since: float | None = None
        self._opened = False

    def __repr__(self) -> str:
        return f"PostgresJournal(table_prefix={self.tables.prefix!r}, id={self.consumer_id!r})"

    # -- the Journal protocol ----------------------------------------------------------

    async def open(self, scope: JournalScope) -> Recovery:
        """Connect, create or upgrade the tables, take back this site's unfinished messages
        and start renewing leases."""
        _require_asyncio()
        self._scope = scope
        self.site = _site_of(scope.dest_dir)
        try:
            await self._run("create the tables", self._migrate)
            await self._run("check the directory's owner", self._check_site)
            stored = await self._run("recover stored messages", self._recover_stored)
            acked = await self._run("recover acked messages", self._recover_acked)
        except BaseException:
            await self._disconnect()  # the consumer does not close a journal that failed to open
            raise
        self._held.update(r.message_id for r in stored)
        self._opened = True
        # An asyncio task of its own (the driver is asyncio-only): open and close may then
        # be called from anywhere, in any order, unlike a task group's nested scopes.
        self._renewal = asyncio.get_running_loop().create_task(self._renew_forever())
        return Recovery(stored=tuple(stored), acked=tuple(acked))

    async def close(self) -> None:
        """Stop renewing, release every claim still held (one bounded attempt: leases
        expire anyway) and disconnect. Safe to call twice."""
        if self._renewal is not None:
            renewal, self._renewal = self._renewal, None
            renewal.cancel()
            await asyncio.wait({renewal})
        if self._opened:
            self._opened = False
            try:
                await self._attempt(self._release_all)
            except Exception as exc:
                logger.warning("could not release the claims of %s: %s", self.consumer_id, exc)
        self._held.clear()
        await self._disconnect()

    async def states(self, ids: Sequence[str]) -> dict[str, State]:
        """The latest state of each of ``ids`` that has one (by any consumer)."""
        if not ids:
            return {}

        async def op(conn: psycopg.AsyncConnection[Any]) -> dict[str, State]:
            cur = await conn.execute(
                f"SELECT message_id, state FROM {self.tables.messages} "
                "WHERE gateway = %s AND account = %s AND message_id = ANY(%s) "
                "AND state IS NOT NULL",
                (*self._key(), list(ids)),
            )
            return {mid: state for mid, state in await cur.fetchall() if is_state(state)}

        return await self._run("read states", op)

    async def claim(self, ids: Sequence[str]) -> list[str]:
        """Claim ``ids`` in one atomic statement; return those granted to this consumer."""
        wanted = sorted(set(ids))  # sorted: claims of overlapping sets lock rows in one order
        if not wanted:
            return []

        async def op(conn: psycopg.AsyncConnection[Any]) -> set[str]:
            t = self.tables.messages
            cur = await conn.execute(
                f"INSERT INTO {t} AS t (gateway, account, message_id, holder, holder_site,"
                " lease_until) "
                "SELECT %s, %s, id, %s, %s, now() + make_interval(secs => %s) "
                "FROM unnest(%s::text[]) AS id "
                "ON CONFLICT (gateway, account, message_id) DO UPDATE SET "
                "holder = EXCLUDED.holder, holder_site = EXCLUDED.holder_site, "
                "lease_until = EXCLUDED.lease_until, updated_at = now() "
                "WHERE (t.state IS NULL OR t.state = 'stored') AND (t.holder IS NULL "
                "OR t.lease_until < now() OR t.holder = EXCLUDED.holder "
                "OR t.holder_site = EXCLUDED.holder_site) "
                "RETURNING message_id",
                (*self._key(), *self._me(), self.lease_seconds, wanted),
            )
            return {row[0] for row in await cur.fetchall()}

        granted = await self._run("claim messages", op)
        self._held.update(granted)
        return [m for m in ids if m in granted]

    async def release(self, ids: Sequence[str]) -> None:
        """Give up this consumer's claims on ``ids``."""
        if not ids:
            return

        async def op(conn: psycopg.AsyncConnection[Any]) -> None:
            await conn.execute(
                f"UPDATE {self.tables.messages} SET holder = NULL, holder_site = NULL, "
                "lease_until = NULL, updated_at = now() "
                "WHERE gateway = %s AND account = %s AND message_id = ANY(%s) AND holder = %s",
                (*self._key(), list(ids), self.consumer_id),
            )

        await self._run("release claims", op)
        self._held.difference_update(ids)

    async def record(self, records: Sequence[JournalRecord]) -> None:
        """Commit ``records`` before returning. A ``stored`` record needs this consumer's
        claim: if another consumer took the message over, `ClaimLostError` (after the
        other records are committed)."""
        if not records:
            return
        lost = await self._run("record states", lambda conn: self._record(conn, records))
        done = {r.message_id for r in records if r.state in (ACKED, MARKED)}
        self._held.difference_update(done)
        if lost:
            self._held.difference_update(lost)
            raise ClaimLostError(
                f"{', '.join(lost)}: taken over (this consumer's lease expired) or finished "
                "by another consumer before it was journaled as stored here; not handed over",
                message_ids=lost,
            )

    # -- statements ----------------------------------------------------------------------

    def _key(self) -> tuple[str, str]:
        assert self._scope is not None, "open() first"
        return self._scope.gateway, self._scope.account

    def _me(self) -> tuple[str, str]:
        assert self.site is not None, "open() first"
        return self.consumer_id, self.site

    async def _migrate(self, conn: psycopg.AsyncConnection[Any]) -> None:
        found = await migrate(conn, self.tables)
        logger.debug(
            "journal tables %s at schema version %d (found at %d)",
            self.tables.messages,
            SCHEMA_VERSION,
            found,
        )

    async def _check_site(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """A ``dest_dir`` holds one gateway's and account's messages, as with the file journal."""
        cur = await conn.execute(
            f"SELECT gateway, account FROM {self.tables.messages} "
            "WHERE stored_site = %s AND state IN ('stored', 'acked') "
            "AND (gateway, account) <> (%s, %s) LIMIT 1",
            (self.site, *self._key()),
        )
        row = await cur.fetchone()
        if row is not None:
            assert self._scope is not None
            raise JournalMismatchError(
                f"{self._scope.dest_dir} holds unfinished messages of gateway {row[0]!r}, "
                f"account {row[1]!r}; it cannot also take gateway {self._scope.gateway!r}, "
                f"account {self._scope.account!r}: use another directory"
            )

    async def _recover_stored(self, conn: psycopg.AsyncConnection[Any]) -> list[JournalRecord]:
        """Claim again the messages stored in this site's directory and never acked."""
        cur = await conn.execute(
            f"UPDATE {self.tables.messages} AS t SET holder = %s, holder_site = %s, "
            "lease_until = now() + make_interval(secs => %s), updated_at = now() "
            "WHERE gateway = %s AND account = %s AND state = 'stored' AND stored_site = %s "
            "AND (holder IS NULL OR lease_until < now() OR holder_site = %s) "
            "RETURNING message_id, directory, metadata, extract(epoch FROM updated_at)",
            (*self._me(), self.lease_seconds, *self._key(), self.site, self.site),
        )
        return [
            JournalRecord(
                message_id=mid,
                state=STORED,
                directory=directory,
                metadata=metadata if isinstance(metadata, Mapping) else {},
                time=float(stamp),
            )
            for mid, directory, metadata, stamp in await cur.fetchall()
        ]

    async def _recover_acked(self, conn: psycopg.AsyncConnection[Any]) -> list[str]:
        """Messages acked in this site whose acknowledgement was not recorded."""
        cur = await conn.execute(
            f"SELECT message_id FROM {self.tables.messages} "
            "WHERE gateway = %s AND account = %s AND state = 'acked' AND stored_site = %s",
            (*self._key(), self.site),
        )
        return [row[0] for row in await cur.fetchall()]

    async def _record(
        self, conn: psycopg.AsyncConnection[Any], records: Sequence[JournalRecord]
    ) -> list[str]:
        """Write ``records`` in one transaction; return the stored ids whose claim was lost."""
        t = self.tables.messages
        lost: list[str] = []
        jsonb = self._psycopg.types.json.Jsonb
        async with conn.transaction():
            for r in records:
                if r.state == STORED:
                    cur = await conn.execute(
                        f"UPDATE {t} SET state = 'stored', stored_by = %s, stored_site = %s, "
                        "directory = %s, metadata = %s, updated_at = now() "
                        "WHERE gateway = %s AND account = %s AND message_id = %s "
                        "AND holder = %s AND (state IS NULL OR state = 'stored') "
                        "RETURNING 1",
                        (
                            *self._me(),
                            r.directory,
                            jsonb(dict(r.metadata or {})),
                            *self._key(),
                            r.message_id,
                            self.consumer_id,
                        ),
                    )
                    if await cur.fetchone() is None:
                        lost.append(r.message_id)
                    continue
                # acked / marked: the later state wins; the claim ends.
                await conn.execute(
                    f"INSERT INTO {t} AS t (gateway, account, message_id, state) "
                    "VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (gateway, account, message_id) DO UPDATE SET "
                    f"state = CASE WHEN array_position({_ORDER}, t.state) "
                    f">= array_position({_ORDER}, EXCLUDED.state) "
                    "THEN t.state ELSE EXCLUDED.state END, "
                    "holder = NULL, holder_site = NULL, lease_until = NULL, updated_at = now()",
                    (*self._key(), r.message_id, r.state),
                )
        return lost

    async def _renew(self, conn: psycopg.AsyncConnection[Any]) -> set[str]:
        cur = await conn.execute(
            f"UPDATE {self.tables.messages} "
            "SET lease_until = now() + make_interval(secs => %s) "
            "WHERE holder = %s AND gateway = %s AND account = %s "
            "AND (state IS NULL OR state = 'stored') RETURNING message_id",
            (self.lease_seconds, self.consumer_id, *self._key()),
        )
        return {row[0] for row in await cur.fetchall()}

    async def _release_all(self, conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.execute(
            f"UPDATE {self.tables.messages} SET holder = NULL, holder_site = NULL, "
            "lease_until = NULL WHERE holder = %s",
            (self.consumer_id,),
        )

    async def _renew_forever(self) -> None:
        """Renew this consumer's leases every third of a lease, while it runs."""
        while True:
            await anyio.sleep(self.lease_seconds / 3)
            try:
                renewed = await self._run("renew leases", self._renew)
            except Exception as exc:  # e.g. permissions changed: keep trying, say so
                logger.error("%s: could not renew leases: %s", self.consumer_id, exc)
                continue
            lost = sorted(self._held - renewed)
            if lost:
                self._held.difference_update(lost)
                logger.warning(
                    "%s: lease expired and the claim passed to another consumer: %s",
                    self.consumer_id,
                    ", ".join(lost[:10]) + (" …" if len(lost) > 10 else ""),
                )

    # -- connection, retries -------------------------------------------------------------

    async def _run(
        self, what: str, op: Callable[[psycopg.AsyncConnection[Any]], Awaitable[_T]]
    ) -> _T:
        """Run ``op`` on the connection; wait for a lost database and retry (see the class)."""
        psycopg = self._psycopg
        attempt = 0
        while True:
            try:
                result = await self._attempt(op)
            except (psycopg.OperationalError, psycopg.InterfaceError, TimeoutError) as exc:
                attempt += 1
                now = time.monotonic()
                if self._down_since is None:
                    self._down_since = now
                waited = now - self._down_since
                if self.max_wait is not None and waited >= self.max_wait:
                    raise JournalUnavailableError(
                        f"the PostgreSQL journal stayed unreachable for {waited:.0f} s "
                        f"(max_wait={self.max_wait}): could not {what}: {_describe(exc)}"
                    ) from exc
                delay = min(self.retry_max, self.retry_initial * 2 ** (attempt - 1))
                delay *= random.uniform(0.5, 1.0)
                logger.warning(
                    "PostgreSQL journal unreachable, could not %s (%s); waiting %.1f s and "
                    "retrying (attempt %d, down for %.0f s)",
                    what,
                    _describe(exc),
                    delay,
                    attempt,
                    waited,
                )
                await anyio.sleep(delay)
                continue
            except psycopg.Error as exc:
                raise JournalDatabaseError(
                    f"the PostgreSQL journal could not {what}: {_describe(exc)}"
                ) from exc
            if self._down_since is not None:
                logger.warning(
                    "PostgreSQL journal reachable again after %.0f s; going on",
                    time.monotonic() - self._down_since,
                )
                self._down_since = None
            return result

    async def _attempt(self, op: Callable[[psycopg.AsyncConnection[Any]], Awaitable[_T]]) -> _T:
        """One try of ``op``, within ``attempt_timeout``; a failed connection is dropped."""
        async with self._lock:
            try:
                with anyio.fail_after(self.attempt_timeout):
                    if self._conn is None or self._conn.closed:
                        self._conn = await self._psycopg.AsyncConnection.connect(
                            self.dsn,
                            autocommit=True,
                            connect_timeout=max(1, int(self.attempt_timeout)),
                            application_name="as2gw_async",
                        )
                    return await op(self._conn)
            except BaseException as exc:
                if not isinstance(exc, self._psycopg.Error) or isinstance(
                    exc, (self._psycopg.OperationalError, self._psycopg.InterfaceError)
                ):
                    await self._disconnect()  # a connection in an unknown state is not reused
                raise

    async def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                try:
                    await conn.close()
                except Exception as exc:  # closing a broken connection: nothing to keep
                    logger.debug("closing the journal connection: %s", exc)


def _require_asyncio() -> None:
    """psycopg's async connections run on asyncio only: refuse trio with a clear error."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        library = "another event loop"
        try:  # only to name it; anyio no longer needs sniffio
            import sniffio

            library = sniffio.current_async_library()
        except Exception:  # sniffio missing or unsure: keep the generic name
            pass
        raise AsyncBackendError(
            f"PostgresJournal runs only under asyncio (psycopg's async driver), not {library}: "
            'run the consumer with anyio.run(..., backend="asyncio") or asyncio.run'
        ) from None


def _describe(exc: BaseException) -> str:
    """One line for a driver error (its first line, without the server's DETAIL/HINT)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _site_of(dest_dir: Path) -> str:
    """Host and real path of ``dest_dir``: one live consumer at a time (its lock)."""
    return f"{socket.gethostname()}:{os.path.realpath(dest_dir)}"
