"""Every program in ``examples/`` runs here against the emulator, so the docs cannot drift.

The docs show these files written out (``<!-- example: examples/x.py -->`` before the
block, checked equal by `test_docs_blocks.py`), so the code a reader sees is the code tested
here. `test_every_example_is_tested` fails when an example is added without a test.
"""

from __future__ import annotations

import hashlib
import logging
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import anyio
import pytest

import as2gw_async as gw
from as2gw_async.emulator import EmulatorServer, FaultPlan, Gateway
from as2gw_async.files import safe_message_dirname

from .conftest import EXAMPLES

Load = Callable[[str], ModuleType]
TESTED: set[str] = set()


def covers(*names: str) -> Callable[[Callable[..., object]], Callable[..., object]]:
    """Record which examples a test runs (checked by `test_every_example_is_tested`)."""
    TESTED.update(names)
    return lambda f: f


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_on_disk(gateway: Gateway, directory: Path, message_id: str) -> None:
    """``directory`` holds exactly the message's attachments, byte for byte."""
    message = gateway.message("received", message_id)
    expected = {
        a.name: gateway.attachment_sha256("received", message_id, i)
        for i, a in enumerate(message.attachments)
    }
    assert {p.name: sha256(p) for p in directory.iterdir() if p.is_file()} == expected


# -- getting started ---------------------------------------------------------------------


@covers("quickstart")
async def test_quickstart(
    load_example: Load, session: gw.Session, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    ids = as2gw_gateway.seed(3)
    delivered = await load_example("quickstart").main(session, tmp_path)
    assert sorted(d.as2_message_id for d in delivered) == sorted(ids)
    for d in delivered:
        assert as2gw_gateway.is_read(d.as2_message_id)
        assert_on_disk(as2gw_gateway, d.directory, d.as2_message_id)
    [sent] = as2gw_gateway.messages("sent")
    assert sent.subject == "Invoice 1001"
    assert [a.name for a in sent.attachments] == ["invoice.xml"]


@covers("quickstart_local")
async def test_quickstart_local(load_example: Load) -> None:
    delivered = await load_example("quickstart_local").run_locally()
    assert len(delivered) == 3


# -- sending -----------------------------------------------------------------------------


@covers("send_files")
async def test_send_files(
    load_example: Load, session: gw.Session, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    invoice = tmp_path / "invoice.xml"
    invoice.write_bytes(b"<invoice/>")
    one, several = await load_example("send_files").main(session, invoice)
    queued = {
        m.as2_message_id: m for folder in ("queued", "sent") for m in as2gw_gateway.messages(folder)
    }
    assert [a.name for a in queued[one.as2_message_id].attachments] == ["invoice.xml"]
    second = queued[several.as2_message_id]
    assert [a.name for a in second.attachments] == ["invoice.xml", "order.edi"]
    assert second.partner_type == "test"
    assert second.subject == "Invoice and order"


@covers("send_limits")
async def test_send_limits(load_example: Load, session: gw.Session, as2gw_gateway: Gateway) -> None:
    error = await load_example("send_limits").main(session)
    assert isinstance(error, gw.LimitExceededError)
    assert as2gw_gateway.stats.as_dict()["requests"] == 0  # not even an authorize


@covers("send_and_wait")
@pytest.mark.as2gw_emulator(send_delay=0.05, max_attempts=2)
async def test_send_and_wait(
    load_example: Load, session: gw.Session, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    as2gw_gateway.add_partner("Unreachable", fail=True)
    invoice = tmp_path / "invoice.xml"
    invoice.write_bytes(b"<invoice/>")
    example = load_example("send_and_wait")
    with anyio.fail_after(60):
        assert await example.main(session, invoice) == "delivered"
        assert await example.main(session, invoice, partner="Unreachable") == "failed"


# -- reading the inbox -------------------------------------------------------------------


@covers("inbox_iterate")
async def test_inbox_iterate(
    load_example: Load, as2gw_emulator: EmulatorServer, as2gw_gateway: Gateway
) -> None:
    ids = as2gw_gateway.seed(250)  # three pages of 100, each shifted by the marks before it
    server = as2gw_emulator
    # One request a message: without the client-side rate limit this takes a second, not 60.
    async with gw.Session(
        server.username, server.password, base_url=server.base_url, rate_limit=None
    ) as session:
        handled = await load_example("inbox_iterate").main(session)
    assert sorted(handled) == sorted(ids)
    assert all(as2gw_gateway.is_read(i) for i in ids)


@covers("inbox_consumer")
async def test_inbox_consumer(
    load_example: Load, session: gw.Session, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    ids = as2gw_gateway.seed(25)
    stats = await load_example("inbox_consumer").main(session, tmp_path)
    assert stats.delivered == 25
    for message_id in ids:
        assert as2gw_gateway.is_read(message_id)
        assert_on_disk(as2gw_gateway, tmp_path / safe_message_dirname(message_id), message_id)


@covers("inbox_several_hosts")
async def test_inbox_several_hosts(
    load_example: Load,
    session: gw.Session,
    as2gw_gateway: Gateway,
    tmp_path: Path,
    pg_dsn: str,
    pg_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two "hosts" (two consumers, two folders, one database) share the inbox: each message
    reaches one of them, on disk in that one's folder only."""
    ids = as2gw_gateway.seed(40, attachments=(1, 2))
    example = load_example("inbox_several_hosts")
    real = gw.PostgresJournal
    monkeypatch.setattr(
        gw, "PostgresJournal", lambda dsn, **kw: real(dsn, table_prefix=pg_prefix, **kw)
    )
    stats: list[gw.ConsumerStats] = []

    async def host(name: str) -> None:
        stats.append(await example.main(session, tmp_path / name, pg_dsn))

    async with anyio.create_task_group() as tg:
        for name in ("host-a", "host-b"):
            tg.start_soon(host, name)
    assert sum(s.delivered for s in stats) == len(ids)
    for message_id in ids:
        assert as2gw_gateway.is_read(message_id)
        [held] = [
            tmp_path / h / safe_message_dirname(message_id)
            for h in ("host-a", "host-b")
            if (tmp_path / h / safe_message_dirname(message_id)).is_dir()
        ]
        assert_on_disk(as2gw_gateway, held, message_id)


@covers("inbox_consumer_run")
async def test_inbox_consumer_run(
    load_example: Load, session: gw.Session, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    ids = as2gw_gateway.seed(4)
    consumer = await load_example("inbox_consumer_run").main(
        session, tmp_path / "inbox", tmp_path / "archive"
    )
    assert consumer.stats.delivered == 4
    assert consumer.skipped == {}
    for message_id in ids:
        assert as2gw_gateway.is_read(message_id)
        archived = tmp_path / "archive" / safe_message_dirname(message_id)
        assert_on_disk(as2gw_gateway, archived, message_id)


@covers("inbox_consumer_run")
async def test_inbox_consumer_run_redelivers_after_a_crash(
    load_example: Load, session: gw.Session, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    """What the page promises: a handler that did not finish gets the message again."""
    [message_id] = as2gw_gateway.seed(1)
    inbox = tmp_path / "inbox"
    async with gw.InboxConsumer(session, inbox) as consumer:
        async for _ in consumer:
            break  # "crash" inside the loop body: stored and journaled, not acknowledged
    assert not as2gw_gateway.is_read(message_id)
    consumer = await load_example("inbox_consumer_run").main(session, inbox, tmp_path / "archive")
    assert consumer.stats.redelivered == 1
    assert as2gw_gateway.is_read(message_id)


@covers("inbox_consumer_follow")
@pytest.mark.as2gw_emulator(seed_messages=2)
async def test_inbox_consumer_follow(
    load_example: Load, session: gw.Session, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    example = load_example("inbox_consumer_follow")
    seeded = [m.as2_message_id for m in as2gw_gateway.messages("received")]
    seen: list[str] = []
    # The example stops after ``run_for`` seconds (its ``anyio.move_on_after``); here that
    # deadline is a scope the test cancels once the late message is through, so a busy
    # machine makes the test slower, never wrong.
    stop = anyio.CancelScope()
    example.anyio = SimpleNamespace(move_on_after=lambda _run_for: stop)

    async def follow() -> None:
        seen.extend(await example.main(session, tmp_path, run_for=3.0, poll_interval=0.1))

    async def until(done: Callable[[], bool]) -> None:
        while not done():  # the consumer runs in this loop: look again after each step
            await anyio.sleep(0.01)

    with anyio.fail_after(120):  # a guard against hanging, not a time limit
        async with anyio.create_task_group() as tg:
            tg.start_soon(follow)
            await until(lambda: all(as2gw_gateway.is_read(m) for m in seeded))
            late = as2gw_gateway.deliver(attachments=[("late.txt", b"arrived while following")])
            await until(lambda: as2gw_gateway.is_read(late))
            stop.cancel()
    assert sorted(seen[:2]) == sorted(seeded)
    assert seen[2:] == [late]


# -- downloads ---------------------------------------------------------------------------


@covers("download_files")
async def test_download_files(
    load_example: Load, session: gw.Session, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    message_id = as2gw_gateway.deliver(
        attachments=[("invoice.xml", b"<invoice/>"), ("order.edi", b"ISA*00*~")]
    )
    files = await load_example("download_files").main(session, message_id, tmp_path)
    first, *extracted, archive, mdn = files
    assert first.path.read_bytes() == b"<invoice/>"
    assert {f.path.name: f.path.read_bytes() for f in extracted} == {
        "invoice.xml": b"<invoice/>",
        "order.edi": b"ISA*00*~",
    }
    assert archive.path == tmp_path / "message.zip"
    assert mdn.size > 0
    leftovers = [p for p in tmp_path.rglob("*") if p.name.endswith((".part", ".tmp"))]
    assert leftovers == []


@covers("download_progress")
async def test_download_progress(
    load_example: Load, session: gw.Session, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    body = bytes(range(256)) * 4096  # 1 MiB: several chunks, so the bar moves
    message_id = as2gw_gateway.deliver(attachments=[("big.bin", body)])
    f = await load_example("download_progress").main(session, message_id, tmp_path)
    assert f.path == tmp_path / "big.bin"
    assert f.path.read_bytes() == body


@covers("atomic_file")
async def test_atomic_file(load_example: Load, tmp_path: Path) -> None:
    data = b"id,amount\n" + b"1,100\n" * 50_000
    path = await load_example("atomic_file").main(tmp_path, data)
    assert path.read_bytes() == data
    assert [p.name for p in tmp_path.iterdir()] == ["report.csv"]  # no .part left


@covers("emulator_tour")
async def test_emulator_tour(load_example: Load, tmp_path: Path) -> None:
    gateway = await load_example("emulator_tour").main(tmp_path)
    assert gateway.stats.as_dict()["faults"] == {"reset": 1}
    [big] = [p for p in tmp_path.iterdir() if p.name == "big.bin"]
    assert big.stat().st_size == 8 << 20
    assert sha256(big) == gateway.attachment_sha256(
        "received", gateway.messages("received")[0].as2_message_id, 1
    )


@covers("batch_download")
@pytest.mark.as2gw_emulator(batch_limit=64 * 1024)  # small cap: forces 206 truncations
async def test_batch_download(
    load_example: Load, session: gw.Session, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    ids = as2gw_gateway.seed(120, size=(1024, 4096))
    result = await load_example("batch_download").main(session, tmp_path)
    assert sorted(result.files) == sorted(ids)
    assert result.errors == {}
    assert result.requests > 2  # truncated at least once
    for message_id in ids:
        assert as2gw_gateway.is_read(message_id)
        assert_on_disk(as2gw_gateway, tmp_path / safe_message_dirname(message_id), message_id)


# -- errors and retries ------------------------------------------------------------------


@covers("errors_handling")
async def test_errors_handling(
    load_example: Load, session: gw.Session, as2gw_gateway: Gateway
) -> None:
    example = load_example("errors_handling")
    message_id = as2gw_gateway.deliver(subject="Hello")
    assert await example.main(session, message_id) == "found: Hello"
    missing = await example.main(session, "<no-such-id@as2gateway.com>")
    assert missing.startswith("missing (404): ")
    # Four 503s in a row outlast the default three retries.
    as2gw_gateway.faults = FaultPlan(rate=0.0).script("503", "503", "503", "503", route="get")
    assert (await example.main(session, message_id)).startswith("try later: 503")


@covers("errors_retries")
async def test_errors_retries(
    load_example: Load, as2gw_emulator: EmulatorServer, as2gw_gateway: Gateway
) -> None:
    as2gw_gateway.faults = FaultPlan(rate=0.0, retry_after=0.1).script(
        "503", "429", "reset", route="list"
    )
    server = as2gw_emulator
    stats = await load_example("errors_retries").main(
        server.base_url, server.username, server.password
    )
    assert stats.retries == 3
    assert stats.rate_limited == 1
    assert stats.authorizations == 1


# -- configuration -----------------------------------------------------------------------


@covers("config_session")
async def test_config_session(load_example: Load, as2gw_emulator: EmulatorServer) -> None:
    server = as2gw_emulator
    s = await load_example("config_session").main(server.base_url, server.username, server.password)
    assert s.retry_policy.max_retries == 5
    assert s.token_expires_at is not None


@covers("config_http_client")
async def test_config_http_client(
    load_example: Load, as2gw_emulator: EmulatorServer, as2gw_gateway: Gateway
) -> None:
    server = as2gw_emulator
    statuses = await load_example("config_http_client").main(
        server.base_url, server.username, server.password
    )
    assert statuses == [200, 200]  # authorize, list


@covers("config_logging")
async def test_config_logging(
    load_example: Load, session: gw.Session, caplog: pytest.LogCaptureFixture
) -> None:
    example = load_example("config_logging")
    logger = logging.getLogger("as2gw_async")
    level = logger.level
    try:
        example.setup_logging()
        with caplog.at_level(logging.DEBUG, logger="as2gw_async"):
            await example.main(session)
    finally:
        logger.setLevel(level)
    lines = [r.getMessage() for r in caplog.records]
    assert any("/authorize -> 200" in line for line in lines)
    assert any("/message/received" in line and "-> 200" in line for line in lines)
    token = session._tokens.token
    assert token is not None
    for line in lines:  # what the security page promises
        assert session._password not in line
        assert token.value not in line


@covers("config_tls")
@pytest.mark.as2gw_emulator(https=True)
async def test_config_tls(load_example: Load, as2gw_emulator: EmulatorServer) -> None:
    server = as2gw_emulator
    assert server.ca_pem_path is not None
    base_url = await load_example("config_tls").main(
        server.base_url, server.username, server.password, server.ca_pem_path
    )
    assert base_url.startswith("https://")


# -- security ----------------------------------------------------------------------------


@covers("security_https")
@pytest.mark.as2gw_emulator(https=True)
async def test_security_https(load_example: Load, as2gw_emulator: EmulatorServer) -> None:
    server = as2gw_emulator
    assert server.http_url.startswith("http://")
    base_url = await load_example("security_https").main(
        server.http_url, server.username, server.password, verify=server.ssl_context()
    )
    assert base_url == server.https_url


async def test_plain_http_to_a_remote_host_is_refused() -> None:
    """The claim in security_https.py's first comment."""
    with pytest.raises(gw.InsecureTransportError):
        gw.Session("user", "secret", base_url="http://api.as2gateway.com/v1")


@covers("security_names")
def test_security_names(load_example: Load) -> None:
    safe = load_example("security_names").main()
    for result in safe.values():
        assert result
        assert "/" not in result
        assert "\\" not in result
        assert "\x00" not in result
        assert "\u202e" not in result
        assert result not in {".", ".."}
        assert not result.upper().startswith("CON.")


@covers("security_secrets")
async def test_security_secrets(load_example: Load, as2gw_emulator: EmulatorServer) -> None:
    server = as2gw_emulator
    shown = await load_example("security_secrets").main(
        server.base_url, server.username, server.password
    )
    assert len(shown) == 2
    for text in shown:
        assert server.password not in text
    assert shown[1].startswith("401: ")


# -- README and the user's own tests -------------------------------------------------------


@covers("readme")
async def test_readme(
    load_example: Load,
    as2gw_emulator: EmulatorServer,
    as2gw_gateway: Gateway,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = as2gw_gateway.seed(2)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AS2GW_USERNAME", as2gw_emulator.username)
    monkeypatch.setenv("AS2GW_PASSWORD", as2gw_emulator.password)
    monkeypatch.setenv("AS2GW_BASE_URL", as2gw_emulator.base_url)
    (tmp_path / "invoice.xml").write_bytes(b"<invoice/>")
    await load_example("readme").main()
    for message_id in ids:
        assert_on_disk(
            as2gw_gateway, tmp_path / "inbox" / safe_message_dirname(message_id), message_id
        )
    [sent] = as2gw_gateway.messages("sent")
    assert sent.subject == "Invoice 1001"


@covers("test_with_emulator")
def test_with_emulator_runs_in_a_users_project(tmp_path: Path) -> None:
    """Run the example test file with pytest as a user's project would: no config of ours."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(EXAMPLES / "test_with_emulator.py"),
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            "-c",
            str(tmp_path / "pytest.ini"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # anyio runs each test on every backend installed: asyncio, and trio when present.
    assert re.search(r"\b([2468]) passed", result.stdout), result.stdout
    assert "failed" not in result.stdout


# -- every example has a test --------------------------------------------------------------


@covers("ecgrid_emulator_tour")
async def test_ecgrid_emulator_tour(load_example: Load) -> None:
    state = await load_example("ecgrid_emulator_tour").main()
    assert len(state.pending()) == 31
    assert state.stats.confirms == 1


def test_every_example_is_tested() -> None:
    examples = {p.stem for p in EXAMPLES.glob("*.py")}
    assert examples - TESTED == set(), "examples without a test in tests/docs/"
    assert TESTED - examples == set(), "tests of examples that do not exist"


@covers("mft_emulator_tour")
def test_mft_emulator_tour(load_example: Load, tmp_path: Path) -> None:
    emu = load_example("mft_emulator_tour").main(tmp_path)
    assert (tmp_path / "attachment.bin").stat().st_size == 2048
    assert emu.store_stats.authorization_headers == 1
    assert emu.store_stats.resets == 1
    assert emu.store_stats.expired == 1
    assert emu.stats.faults["503"] == 2
    [message] = emu.gateway.messages("inbox")
    assert not message.api_fetched


# -- ECGrid ---------------------------------------------------------------------------------


def _ecgrid_session(server: Any) -> Any:
    from as2gw_async import ecgrid

    return ecgrid.Session(api_key=server.api_key, base_url=server.base_url)


@covers("ecgrid_quickstart")
async def test_ecgrid_quickstart(load_example: Load, ecgrid_emulator: Any, tmp_path: Path) -> None:
    state = ecgrid_emulator.state
    ids = state.seed_inbox(30, sizes=[100, 70_000], file_names=["po.edi", "../../etc/passwd"])
    async with _ecgrid_session(ecgrid_emulator) as s:
        saved = await load_example("ecgrid_quickstart").main(s, tmp_path)
    assert len(saved) == 30
    assert all(f.path.parent.parent == tmp_path for f in saved)
    assert {f.path.name for f in saved} == {"po.edi", "passwd"}
    assert all(state.parcel(i).confirms == 1 for i in ids)
    assert state.pending() == []


@covers("ecgrid_upload")
async def test_ecgrid_upload(load_example: Load, ecgrid_emulator: Any, tmp_path: Path) -> None:
    path = tmp_path / "po.edi"
    path.write_bytes(b"ISA*00*" + b"x" * 5000)
    async with _ecgrid_session(ecgrid_emulator) as s:
        parcel = await load_example("ecgrid_upload").main(s, path)
    assert ecgrid_emulator.state.parcel(parcel.parcel_id).read() == path.read_bytes()
    assert parcel.size == path.stat().st_size


@covers("ecgrid_errors")
async def test_ecgrid_errors(load_example: Load, ecgrid_emulator: Any) -> None:
    async with _ecgrid_session(ecgrid_emulator) as s:
        mailboxes = await load_example("ecgrid_errors").main(s)
    assert mailboxes["totalRecords"] >= 1


# -- choose your gateway: the same job on each (docs/gateways.md) ---------------------------


def _outgoing(tmp_path: Path, name: str = "invoice.xml") -> Path:
    path = tmp_path / name
    path.write_text("<invoice number='1001'/>\n")
    return path


@covers("gateway_as2gateway")
async def test_gateway_as2gateway(
    load_example: Load, session: gw.Session, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    ids = as2gw_gateway.seed(4)
    received, sent_id = await load_example("gateway_as2gateway").main(
        session, tmp_path / "inbox", _outgoing(tmp_path)
    )
    assert sorted(received) == sorted(ids)
    for mid in ids:
        assert as2gw_gateway.is_read(mid)
        assert_on_disk(as2gw_gateway, tmp_path / "inbox" / safe_message_dirname(mid), mid)
    [sent] = as2gw_gateway.messages("sent") or as2gw_gateway.messages("queued")
    assert sent.as2_message_id == sent_id


@covers("gateway_mft")
async def test_gateway_mft(load_example: Load, mft_emulator: Any, tmp_path: Path) -> None:
    from as2gw_async import mft

    ids = mft_emulator.seed_inbox(4, attachments=2)
    async with mft.Session(
        mft_emulator.username, mft_emulator.password, base_url=mft_emulator.base_url
    ) as s:
        received, sent_id = await load_example("gateway_mft").main(
            s, tmp_path / "inbox", _outgoing(tmp_path)
        )
    assert sorted(received) == sorted(ids)
    for mid in ids:
        assert mft_emulator.gateway.is_fetched(mid)
        files = tmp_path / "inbox" / safe_message_dirname(mid)
        assert {p.name for p in files.iterdir()} == {
            a.name for a in mft_emulator.gateway.message(mid).attachments
        }
    assert mft_emulator.gateway.message(sent_id).folder in ("queued", "sent")


@covers("gateway_ecgrid")
async def test_gateway_ecgrid(load_example: Load, ecgrid_emulator: Any, tmp_path: Path) -> None:
    state = ecgrid_emulator.state
    ids = state.seed_inbox(4, sizes=[300, 9000])
    async with _ecgrid_session(ecgrid_emulator) as s:
        received, parcel_id = await load_example("gateway_ecgrid").main(
            s, tmp_path / "inbox", _outgoing(tmp_path, "po.edi")
        )
    assert sorted(received) == sorted(map(str, ids))
    assert all(state.parcel(i).confirms == 1 for i in ids)
    for pid in ids:
        [f] = (tmp_path / "inbox" / safe_message_dirname(str(pid))).iterdir()
        assert f.read_bytes() == state.parcel(pid).read()
    uploaded = state.parcel(parcel_id)
    assert uploaded.read() == (tmp_path / "po.edi").read_bytes()
    assert uploaded.ecgrid_id_to == 445566
