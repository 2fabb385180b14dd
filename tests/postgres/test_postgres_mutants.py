"""PostgresJournal: what the mutation run (``tools/mutation.py postgres``) showed no test
noticed. Each test names the mutants it kills; see docs/mutation.md."""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

import as2gw_async as gw
from as2gw_async.journal import ACKED, STORED, JournalRecord, JournalScope, postgres
from as2gw_async.journal._pg_schema import SCHEMA_VERSION
from as2gw_async.journal.postgres import _describe

from .test_journal_postgres import sql

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def journals(pg_dsn: str, pg_prefix: str, tmp_path: Path) -> Callable[[], Journals]:
    return lambda: Journals(pg_dsn, pg_prefix, tmp_path)


class Journals:
    """Open journals, each in a directory of its own; all closed on exit, from the test's own
    task (a fixture's teardown would run on another event loop)."""

    def __init__(self, dsn: str, prefix: str, tmp_path: Path) -> None:
        self.dsn, self.prefix, self.tmp_path = dsn, prefix, tmp_path
        self.opened: list[gw.PostgresJournal] = []

    async def open(self, **kwargs: Any) -> gw.PostgresJournal:
        journal = gw.PostgresJournal(self.dsn, table_prefix=self.prefix, **kwargs)
        where = self.tmp_path / f"d{len(self.opened)}"
        where.mkdir()
        self.opened.append(journal)
        await journal.open(JournalScope(gateway="as2gateway", account="a", dest_dir=where))
        return journal

    async def __aenter__(self) -> Journals:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for journal in self.opened:
            await journal.close()


def stored(mid: str) -> JournalRecord:
    return JournalRecord(message_id=mid, state=STORED, directory=f"dir-{mid}", metadata={})


def dead_port() -> int:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def cut_off(journal: gw.PostgresJournal) -> None:
    """The database is gone for ``journal`` (its next connection is refused), and it may not
    wait for it: the next statement ends in `JournalUnavailableError` naming what it did."""
    await journal._disconnect()
    journal.dsn = f"postgresql://x@127.0.0.1:{dead_port()}/db"
    journal.max_wait = 0


@pytest.mark.parametrize(
    ("what", "call"),
    [
        ("read states", lambda j: j.states(["m1"])),
        ("claim messages", lambda j: j.claim(["m1"])),
        ("release claims", lambda j: j.release(["m1"])),
        ("record states", lambda j: j.record([stored("m1")])),
    ],
)
async def test_an_unreachable_database_is_named_in_what_the_journal_was_doing(
    journals: Callable[[], Journals],
    what: str,
    call: Callable[[gw.PostgresJournal], Awaitable[object]],
) -> None:
    """kills: the ``what`` of states / claim / release (None, "XX...XX")."""
    async with journals() as opened:
        journal = await opened.open(retry_initial=0.01, retry_max=0.01, attempt_timeout=2)
        await cut_off(journal)
        with pytest.raises(gw.JournalUnavailableError, match=f"max_wait=0\\): could not {what}: "):
            await call(journal)


async def test_a_lost_claim_names_every_message_and_says_it_was_not_handed_over(
    journals: Callable[[], Journals], pg_dsn: str, pg_prefix: str
) -> None:
    """kills: `record`'s ClaimLostError text (None, the ", " join, the second line)."""
    async with journals() as opened:
        a = await opened.open()
        b = await opened.open()
        assert await a.claim(["m1", "m2"]) == ["m1", "m2"]
        sql(pg_dsn, f"UPDATE {pg_prefix}messages SET lease_until = now() - interval '1 second'")
        assert await b.claim(["m1", "m2"]) == ["m1", "m2"]
        with pytest.raises(gw.ClaimLostError) as caught:
            await a.record([stored("m1"), stored("m2")])
    assert str(caught.value) == (
        "m1, m2: taken over (this consumer's lease expired) or finished by another consumer "
        "before it was journaled as stored here; not handed over"
    )


async def test_renewals_warn_of_no_lost_claim_for_finished_or_held_messages(
    journals: Callable[[], Journals], pg_dsn: str, pg_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A message acked is no longer held, so the next renewal, which does not renew it, must
    not report its claim as lost; a held one is renewed and reported nowhere.

    kills: `record`'s ``done`` (``in`` -> ``not in``), `_renew`'s ``row[0]`` -> ``row[1]``
    (the renewal then fails on every round and says so).
    """
    query = f"SELECT lease_until FROM {pg_prefix}messages WHERE message_id = 'm2'"
    async with journals() as opened:
        journal = await opened.open(lease_seconds=0.3)
        assert await journal.claim(["m1", "m2"]) == ["m1", "m2"]
        await journal.record([stored("m1")])
        await journal.record([JournalRecord(message_id="m1", state=ACKED)])  # a call of its own
        with caplog.at_level(logging.DEBUG, logger="as2gw_async.journal.postgres"):
            for _ in range(2):  # two renewals after the ack (the first one's checks are done
                before = sql(pg_dsn, query)[0][0]  # when the second moves m2's lease on)
                with anyio.fail_after(30):
                    while sql(pg_dsn, query)[0][0] <= before:
                        await anyio.sleep(0.02)
        problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert problems == []
        assert await (await opened.open()).claim(["m2"]) == []  # held: its lease was renewed


async def test_a_renewal_reports_a_stored_message_whose_claim_passed_to_another(
    journals: Callable[[], Journals], pg_dsn: str, pg_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A message stored (not yet acked) is still held: if its claim is lost, the next renewal
    says so, once. kills: `record`'s ``done`` (``in`` -> ``not in``: storing would drop it)."""
    query = f"SELECT lease_until FROM {pg_prefix}messages WHERE message_id = 'm2'"
    async with journals() as opened:
        journal = await opened.open(lease_seconds=0.3)
        assert await journal.claim(["m1", "m2"]) == ["m1", "m2"]
        await journal.record([stored("m1")])
        sql(pg_dsn, f"UPDATE {pg_prefix}messages SET holder = 'other' WHERE message_id = 'm1'")
        with caplog.at_level(logging.WARNING, logger="as2gw_async.journal.postgres"):
            for _ in range(2):  # two renewals after the take-over, as above
                before = sql(pg_dsn, query)[0][0]
                with anyio.fail_after(30):
                    while sql(pg_dsn, query)[0][0] <= before:
                        await anyio.sleep(0.02)
        lost = [r.getMessage() for r in caplog.records if "lease expired" in r.getMessage()]
        assert len(lost) == 1
        assert lost[0].endswith("lease expired and the claim passed to another consumer: m1")


async def test_leases_are_renewed_every_third_of_a_lease(
    journals: Callable[[], Journals], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented period, read off the renewal task's own sleep (no clock in the test).
    kills: `_renew_forever`'s ``/ 3`` -> ``* 3`` and ``/ 4``."""
    waits: list[float] = []
    real_sleep = anyio.sleep

    async def sleep(delay: float) -> None:
        waits.append(delay)
        await real_sleep(delay)

    monkeypatch.setattr(postgres.anyio, "sleep", sleep)
    async with journals() as opened:
        await opened.open(lease_seconds=0.9)
        with anyio.fail_after(30):
            while not waits:
                await real_sleep(0.01)
    assert waits[0] == pytest.approx(0.3)


async def test_opening_logs_the_tables_and_their_schema_version(
    journals: Callable[[], Journals], pg_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The version the tables are at now, and the one found (0: none, created now).
    kills: `_migrate`'s debug line (its text and each argument)."""
    with caplog.at_level(logging.DEBUG, logger="as2gw_async.journal.postgres"):
        async with journals() as opened:
            await opened.open()
            await opened.open()
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("journal ")]
    now = f"journal tables {pg_prefix}messages at schema version {SCHEMA_VERSION}"
    assert lines == [f"{now} (found at 0)", f"{now} (found at {SCHEMA_VERSION})"]


async def test_a_directory_of_another_account_names_the_one_it_holds(
    pg_dsn: str, pg_prefix: str, tmp_path: Path
) -> None:
    """kills: `_check_site`'s ``row[0]`` -> ``row[1]`` (the gateway named)."""
    a = gw.PostgresJournal(pg_dsn, table_prefix=pg_prefix)
    await a.open(JournalScope(gateway="mftgateway", account="acct-a", dest_dir=tmp_path))
    await a.claim(["m1"])
    await a.record([stored("m1")])
    await a.close()
    b = gw.PostgresJournal(pg_dsn, table_prefix=pg_prefix)
    try:
        with pytest.raises(gw.JournalMismatchError) as caught:
            await b.open(JournalScope(gateway="ecgrid", account="acct-b", dest_dir=tmp_path))
    finally:
        await b.close()
    assert str(caught.value) == (
        f"{tmp_path} holds unfinished messages of gateway 'mftgateway', account 'acct-a'; it "
        "cannot also take gateway 'ecgrid', account 'acct-b': use another directory"
    )


async def test_recovered_records_are_stored_with_their_time_and_a_mapping_of_metadata(
    journals: Callable[[], Journals], pg_dsn: str, pg_prefix: str, tmp_path: Path
) -> None:
    """What `open` gives back: the state, the time it was stored (epoch seconds) and its
    metadata, or ``{}`` where the column holds something else than an object.
    kills: `_recover_stored`'s ``state=STORED`` -> None, ``time`` None or dropped, the
    ``isinstance(metadata, Mapping)`` test forced true."""
    dest = tmp_path / "d"
    dest.mkdir()
    scope = JournalScope(gateway="as2gateway", account="a", dest_dir=dest)
    first = gw.PostgresJournal(pg_dsn, table_prefix=pg_prefix)
    await first.open(scope)
    await first.claim(["m1", "m2"])
    await first.record(
        [
            JournalRecord(message_id="m1", state=STORED, directory="d1", metadata={"subject": "s"}),
            stored("m2"),
        ]
    )
    # the first consumer died (its claims are live): a new one in its directory takes over
    sql(pg_dsn, f"UPDATE {pg_prefix}messages SET metadata = '[1, 2]' WHERE message_id = 'm2'")
    before = sql(pg_dsn, "SELECT extract(epoch FROM now())")[0][0]
    again = gw.PostgresJournal(pg_dsn, table_prefix=pg_prefix)
    try:
        recovery = await again.open(scope)
    finally:
        await again.close()
        await first.close()
    records = sorted(recovery.stored, key=lambda r: r.message_id)
    assert [(r.message_id, r.state, r.metadata) for r in records] == [
        ("m1", STORED, {"subject": "s"}),
        ("m2", STORED, {}),  # the column held a list
    ]
    after = sql(pg_dsn, "SELECT extract(epoch FROM now())")[0][0]
    # the time of the take-over, by the database's clock
    assert all(isinstance(r.time, float) and before <= r.time <= after for r in records)


async def test_a_statement_before_open_is_a_programming_error_that_says_so(
    pg_dsn: str, pg_prefix: str
) -> None:
    """kills: `_key`'s assertion text."""
    journal = gw.PostgresJournal(pg_dsn, table_prefix=pg_prefix)
    try:
        with pytest.raises(AssertionError, match=r"^open\(\) first"):
            await journal.states(["m1"])
    finally:
        await journal.close()


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            ValueError("connection refused\nDETAIL: the server is down"),
            "ValueError: connection refused",
        ),
        (OSError("  one line  "), "OSError: one line"),
        (TimeoutError(), "TimeoutError"),
        (RuntimeError("   \n  "), "RuntimeError"),
    ],
)
def test_a_driver_error_is_described_by_its_type_and_first_line(
    error: BaseException, line: str
) -> None:
    """kills: every `_describe` mutant (the text, the first line, the type named)."""
    assert _describe(error) == line
