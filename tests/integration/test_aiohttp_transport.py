"""Session(transport="aiohttp") against the emulator, over real loopback sockets.

The same calls as the default path: auth, listing, downloads (single and batch), a send,
and the retry policy's two answers to a connection reset mid-body -- fetch a GET again,
never repeat a send.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

pytest.importorskip("httpx_aiohttp")

import as2gw_async as gw
from as2gw_async.emulator import (
    EmulatorServer,
    FaultPlan,
    Gateway,
    GeneratedBody,
)

pytestmark = pytest.mark.as2gw_emulator(send_delay=0.0)

FAST = gw.RetryPolicy(max_retries=3, initial_delay=0.0, max_delay=0.0)
FILES: list[tuple[str, bytes | GeneratedBody]] = [
    ("invoice.xml", b"<invoice total='1000'/>\n"),
    ("big.bin", GeneratedBody(size=3_000_000, seed=7)),
]
MESSAGE_ID = "<in/1@partner.example>"  # '/' and '@' must reach the server percent-encoded


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def new_session(server: EmulatorServer, **kwargs: object) -> gw.Session:
    return gw.Session(
        server.username,
        server.password,
        base_url=server.base_url,
        rate_limit=None,
        retry_policy=FAST,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
async def session(as2gw_emulator: EmulatorServer) -> AsyncIterator[gw.Session]:
    async with new_session(as2gw_emulator, transport="aiohttp") as s:
        assert type(s._client._transport).__name__ == "SafeAiohttpTransport"
        yield s


@pytest.fixture
def received(as2gw_gateway: Gateway) -> str:
    return as2gw_gateway.deliver(attachments=FILES, message_id=MESSAGE_ID)


async def test_auth(session: gw.Session, as2gw_gateway: Gateway) -> None:
    expires_at = await session.login()
    assert expires_at > 0
    assert session.stats.authorizations == 1
    assert as2gw_gateway.stats.tokens_issued == 1


async def test_wrong_password_is_authentication_error(as2gw_emulator: EmulatorServer) -> None:
    async with gw.Session(
        as2gw_emulator.username,
        "wrong",
        base_url=as2gw_emulator.base_url,
        rate_limit=None,
        transport="aiohttp",
    ) as s:
        with pytest.raises(gw.AuthenticationError):
            await s.login()


@pytest.mark.as2gw_emulator(seed_messages=25)
async def test_list_and_iter(session: gw.Session, as2gw_gateway: Gateway) -> None:
    page = await session.received.list(page_length=10)
    assert len(page.records) == 10
    assert page.total_records == 25
    ids = [m.as2_message_id async for m in session.received.iter(page_length=7)]
    assert sorted(ids) == sorted(m.as2_message_id for m in as2gw_gateway.messages("received"))


async def test_get_with_an_encoded_id(session: gw.Session, received: str) -> None:
    message = await session.received.get(received)
    assert message.as2_message_id == MESSAGE_ID
    assert [a.name for a in message.attachments] == ["invoice.xml", "big.bin"]


async def test_download_byte_for_byte(
    session: gw.Session, as2gw_gateway: Gateway, received: str, tmp_path: Path
) -> None:
    big = await session.received.download_attachment(received, tmp_path, index=1)
    assert big.size == 3_000_000
    assert sha256(big.path) == as2gw_gateway.attachment_sha256("received", received, 1)
    small = await session.received.download_attachment(received, tmp_path / "s", index=0)
    assert small.path.read_bytes() == b"<invoice total='1000'/>\n"


@pytest.mark.as2gw_emulator(seed_messages=30)
async def test_batch_download(session: gw.Session, as2gw_gateway: Gateway, tmp_path: Path) -> None:
    ids = [m.as2_message_id for m in as2gw_gateway.messages("received")]
    result = await session.received.batch_download(ids, tmp_path, mark_as_read=True)
    assert result.errors == {}
    for mid in ids:
        for k, f in enumerate(result.files[mid]):
            assert sha256(f.path) == as2gw_gateway.attachment_sha256("received", mid, k)
    assert all(as2gw_gateway.is_read(mid) for mid in ids)


async def test_send(session: gw.Session, as2gw_gateway: Gateway, tmp_path: Path) -> None:
    data = bytes(range(256)) * 1000
    path = tmp_path / "order.edi"
    path.write_bytes(data)
    receipt = await session.send("RJ_Station", "RJ_Partner", path, subject="via aiohttp")
    as2gw_gateway.advance()
    assert as2gw_gateway.attachment_bytes("sent", receipt.as2_message_id) == data
    assert as2gw_gateway.stats.sends == 1


@pytest.mark.parametrize("fault", ["reset", "short"])
async def test_a_get_reset_mid_body_is_fetched_again(
    session: gw.Session, as2gw_gateway: Gateway, received: str, tmp_path: Path, fault: str
) -> None:
    as2gw_gateway.faults = FaultPlan(rate=0.0).script(fault, route="attachment")
    f = await session.received.download_attachment(received, tmp_path, index=1)
    assert sha256(f.path) == as2gw_gateway.attachment_sha256("received", received, 1)
    assert session.stats.retries == 1
    assert as2gw_gateway.stats.routes["attachment"] == 2


async def test_a_send_reset_mid_body_is_not_repeated(
    session: gw.Session, as2gw_gateway: Gateway
) -> None:
    as2gw_gateway.faults = FaultPlan(rate=0.0).script("reset", route="send")
    with pytest.raises(gw.APIConnectionError) as info:
        await session.send("RJ_Station", "RJ_Partner", gw.Upload(b"EDI", name="a.edi"))
    assert isinstance(info.value.__cause__, httpx.TransportError)
    assert not isinstance(
        info.value.__cause__, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
    )
    assert session.stats.retries == 0
    assert as2gw_gateway.stats.routes["send"] == 1
    assert as2gw_gateway.stats.sends == 1  # the gateway got it exactly once


async def test_the_default_path_is_unchanged(
    as2gw_emulator: EmulatorServer, as2gw_gateway: Gateway, received: str, tmp_path: Path
) -> None:
    async with new_session(as2gw_emulator) as s:
        assert type(s._client._transport) is httpx.AsyncHTTPTransport
        f = await s.received.download_attachment(received, tmp_path, index=1)
        assert sha256(f.path) == as2gw_gateway.attachment_sha256("received", received, 1)
        as2gw_gateway.faults = FaultPlan(rate=0.0).script("reset", route="send")
        with pytest.raises(gw.APIConnectionError):
            await s.send("RJ_Station", "RJ_Partner", gw.Upload(b"EDI", name="a.edi"))
        assert s.stats.retries == 0
    assert as2gw_gateway.stats.sends == 1


async def test_both_transports_agree(
    as2gw_emulator: EmulatorServer, received: str, tmp_path: Path
) -> None:
    async with (
        new_session(as2gw_emulator) as plain,
        new_session(as2gw_emulator, transport="aiohttp") as fast,
    ):
        a = await plain.received.get(received)
        b = await fast.received.get(received)
        assert a == b
        fa = await plain.received.download_zip(received, tmp_path / "a")
        fb = await fast.received.download_zip(received, tmp_path / "b")
        assert fa.path.read_bytes() == fb.path.read_bytes()
