"""The database goes away mid-run (stopped like a crash, then started again): consumers wait,
retry with a clear log line, and finish with nothing lost; a bounded wait ends typed."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

import as2gw_async as gw
from as2gw_async.journal import STORED, JournalRecord, JournalScope

from ._server import PostgresServer, find_bin
from ._several_hosts import Consumer, check_once_across_hosts, start_emulator
from .test_journal_postgres import sql


@pytest.fixture
def server(pg_dsn: str) -> Iterator[PostgresServer]:
    """A server of this test's own (it is stopped and started): pg_dsn only checks the setup."""
    if find_bin("initdb") is None:
        pytest.skip("stopping the server needs a local one (initdb/pg_ctl)")
    own = PostgresServer()
    own.start()
    try:
        yield own
    finally:
        own.remove()


def wait_for(predicate: object, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_consumers_wait_for_a_restarted_database_and_lose_nothing(
    server: PostgresServer, pg_prefix: str, tmp_path: Path
) -> None:
    proc, url = start_emulator(
        "--seed-messages", "150", "--seed", "5", "--latency", "0.03", "--batch-limit", "8000"
    )  # fmt: skip
    control = httpx.Client(base_url=url.rsplit("/v1", 1)[0] + "/_emulator", timeout=30)
    hosts = [Consumer(n, tmp_path, url, server.dsn, pg_prefix, 3.0, 0.0) for n in "ab"]
    try:
        for host in hosts:
            host.start()
        # once both are at work (something handed over), the database dies
        wait_for(lambda: all(h.log(1).exists() for h in hosts), "the first deliveries")
        server.stop(crash=True)
        # down long enough for several retries (and past the consumers' leases' renewals)
        wait_for(
            lambda: (
                all("PostgreSQL journal unreachable" in h.stderr() for h in hosts)
                and any("(attempt 4," in h.stderr() for h in hosts)
            ),
            "both consumers to say they wait for the database",
        )
        assert all(h.running() for h in hosts), "a consumer gave up instead of waiting"
        server.start()
        for host in hosts:
            assert host.wait(timeout=600) == 0, host.stderr()
        for host in hosts:
            assert "PostgreSQL journal reachable again" in host.stderr()
        rows = sql(server.dsn, f"SELECT message_id, state, holder FROM {pg_prefix}messages")
        figures = check_once_across_hosts(control, hosts, rows)
        assert figures == {"messages": 150, "repeated_handings": 0, "extra_copies": 0}
    finally:
        for host in hosts:
            if host.running():
                host.kill()
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_a_bounded_wait_ends_with_a_typed_error(
    server: PostgresServer, pg_prefix: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = gw.PostgresJournal(
        server.dsn, table_prefix=pg_prefix, max_wait=1.0, retry_initial=0.1, retry_max=0.2
    )
    await journal.open(JournalScope(gateway="as2gateway", account="a", dest_dir=tmp_path))
    try:
        assert await journal.claim(["m1"]) == ["m1"]
        server.stop(crash=True)
        with caplog.at_level(logging.WARNING), pytest.raises(gw.JournalUnavailableError):
            await journal.record([JournalRecord(message_id="m1", state=STORED, directory="d")])
        assert "PostgreSQL journal unreachable, could not record states" in caplog.text
        server.start()
        # waiting again: the journal reconnects and the claim it holds is still its own
        await journal.record(
            [JournalRecord(message_id="m1", state=STORED, directory="d", metadata={})]
        )
    finally:
        with anyio.CancelScope(shield=True):
            await journal.close()
    assert sql(server.dsn, f"SELECT state FROM {pg_prefix}messages") == [("stored",)]


@pytest.mark.anyio
async def test_an_unreachable_database_at_open_is_typed(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    journal = gw.PostgresJournal(
        f"postgresql://x@127.0.0.1:{port}/db", max_wait=0.5, retry_initial=0.1, retry_max=0.1
    )
    with pytest.raises(gw.JournalUnavailableError, match="max_wait"):
        await journal.open(JournalScope(gateway="as2gateway", account="a", dest_dir=tmp_path))
    await journal.close()
