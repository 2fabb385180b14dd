"""PostgresJournal against a real PostgreSQL server: schema, claims, leases, recovery."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

import as2gw_async as gw
from as2gw_async.journal import ACKED, MARKED, STORED, JournalRecord, JournalScope, Recovery
from as2gw_async.journal._pg_schema import MIGRATIONS, SCHEMA_VERSION

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def scope(dest: Path, account: str = "demo@example.com") -> JournalScope:
    return JournalScope(gateway="as2gateway", account=account, dest_dir=dest)


def sql(dsn: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run one statement on a connection of its own (what another host would see)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.execute(query, params)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []


@pytest.fixture
def make(pg_dsn: str, pg_prefix: str) -> Callable[..., gw.PostgresJournal]:
    def _make(**kwargs: Any) -> gw.PostgresJournal:
        kwargs.setdefault("table_prefix", pg_prefix)
        return gw.PostgresJournal(pg_dsn, **kwargs)

    return _make


class Opened:
    """Open journals (each in its own dest_dir unless given one); close them all on exit,
    from the task that opened them (a journal renews its leases in a task group)."""

    def __init__(self, make: Callable[..., gw.PostgresJournal], tmp_path: Path) -> None:
        self.make, self.tmp_path = make, tmp_path
        self.journals: list[gw.PostgresJournal] = []

    async def __call__(
        self, dest: Path | None = None, **kwargs: Any
    ) -> tuple[gw.PostgresJournal, Recovery]:
        journal = self.make(**kwargs)
        where = dest if dest is not None else self.tmp_path / f"d{len(self.journals)}"
        where.mkdir(exist_ok=True)
        recovery = await journal.open(scope(where))
        self.journals.append(journal)
        return journal, recovery

    async def __aenter__(self) -> Opened:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for journal in self.journals:
            await journal.close()


def stored(mid: str) -> JournalRecord:
    return JournalRecord(
        message_id=mid, state=STORED, directory=f"dir-{mid}", metadata={"subject": mid}
    )


async def test_creates_the_versioned_schema_once(
    make: Callable[..., gw.PostgresJournal], tmp_path: Path, pg_dsn: str, pg_prefix: str
) -> None:
    async with Opened(make, tmp_path) as opened:
        await opened()
        await opened()  # a second consumer: nothing applied twice
        rows = sql(pg_dsn, f"SELECT version FROM {pg_prefix}schema_version ORDER BY version")
        assert rows == [(v,) for v, _ in MIGRATIONS]
        columns = {
            r[0]
            for r in sql(
                pg_dsn,
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
                f"{pg_prefix}messages",
            )
        }
        assert {"gateway", "account", "message_id", "state", "holder", "lease_until"} <= columns


async def test_consumers_starting_together_migrate_once(
    make: Callable[..., gw.PostgresJournal], tmp_path: Path, pg_dsn: str, pg_prefix: str
) -> None:
    journals = [make() for _ in range(4)]

    async def one(i: int) -> None:
        (tmp_path / str(i)).mkdir()
        await journals[i].open(scope(tmp_path / str(i)))

    async with anyio.create_task_group() as tg:
        for i in range(4):
            tg.start_soon(one, i)
    for journal in journals:
        await journal.close()
    assert sql(pg_dsn, f"SELECT count(*) FROM {pg_prefix}schema_version") == [(SCHEMA_VERSION,)]


async def test_a_new_migration_upgrades_an_existing_database_once(
    make: Callable[..., gw.PostgresJournal],
    tmp_path: Path,
    pg_dsn: str,
    pg_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with Opened(make, tmp_path) as opened:
        a, _ = await opened()
        await a.claim(["m1"])
        await a.record([stored("m1")])
    from as2gw_async.journal import _pg_schema

    upgrade = (2, "ALTER TABLE {messages} ADD COLUMN note text; UPDATE {messages} SET note = 'v2'")
    monkeypatch.setattr(_pg_schema, "MIGRATIONS", (*MIGRATIONS, upgrade))
    monkeypatch.setattr(_pg_schema, "SCHEMA_VERSION", 2)
    async with Opened(make, tmp_path) as opened:
        await opened()
        await opened()
    versions = sql(pg_dsn, f"SELECT version FROM {pg_prefix}schema_version ORDER BY version")
    assert versions == [(1,), (2,)]
    assert sql(pg_dsn, f"SELECT message_id, state, note FROM {pg_prefix}messages") == [
        ("m1", "stored", "v2")
    ]


async def test_refuses_a_newer_schema(
    make: Callable[..., gw.PostgresJournal], tmp_path: Path, pg_dsn: str, pg_prefix: str
) -> None:
    async with Opened(make, tmp_path) as opened:
        await opened()
        sql(pg_dsn, f"INSERT INTO {pg_prefix}schema_version (version) VALUES (%s)", 999)
        with pytest.raises(gw.JournalDatabaseError, match="schema version 999"):
            await opened()


@pytest.mark.parametrize("prefix", ["", "1abc", "Abc_", "a-b", "a;drop table x", "x" * 60])
def test_table_prefix_must_be_an_identifier(pg_dsn: str, prefix: str) -> None:
    with pytest.raises(ValueError, match="table_prefix"):
        gw.PostgresJournal(pg_dsn, table_prefix=prefix)


async def test_claims_race_without_overlap(
    make: Callable[..., gw.PostgresJournal], tmp_path: Path
) -> None:
    async with Opened(make, tmp_path) as opened:
        ids = [f"<m{i}@x>" for i in range(300)]
        journals = [(await opened())[0] for _ in range(3)]
        granted: list[list[str]] = [[] for _ in journals]

        async def claim(i: int) -> None:
            for start in range(0, len(ids), 50):  # each sees the ids in another order
                group = ids[start : start + 50]
                group = group[::-1] if i % 2 else group
                granted[i] += await journals[i].claim(group)

        async with anyio.create_task_group() as tg:
            for i in range(len(journals)):
                tg.start_soon(claim, i)
        everything = [m for g in granted for m in g]
        assert sorted(everything) == sorted(ids)  # each id granted once, to one consumer


async def test_a_claim_is_held_until_released_or_acked(
    make: Callable[..., gw.PostgresJournal], tmp_path: Path
) -> None:
    async with Opened(make, tmp_path) as opened:
        a, _ = await opened()
        b, _ = await opened()
        assert await a.claim(["m1", "m2", "m3"]) == ["m1", "m2", "m3"]
        assert await b.claim(["m1", "m2", "m3"]) == []
        assert await a.claim(["m1"]) == ["m1"]  # claiming again what you hold is granted
        await a.release(["m1"])
        await a.record([stored("m2"), JournalRecord(message_id="m2", state=ACKED)])
        assert await b.claim(["m1", "m2", "m3"]) == ["m1"]  # m2 acked: never granted again
        await a.record([JournalRecord(message_id="m3", state=MARKED)])
        assert await b.claim(["m3"]) == []
        assert await b.states(["m1", "m2", "m3", "m4"]) == {"m2": ACKED, "m3": MARKED}


async def test_an_expired_lease_is_taken_over_and_the_old_holder_cannot_store(
    make: Callable[..., gw.PostgresJournal], tmp_path: Path, pg_dsn: str, pg_prefix: str
) -> None:
    async with Opened(make, tmp_path) as opened:
        a, _ = await opened()
        b, _ = await opened()
        assert await a.claim(["m1"]) == ["m1"]
        # a's process froze past its lease (its renewals stopped):
        sql(pg_dsn, f"UPDATE {pg_prefix}messages SET lease_until = now() - interval '1 second'")
        assert await b.claim(["m1"]) == ["m1"]
        with pytest.raises(gw.ClaimLostError) as caught:
            await a.record([stored("m1")])
        assert caught.value.message_ids == ("m1",)
        await b.record([stored("m1")])
        rows = sql(pg_dsn, f"SELECT state, stored_by FROM {pg_prefix}messages")
        assert rows == [("stored", b.consumer_id)]


async def test_leases_are_renewed_while_open(
    make: Callable[..., gw.PostgresJournal], tmp_path: Path, pg_dsn: str, pg_prefix: str
) -> None:
    async with Opened(make, tmp_path) as opened:
        a, _ = await opened(lease_seconds=0.6)
        b, _ = await opened()
        await a.claim(["m1"])
        first = sql(pg_dsn, f"SELECT lease_until FROM {pg_prefix}messages")[0][0]
        with anyio.fail_after(30):
            while sql(pg_dsn, f"SELECT lease_until FROM {pg_prefix}messages")[0][0] <= first:
                await anyio.sleep(0.05)
        assert await b.claim(["m1"]) == []


async def test_close_releases_every_claim(
    make: Callable[..., gw.PostgresJournal], tmp_path: Path
) -> None:
    async with Opened(make, tmp_path) as opened:
        a, _ = await opened()
        b, _ = await opened()
        await a.claim(["m1", "m2"])
        await a.close()
        await a.close()  # twice is fine
        assert sorted(await b.claim(["m1", "m2"])) == ["m1", "m2"]


async def test_recovery_gives_back_this_directorys_unfinished_messages(
    make: Callable[..., gw.PostgresJournal], tmp_path: Path
) -> None:
    async with Opened(make, tmp_path) as opened:
        here, there = tmp_path / "here", tmp_path / "there"
        a, _ = await opened(here)
        await a.claim(["m1", "m2", "m3", "m4"])  # m4: claimed, not fetched yet
        await a.record([stored("m1"), stored("m2"), stored("m3")])
        await a.record([JournalRecord(message_id="m2", state=ACKED)])
        # a is killed (no close: its leases are live); another host's consumer gets nothing:
        c, elsewhere = await opened(there)
        assert elsewhere == Recovery()
        assert await c.claim(["m1", "m4"]) == []
        # the consumer restarted in the same directory takes its messages back at once:
        b, recovery = await opened(here)
        assert sorted(r.message_id for r in recovery.stored) == ["m1", "m3"]
        assert {r.directory for r in recovery.stored} == {"dir-m1", "dir-m3"}
        assert recovery.stored[0].metadata == {"subject": recovery.stored[0].message_id}
        assert recovery.acked == ("m2",)
        assert await b.claim(["m4"]) == ["m4"]  # a's claims are b's: a is gone
        await b.record([JournalRecord(message_id="m1", state=ACKED)])


async def test_records_are_committed_before_record_returns(
    make: Callable[..., gw.PostgresJournal], tmp_path: Path, pg_dsn: str, pg_prefix: str
) -> None:
    async with Opened(make, tmp_path) as opened:
        a, _ = await opened()
        await a.claim(["m1"])
        await a.record([stored("m1")])
        assert sql(pg_dsn, f"SELECT state FROM {pg_prefix}messages") == [("stored",)]
        await a.record([JournalRecord(message_id="m1", state=MARKED)])
        await a.record([JournalRecord(message_id="m1", state=ACKED)])  # late: marked stays
        assert sql(pg_dsn, f"SELECT state, holder FROM {pg_prefix}messages") == [("marked", None)]


async def test_a_directory_belongs_to_one_account(
    make: Callable[..., gw.PostgresJournal], tmp_path: Path
) -> None:
    a = make()
    await a.open(scope(tmp_path))
    await a.claim(["m1"])
    await a.record([stored("m1")])
    await a.close()
    b = make()
    with pytest.raises(gw.JournalMismatchError, match="another directory"):
        await b.open(scope(tmp_path, account="other@example.com"))
    await b.close()


def test_refuses_trio_with_a_typed_error(pg_dsn: str, tmp_path: Path) -> None:
    journal = gw.PostgresJournal(pg_dsn)

    async def main() -> None:
        await journal.open(scope(tmp_path))

    with pytest.raises(gw.AsyncBackendError, match="only under asyncio"):
        anyio.run(main, backend="trio")


def test_without_the_driver_the_core_imports_and_the_journal_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "import as2gw_async as gw\n"
        "try:\n"
        "    gw.PostgresJournal('postgresql://x@127.0.0.1/db')\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert 'pip install "as2gw_async[postgres]"' in done.stdout
