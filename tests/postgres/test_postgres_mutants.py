"""PostgresJournal: what the mutation run (``tools/mutation.py postgres``) showed no test
noticed. Each test names the mutants it kills; see docs/mutation.md."""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import pytest

import as2gw_async as gw
from as2gw_async.journal import ACKED, STORED, JournalRecord, JournalScope, postgres
from as2gw_async.journal._pg_schema import SCHEMA_VERSION, validate_prefix
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
    (the renewal then fails on every round and says so) and its ``'stored'`` upper-cased
    (a stored message's lease would not be renewed).
    """
    query = f"SELECT lease_until FROM {pg_prefix}messages WHERE message_id = 'm2'"
    async with journals() as opened:
        journal = await opened.open(lease_seconds=0.3)
        assert await journal.claim(["m1", "m2", "m3"]) == ["m1", "m2", "m3"]
        await journal.record([stored("m1"), stored("m3")])  # m3: stored, to be renewed too
        await journal.record([JournalRecord(message_id="m1", state=ACKED)])  # a call of its own
        with caplog.at_level(logging.DEBUG, logger="as2gw_async.journal.postgres"):
            for _ in range(2):  # two renewals after the ack (the first one's checks are done
                before = sql(pg_dsn, query)[0][0]  # when the second moves m2's lease on)
                with anyio.fail_after(30):
                    while sql(pg_dsn, query)[0][0] <= before:
                        await anyio.sleep(0.02)
        problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert problems == []
        other = await opened.open()
        assert await other.claim(["m2", "m3"]) == []  # held: their leases were renewed


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


# -- the retry loop and the renewal loop, on a fake clock (no database needed) ------------


class Clock:
    """``time.monotonic`` and ``anyio.sleep`` for the journal module: sleeping moves the
    clock, and every delay asked for is kept."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.uniform_bounds: list[tuple[float, float]] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        self.now += delay

    def uniform(self, low: float, high: float) -> float:
        self.uniform_bounds.append((low, high))
        return low  # the jitter's lower bound: the delays are exact


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(postgres, "time", SimpleNamespace(monotonic=fake.monotonic))
    monkeypatch.setattr(postgres, "random", SimpleNamespace(uniform=fake.uniform))
    monkeypatch.setattr(postgres, "anyio", SimpleNamespace(sleep=fake.sleep, Lock=anyio.Lock))
    return fake


def failing(times: int, error: Exception) -> Callable[..., Awaitable[str]]:
    """An `_attempt` that raises ``error`` ``times`` times, then answers "done"."""
    calls = 0

    async def attempt(op: object) -> str:
        nonlocal calls
        calls += 1
        if calls <= times:
            raise error
        return "done"

    return attempt


def down() -> Exception:
    import psycopg

    return psycopg.OperationalError("connection refused\nDETAIL: is the server running?")


def journal_for_retries(**kwargs: Any) -> gw.PostgresJournal:
    return gw.PostgresJournal("postgresql://x@127.0.0.1:1/db", **kwargs)


async def test_a_lost_database_is_retried_with_exponential_backoff_and_said_so(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """Delays double from ``retry_initial`` up to ``retry_max``, times the jitter (0.5-1.0);
    each wait is logged with what failed, then the return once the database answers.
    kills: `_run`'s attempt counting (start 1, ``= 1``, ``-= 1``, ``+= 2``), the backoff
    formula (``/``, ``* 2 *``, ``3 **``, ``attempt + 1``, ``attempt - 2``), the jitter
    (``=``, ``/=``, its bounds) and every argument of both log lines."""
    journal = journal_for_retries(retry_initial=0.5, retry_max=2.25)
    journal._attempt = failing(5, down())  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="as2gw_async.journal.postgres"):
        assert await journal._run("claim messages", lambda conn: None) == "done"  # type: ignore[arg-type,return-value]
    assert clock.sleeps == [0.25, 0.5, 1.0, 1.125, 1.125]
    assert clock.uniform_bounds == [(0.5, 1.0)] * 5
    waited = [0.0, 0.25, 0.75, 1.75, 2.875]
    assert [r.getMessage() for r in caplog.records] == [
        *(
            "PostgreSQL journal unreachable, could not claim messages (OperationalError: "
            f"connection refused); waiting {delay:.1f} s and retrying (attempt {n}, down for "
            f"{since:.0f} s)"
            for n, (delay, since) in enumerate(zip(clock.sleeps, waited, strict=True), start=1)
        ),
        "PostgreSQL journal reachable again after 4 s; going on",
    ]
    assert journal._down_since is None  # the next outage is timed afresh


async def test_a_bounded_wait_gives_up_when_max_wait_has_passed(clock: Clock) -> None:
    """Down for exactly ``max_wait`` is enough to give up (``>=``).
    kills: `_run`'s ``waited >= max_wait`` -> ``>``, the error's description of the cause."""
    journal = journal_for_retries(retry_initial=1.0, retry_max=10.0, max_wait=1.5)
    journal._attempt = failing(100, down())  # type: ignore[method-assign]
    with pytest.raises(gw.JournalUnavailableError) as caught:
        await journal._run("read states", lambda conn: None)  # type: ignore[arg-type]
    assert clock.sleeps == [0.5, 1.0]  # down for 0, 0.5, then 1.5 s: given up
    assert str(caught.value) == (
        "the PostgreSQL journal stayed unreachable for 2 s (max_wait=1.5): could not read "
        "states: OperationalError: connection refused"
    )


async def test_a_database_error_is_typed_with_what_failed_and_not_retried(clock: Clock) -> None:
    """kills: `_run`'s JournalDatabaseError text (None, the cause's description)."""
    import psycopg

    journal = journal_for_retries()
    journal._attempt = failing(1, psycopg.errors.InsufficientPrivilege("permission denied"))  # type: ignore[method-assign]
    with pytest.raises(gw.JournalDatabaseError) as caught:
        await journal._run("record states", lambda conn: None)  # type: ignore[arg-type]
    assert str(caught.value) == (
        "the PostgreSQL journal could not record states: InsufficientPrivilege: permission denied"
    )
    assert clock.sleeps == []


class StopRenewing(BaseException):  # not an Exception: the loop logs those and goes on
    pass


async def test_the_renewal_loop_logs_a_failure_goes_on_and_reports_lost_claims(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """One round fails (logged, then the loop goes on); then 10 claims lost (listed whole),
    then 11 (the first ten and an ellipsis); what is lost is no longer held.
    kills: `_renew_forever`'s ``what``, the error line and its arguments, ``continue`` ->
    ``break``, the lost set (``-`` -> ``+``, None), the warning and its arguments, the
    ``[:10]`` cut and the ``> 10`` ellipsis (``>=``, ``> 11``, its text)."""
    journal = journal_for_retries(lease_seconds=3.0)
    ten = [f"m{i:02}" for i in range(10)]
    eleven = [f"n{i:02}" for i in range(11)]
    rounds: list[str] = []

    async def run(what: str, op: object) -> set[str]:
        rounds.append(what)
        if len(rounds) == 1:
            raise gw.JournalDatabaseError("permission denied")
        if len(rounds) == 2:
            journal._held = {"kept", *ten}
            return {"kept"}
        if len(rounds) == 3:
            journal._held = {"kept", *eleven}
            return {"kept"}
        raise StopRenewing

    journal._run = run  # type: ignore[method-assign,assignment]
    logs = caplog.at_level(logging.WARNING, logger="as2gw_async.journal.postgres")
    with logs, pytest.raises(StopRenewing):
        await journal._renew_forever()
    assert rounds == ["renew leases"] * 4
    assert clock.sleeps == [1.0] * 4
    me = journal.consumer_id
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("ERROR", f"{me}: could not renew leases: permission denied"),
        ("WARNING", f"{me}: lease expired and the claim passed to another consumer: "
         + ", ".join(ten)),
        ("WARNING", f"{me}: lease expired and the claim passed to another consumer: "
         + ", ".join(eleven[:10]) + " …"),
    ]  # fmt: skip
    assert journal._held == {"kept"}


async def test_a_second_outage_is_timed_afresh(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """kills: `_run`'s ``_down_since = None`` -> ``""`` once the database is back."""
    journal = journal_for_retries(retry_initial=1.0, retry_max=1.0)
    journal._attempt = failing(1, down())  # type: ignore[method-assign]
    assert await journal._run("read states", lambda conn: None) == "done"  # type: ignore[arg-type,comparison-overlap]
    clock.now += 100
    caplog.clear()
    journal._attempt = failing(1, down())  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="as2gw_async.journal.postgres"):
        assert await journal._run("read states", lambda conn: None) == "done"  # type: ignore[arg-type,comparison-overlap]
    first, back = (r.getMessage() for r in caplog.records)
    assert first.endswith("retrying (attempt 1, down for 0 s)")
    assert back == "PostgreSQL journal reachable again after 0 s; going on"


def test_the_defaults_and_the_refused_settings() -> None:
    """kills: the defaults of `__init__` (lease 60 s, attempts 10 s, backoff 0.5-15 s), its
    checks (``<= 0`` at each bound, ``or``), their texts, the consumer id's form, and the
    state of a journal not opened yet."""
    journal = journal_for_retries()
    settings = (journal.lease_seconds, journal.attempt_timeout, journal.retry_initial)
    assert (*settings, journal.retry_max, journal.max_wait) == (60.0, 10.0, 0.5, 15.0, None)
    host, pid, tail = journal.consumer_id.rsplit(":", 2)
    assert (host, pid) == (socket.gethostname(), str(os.getpid()))
    assert len(tail) == 8
    assert int(tail, 16) >= 0
    assert journal.site is None
    assert journal._scope is None
    assert journal._opened is False
    with pytest.raises(ValueError, match=r"^lease_seconds must be positive: 0$"):
        journal_for_retries(lease_seconds=0)
    refused = "attempt_timeout and retry_initial must be positive, retry_max >= it"
    for bad in (
        {"attempt_timeout": 0},
        {"retry_initial": 0, "retry_max": 1},
        {"retry_initial": 2, "retry_max": 1},
    ):
        with pytest.raises(ValueError, match="must be positive") as caught:
            journal_for_retries(**bad)
        assert str(caught.value) == refused
    journal_for_retries(attempt_timeout=0.5, retry_initial=0.5, retry_max=0.5)  # all allowed


async def test_closing_a_journal_never_opened_touches_nothing(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """kills: `__init__`'s ``_opened = False`` -> True (close would release claims)."""
    journal = journal_for_retries()
    journal._attempt = failing(1, RuntimeError("no database here"))  # type: ignore[method-assign]
    with caplog.at_level(logging.DEBUG, logger="as2gw_async.journal.postgres"):
        await journal.close()
    assert caplog.records == []


async def test_a_failed_release_at_close_is_logged_and_close_ends(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """kills: `close`'s warning (its text and arguments), ``_opened = False`` (a second close
    would try again)."""
    journal = journal_for_retries()
    journal._opened = True  # as after open()
    journal._attempt = failing(5, RuntimeError("boom"))  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="as2gw_async.journal.postgres"):
        await journal.close()
        await journal.close()
    assert [r.getMessage() for r in caplog.records] == [
        f"could not release the claims of {journal.consumer_id}: boom"
    ]


@pytest.mark.parametrize(
    ("step", "what"),
    [
        (1, "create the tables"),
        (2, "check the directory's owner"),
        (3, "recover stored messages"),
        (4, "recover acked messages"),
    ],
)
async def test_each_step_of_open_is_named_when_the_database_is_lost(
    clock: Clock, tmp_path: Path, step: int, what: str
) -> None:
    """kills: the ``what`` of each of `open`'s four statements (None, "XX...XX")."""
    journal = journal_for_retries(max_wait=0)
    calls = 0

    async def attempt(op: object) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == step:
            raise down()
        return []

    journal._attempt = attempt  # type: ignore[method-assign,assignment]
    with pytest.raises(gw.JournalUnavailableError, match=f": could not {what}: "):
        await journal.open(JournalScope(gateway="as2gateway", account="a", dest_dir=tmp_path))
    await journal.close()


class FakeConnection:
    """A connection whose ``close`` yields to the event loop once (or fails)."""

    def __init__(self, fails: bool = False) -> None:
        self.closed = False
        self.fails = fails

    async def close(self) -> None:
        await anyio.sleep(0)
        if self.fails:
            raise OSError("socket already gone")
        self.closed = True


async def test_an_attempt_that_hangs_ends_at_attempt_timeout_and_drops_the_connection() -> None:
    """kills: `_attempt`'s ``fail_after(attempt_timeout)`` -> None, and its ``or`` -> ``and``
    (a timeout is not a driver error: the connection must be dropped)."""
    journal = journal_for_retries(attempt_timeout=0.05)
    conn = FakeConnection()
    journal._conn = conn  # type: ignore[assignment]

    async def hang(conn: object) -> None:
        await anyio.sleep_forever()

    with anyio.fail_after(60), pytest.raises(TimeoutError):  # 60: only against a hang
        await journal._attempt(hang)  # type: ignore[arg-type]
    assert journal._conn is None
    assert conn.closed


async def test_closing_is_shielded_and_its_failure_only_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """kills: `_disconnect`'s ``conn is not None``, ``shield=True`` (False, None), the debug
    line (its text and argument)."""
    journal = journal_for_retries()
    conn = FakeConnection()
    journal._conn = conn  # type: ignore[assignment]
    with anyio.CancelScope() as scope:
        scope.cancel()
        await journal._disconnect()  # in a cancelled scope: the close still completes
    assert conn.closed
    assert journal._conn is None
    journal._conn = FakeConnection(fails=True)  # type: ignore[assignment]
    with caplog.at_level(logging.DEBUG, logger="as2gw_async.journal.postgres"):
        await journal._disconnect()
    assert [r.getMessage() for r in caplog.records] == [
        "closing the journal connection: socket already gone"
    ]


async def test_the_connection_is_named_bounded_and_kept_after_an_sql_error(
    journals: Callable[[], Journals],
) -> None:
    """What the server sees of the connection (application_name, connect_timeout from
    attempt_timeout, at least 1 s), and an SQL error that leaves the connection usable
    keeps it. kills: `_attempt`'s ``application_name`` and ``connect_timeout`` (None,
    dropped, ``max(2, ...)``, "XX...XX"), and its ``not isinstance`` dropped (a driver
    error that is no connection error would drop the connection)."""
    import psycopg

    async with journals() as opened:
        journal = await opened.open(attempt_timeout=0.5)

        async def show(conn: psycopg.AsyncConnection[Any]) -> tuple[str, str]:
            cur = await conn.execute("SELECT current_setting('application_name')")
            row = await cur.fetchone()
            assert row is not None
            return str(row[0]), conn.info.get_parameters().get("connect_timeout", "")

        assert await journal._run("show", show) == ("as2gw_async", "1")
        kept = journal._conn

        async def bad(conn: psycopg.AsyncConnection[Any]) -> None:
            await conn.execute("SELECT * FROM no_such_table_here")

        with pytest.raises(gw.JournalDatabaseError, match="could not look: UndefinedTable"):
            await journal._run("look", bad)
        assert journal._conn is kept


def test_only_asyncio_is_accepted_and_the_error_names_the_loop(
    pg_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kills: `_require_asyncio`'s texts (the library named, the default name when sniffio
    cannot tell, the advice)."""
    scope = JournalScope(gateway="as2gateway", account="a", dest_dir=tmp_path)
    advice = 'run the consumer with anyio.run(..., backend="asyncio") or asyncio.run'

    def refusal() -> str:
        journal = gw.PostgresJournal(pg_dsn)

        async def main() -> None:
            await journal.open(scope)

        with pytest.raises(gw.AsyncBackendError) as caught:
            anyio.run(main, backend="trio")
        return str(caught.value)

    assert refusal() == (
        f"PostgresJournal runs only under asyncio (psycopg's async driver), not trio: {advice}"
    )
    monkeypatch.setitem(sys.modules, "sniffio", None)  # cannot tell which loop
    assert refusal() == (
        "PostgresJournal runs only under asyncio (psycopg's async driver), not another event "
        f"loop: {advice}"
    )


def test_without_psycopg_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """kills: `_driver`'s ImportError text (in this process: the subprocess test runs the
    installed package, not a mutated copy)."""
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(ImportError) as caught:
        postgres._driver()
    assert (
        str(caught.value) == 'PostgresJournal needs psycopg 3: pip install "as2gw_async[postgres]"'
    )


def test_the_longest_table_prefix_allowed_and_the_first_refused() -> None:
    """The longest name made from a prefix is its holder index (19 more characters), and
    PostgreSQL keeps 63. kills: `validate_prefix`'s ``>`` -> ``>=`` and the limit's text."""
    assert validate_prefix("p" * 44) == "p" * 44
    with pytest.raises(ValueError, match="too long") as caught:
        validate_prefix("p" * 45)
    assert str(caught.value) == f"table_prefix {'p' * 45!r} is too long: at most 44 characters"
