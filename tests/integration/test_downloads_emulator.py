"""Single attachment, zip, all-attachments and MDN downloads against the emulator."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import as2gw_async as gw
from as2gw_async.emulator import EmulatorServer, FaultPlan, Gateway, GeneratedBody
from as2gw_async.files import safe_message_dirname

pytestmark = pytest.mark.as2gw_emulator(send_delay=0.0)

FAST = gw.RetryPolicy(max_retries=3, initial_delay=0.0, max_delay=0.0)
FILES = [
    ("invoice.xml", b"<invoice total='1000'/>\n"),
    ("order 2.edi", b"ISA*00*~" * 500),
    ("третий.txt", b"three"),
    ("big.bin", GeneratedBody(size=3_000_000, seed=7)),
]


@pytest.fixture
async def session(as2gw_emulator: EmulatorServer) -> AsyncIterator[gw.Session]:
    async with gw.Session(
        as2gw_emulator.username,
        as2gw_emulator.password,
        base_url=as2gw_emulator.base_url,
        rate_limit=None,
        retry_policy=FAST,
    ) as s:
        yield s


@pytest.fixture
def received(as2gw_gateway: Gateway) -> str:
    return as2gw_gateway.deliver(attachments=FILES, message_id="<in/1@partner.example>")


@pytest.fixture
def sent(as2gw_gateway: Gateway) -> str:
    mid = as2gw_gateway.submit("RJ_Station", "RJ_Partner", FILES)
    as2gw_gateway.advance()
    assert as2gw_gateway.find("sent", mid) is not None
    return mid


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def listing(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


@pytest.mark.parametrize("folder", ["received", "sent"])
@pytest.mark.parametrize("index", [None, 0, 1, 2, 3])
async def test_each_attachment_into_a_directory(
    session: gw.Session,
    as2gw_gateway: Gateway,
    received: str,
    sent: str,
    tmp_path: Path,
    folder: str,
    index: int | None,
) -> None:
    mid = received if folder == "received" else sent
    resource = session.received if folder == "received" else session.sent
    f = await resource.download_attachment(mid, tmp_path, index=index)
    name, _ = FILES[index or 0]
    assert f.path == tmp_path / name  # the server's name, filename*= form for non-ASCII
    assert f.name == name
    assert f.size == as2gw_gateway.attachment(folder, mid, index or 0).size
    assert f.content_type == "application/octet-stream"
    assert sha256(f.path) == as2gw_gateway.attachment_sha256(folder, mid, index or 0)
    assert listing(tmp_path) == [name]


async def test_attachment_to_a_file_path(
    session: gw.Session, as2gw_gateway: Gateway, received: str, tmp_path: Path
) -> None:
    dest = tmp_path / "deep" / "mine.dat"
    f = await session.received.download_attachment(received, dest, index=3)
    assert f.path == dest
    assert sha256(dest) == as2gw_gateway.attachment_sha256("received", received, 3)
    with pytest.raises(FileExistsError):
        await session.received.download_attachment(received, dest, index=1)
    f = await session.received.download_attachment(received, dest, index=1, overwrite=True)
    assert dest.read_bytes() == FILES[1][1]


async def test_mark_as_read(
    session: gw.Session, as2gw_gateway: Gateway, received: str, tmp_path: Path
) -> None:
    await session.received.download_attachment(received, tmp_path / "a", mark_as_read=False)
    assert not as2gw_gateway.is_read(received)
    await session.received.download_attachment(received, tmp_path / "b", mark_as_read=True)
    assert as2gw_gateway.is_read(received)


@pytest.mark.parametrize("fault", ["short", "reset"])
async def test_a_broken_body_is_fetched_again(
    session: gw.Session,
    as2gw_gateway: Gateway,
    received: str,
    tmp_path: Path,
    fault: str,
) -> None:
    as2gw_gateway.faults = FaultPlan(rate=0.0).script(fault, fault, route="attachment")
    f = await session.received.download_attachment(received, tmp_path, index=3)
    assert sha256(f.path) == as2gw_gateway.attachment_sha256("received", received, 3)
    assert listing(tmp_path) == ["big.bin"]
    assert session.stats.retries == 2


async def test_a_body_that_stays_short_leaves_nothing(
    session: gw.Session, as2gw_gateway: Gateway, received: str, tmp_path: Path
) -> None:
    as2gw_gateway.faults = FaultPlan(rate=0.0).script(*["short"] * 4, route="attachment")
    with pytest.raises(gw.AS2GatewayError):
        await session.received.download_attachment(received, tmp_path, index=3)
    assert listing(tmp_path) == []


async def test_not_found_leaves_nothing(session: gw.Session, received: str, tmp_path: Path) -> None:
    with pytest.raises(gw.NotFoundError):
        await session.received.download_attachment(received, tmp_path, index=9)
    with pytest.raises(gw.NotFoundError):
        await session.sent.download_zip("<nope@x>", tmp_path)
    assert listing(tmp_path) == []


@pytest.mark.parametrize("folder", ["received", "sent"])
async def test_zip_and_all_attachments(
    session: gw.Session,
    as2gw_gateway: Gateway,
    received: str,
    sent: str,
    tmp_path: Path,
    folder: str,
) -> None:
    mid = received if folder == "received" else sent
    resource = session.received if folder == "received" else session.sent
    z = await resource.download_zip(mid, f"{tmp_path / 'zips'}/")
    assert z.path == tmp_path / "zips" / f"{safe_message_dirname(mid)}.zip"
    other = received if folder == "sent" else sent
    other_resource = session.sent if folder == "received" else session.received
    z2 = await other_resource.download_zip(other, f"{tmp_path / 'zips'}/")  # no collision
    assert z2.path == tmp_path / "zips" / f"{safe_message_dirname(other)}.zip"
    files = await resource.download_attachments(mid, tmp_path / "all")
    assert [f.name for f in files] == [name for name, _ in FILES]
    for k, f in enumerate(files):
        assert f.path.parent == tmp_path / "all"
        assert sha256(f.path) == as2gw_gateway.attachment_sha256(folder, mid, k)
    assert listing(tmp_path / "all") == sorted(name for name, _ in FILES)


async def test_zip_fault_is_fetched_again(
    session: gw.Session, as2gw_gateway: Gateway, received: str, tmp_path: Path
) -> None:
    as2gw_gateway.faults = FaultPlan(rate=0.0).script("short", "reset", route="zip")
    files = await session.received.download_attachments(received, tmp_path)
    assert len(files) == len(FILES)
    assert listing(tmp_path) == sorted(name for name, _ in FILES)


@pytest.mark.parametrize("folder", ["received", "sent"])
async def test_mdn(
    session: gw.Session,
    as2gw_gateway: Gateway,
    received: str,
    sent: str,
    tmp_path: Path,
    folder: str,
) -> None:
    mid = received if folder == "received" else sent
    resource = session.received if folder == "received" else session.sent
    mdn = as2gw_gateway.message(folder, mid).mdn
    assert mdn is not None
    f = await resource.download_mdn(mid, tmp_path)
    assert f.path.read_bytes() == mdn.body
    assert f.path.parent == tmp_path
    assert f.path.name in (mdn.filename, f"{safe_message_dirname(mid)}.mdn")
