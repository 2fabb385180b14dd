"""InboxConsumer with a PostgresJournal, in one process: two "hosts" share one inbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest

import as2gw_async as gw
from as2gw_async.emulator import EmulatorServer, Gateway
from as2gw_async.files import safe_message_dirname
from as2gw_async.mailbox import FetchResult, FetchSizes, Mailbox, WaitingItem

from .test_journal_postgres import sql


@pytest.fixture
async def session(as2gw_emulator: EmulatorServer) -> AsyncIterator[gw.Session]:
    async with gw.Session(
        as2gw_emulator.username,
        as2gw_emulator.password,
        base_url=as2gw_emulator.base_url,
        rate_limit=None,
    ) as s:
        yield s


class GatedMailbox:
    """The session's mailbox in fetches of 5, whose fetches wait for ``gate`` if given."""

    def __init__(self, inner: Mailbox, gate: anyio.Event | None = None) -> None:
        self.inner, self.gate = inner, gate
        self.gateway, self.account = inner.gateway, inner.account
        self.sizes = FetchSizes(max_ids=5)
        self.fetching = anyio.Event()

    def waiting(self) -> AsyncIterator[WaitingItem]:
        return self.inner.waiting()

    async def fetch(
        self, items: Sequence[WaitingItem], staging: Path, *, max_total_size: int
    ) -> FetchResult:
        self.fetching.set()
        if self.gate is not None:
            await self.gate.wait()
        return await self.inner.fetch(items, staging, max_total_size=max_total_size)

    async def acknowledge(self, ids: Sequence[str]) -> list[str]:
        return await self.inner.acknowledge(ids)

    def restore(self, metadata: Any) -> Any:
        return self.inner.restore(metadata)

    def usage(self) -> Any:
        return self.inner.usage()


async def drain(consumer: gw.InboxConsumer) -> list[str]:
    async with consumer:
        return [d.message_id async for d in consumer]


async def test_a_consumer_claims_a_message_when_it_fetches_it_not_when_it_lists_it(
    as2gw_gateway: Gateway, session: gw.Session, tmp_path: Path, pg_dsn: str, pg_prefix: str
) -> None:
    ids = as2gw_gateway.seed(60)
    gate = anyio.Event()
    slow = GatedMailbox(session.mailbox(), gate)
    journal = gw.PostgresJournal(pg_dsn, table_prefix=pg_prefix)
    a = gw.InboxConsumer(slow, tmp_path / "a", concurrency=1, journal=journal)
    got: dict[str, list[str]] = {}

    async def run_a() -> None:
        got["a"] = await drain(a)

    async with anyio.create_task_group() as tg:
        tg.start_soon(run_a)
        await slow.fetching.wait()  # a listed everything, and waits in its first fetch
        held = sql(pg_dsn, f"SELECT count(*) FROM {pg_prefix}messages WHERE holder IS NOT NULL")
        assert held == [(5,)]  # what it fetches, not all it listed
        b = gw.InboxConsumer(
            GatedMailbox(session.mailbox()),
            tmp_path / "b",
            journal=gw.PostgresJournal(pg_dsn, table_prefix=pg_prefix),
        )
        got["b"] = await drain(b)  # the other host takes the rest meanwhile
        assert len(got["b"]) == 55
        gate.set()
    assert len(got["a"]) == 5
    assert sorted(got["a"] + got["b"]) == sorted(ids)
    for mid in ids:
        assert as2gw_gateway.is_read(mid)
        holders = [h for h in "ab" if (tmp_path / h / safe_message_dirname(mid)).is_dir()]
        assert holders == (["a"] if mid in got["a"] else ["b"])
    rows = sql(pg_dsn, f"SELECT DISTINCT state, holder FROM {pg_prefix}messages")
    assert rows == [("marked", None)]


async def test_a_dead_hosts_message_goes_to_another_host_once_its_lease_expires(
    as2gw_gateway: Gateway, session: gw.Session, tmp_path: Path, pg_dsn: str, pg_prefix: str
) -> None:
    [mid] = as2gw_gateway.seed(1)
    dead = gw.PostgresJournal(pg_dsn, table_prefix=pg_prefix)

    async def no_release(conn: object) -> None:
        """A killed process releases nothing."""

    dead._release_all = no_release  # type: ignore[method-assign]
    async with gw.InboxConsumer(session, tmp_path / "a", journal=dead) as a:
        async for _ in a:
            break  # a's code got it, and a dies before it is done
    other = tmp_path / "b"

    def b() -> gw.InboxConsumer:
        return gw.InboxConsumer(
            session, other, journal=gw.PostgresJournal(pg_dsn, table_prefix=pg_prefix)
        )

    assert await drain(b()) == []  # a's lease is live: b leaves the message alone
    sql(pg_dsn, f"UPDATE {pg_prefix}messages SET lease_until = now() - interval '1 second'")
    async with b() as consumer:
        got = [d async for d in consumer]
    assert [(d.message_id, d.redelivered) for d in got] == [(mid, False)]  # its own download
    assert as2gw_gateway.is_read(mid)
    # a comes back: nothing to hand over again; its copy is the leftover the docs describe
    assert (
        await drain(
            gw.InboxConsumer(
                session, tmp_path / "a", journal=gw.PostgresJournal(pg_dsn, table_prefix=pg_prefix)
            )
        )
        == []
    )
    for host in ("a", "b"):
        assert (tmp_path / host / safe_message_dirname(mid)).is_dir()
    [(state, site)] = sql(pg_dsn, f"SELECT state, stored_site FROM {pg_prefix}messages")
    assert state == "marked"
    assert site.endswith(str(other.resolve()))
