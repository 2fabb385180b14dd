"""Session.send and wait_for_delivery against the emulator, over real loopback sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import as2gw_async as gw
from as2gw_async.emulator import EmulatorServer, Gateway
from as2gw_async.endpoints.send import CHUNK_SIZE, MAX_FILE_SIZE

from ._clock import ManualClock

pytestmark = pytest.mark.as2gw_emulator(send_delay=0.05, max_attempts=3)

FAST = {"poll_interval": 0.02, "initial_delay": 0.05, "timeout": 20.0}


def session(server: EmulatorServer, **kwargs: object) -> gw.Session:
    return gw.Session(
        server.username, server.password, base_url=server.base_url, rate_limit=None, **kwargs
    )  # type: ignore[arg-type]


def blob(size: int, seed: int = 0) -> bytes:
    pattern = bytes((i * 31 + seed) % 256 for i in range(256))
    return (pattern * (size // 256 + 1))[:size]


async def test_one_file_from_disk_is_delivered_whole(
    as2gw_emulator: EmulatorServer, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    data = blob(3 * CHUNK_SIZE + 17)
    path = tmp_path / "invoice_20200101.xml"
    path.write_bytes(data)
    async with session(as2gw_emulator) as s:
        receipt = await s.send("RJ_Station", "RJ_Partner", path, subject="Invoice 1")
        assert receipt.message == "Successfully added a new outbound entry"
        assert receipt.link.endswith(f"/message/sent/{receipt.as2_message_id}")
        sent = await s.wait_for_delivery(receipt.as2_message_id, **FAST)
    assert sent.as2_message_id == receipt.as2_message_id
    assert sent.subject == "Invoice 1"
    assert sent.attachments == (gw.Attachment("invoice_20200101.xml", len(data)),)
    assert sent.delivery_status is gw.DeliveryStatus.DELIVERED
    assert as2gw_gateway.attachment_bytes("sent", sent.as2_message_id) == data
    assert as2gw_gateway.message("sent", sent.as2_message_id).attachments[0].content_type in (
        "application/xml",
        "text/xml",
    )


async def test_several_files_go_multipart_and_arrive_whole(
    as2gw_emulator: EmulatorServer, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    big = blob(2 * 1024 * 1024 + 5, seed=1)
    (tmp_path / "big.bin").write_bytes(big)

    async def stream() -> AsyncIterator[bytes]:
        for i in range(5):
            yield blob(CHUNK_SIZE, seed=i)

    async with session(as2gw_emulator) as s:
        receipt = await s.send(
            "RJ_Station",
            "RJ_Partner",
            tmp_path / "big.bin",
            gw.Upload(b"two", name="naïve résumé.txt"),
            gw.Upload(stream(), name="streamed.edi", content_type="application/edi-x12"),
            subject="Three files",
        )
        sent = await s.wait_for_delivery(receipt.as2_message_id, **FAST)
    names = [a.name for a in sent.attachments]
    assert names == ["big.bin", "naïve résumé.txt", "streamed.edi"]
    mid = sent.as2_message_id
    assert as2gw_gateway.attachment_bytes("sent", mid, 0) == big
    assert as2gw_gateway.attachment_bytes("sent", mid, 1) == b"two"
    assert as2gw_gateway.attachment_bytes("sent", mid, 2) == b"".join(
        blob(CHUNK_SIZE, seed=i) for i in range(5)
    )
    assert as2gw_gateway.message("sent", mid).attachments[2].content_type == "application/edi-x12"


async def test_a_non_ascii_name_alone_travels_multipart(
    as2gw_emulator: EmulatorServer, as2gw_gateway: Gateway
) -> None:
    async with session(as2gw_emulator) as s:
        receipt = await s.send("RJ_Station", "RJ_Partner", gw.Upload(b"x", name="faktúra.xml"))
        sent = await s.wait_for_delivery(receipt.as2_message_id, **FAST)
    assert [a.name for a in sent.attachments] == ["faktúra.xml"]


async def test_odd_ids_and_subject_round_trip(
    as2gw_emulator: EmulatorServer, as2gw_gateway: Gateway
) -> None:
    station, partner = "My Station <st@x/y>", "Partner/1 @ Co + Sons"
    subject = "Invoice 1 + 2 & <3> @ 50% / #4?"
    as2gw_gateway.add_station(station)
    as2gw_gateway.add_partner(partner, partner_type="test")
    async with session(as2gw_emulator) as s:
        receipt = await s.send(
            station, partner, gw.Upload(b"x", name="a.txt"), subject=subject, partner_type="test"
        )
        sent = await s.wait_for_delivery(receipt.as2_message_id, **FAST)
        assert (sent.sender_id, sent.receiver_id) == (station, partner)
        assert sent.subject == subject
        assert sent.partner_type is gw.PartnerType.TEST
        # and the listing filters find it by the same odd values
        page = await s.sent.list(
            station_as2_id=station, partner_as2_id=partner, subject="+ 2 &", partner_type="test"
        )
    assert [m.as2_message_id for m in page.records] == [receipt.as2_message_id]


async def test_limits_are_checked_before_anything_is_sent(
    as2gw_emulator: EmulatorServer, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        f.truncate(MAX_FILE_SIZE + 1)
    async with session(as2gw_emulator) as s:
        await s.login()
        before = as2gw_gateway.stats.requests
        with pytest.raises(gw.LimitExceededError) as info:
            await s.send("RJ_Station", "RJ_Partner", big)
        assert info.value.limit == "max_file_size"
        with pytest.raises(gw.LimitExceededError) as info:
            await s.send(
                "RJ_Station", "RJ_Partner", *[gw.Upload(b"x", name=f"{i}") for i in range(11)]
            )
        assert info.value.limit == "max_files"
        with pytest.raises(gw.LimitExceededError) as info:
            await s.send(
                "RJ_Station", "RJ_Partner", gw.Upload(b"1", name="a"), gw.Upload(b"2", name="a")
            )
        assert info.value.limit == "unique_names"
        with pytest.raises(FileNotFoundError):
            await s.send("RJ_Station", "RJ_Partner", tmp_path / "missing.txt")
        with pytest.raises(IsADirectoryError):
            await s.send("RJ_Station", "RJ_Partner", tmp_path)
    assert as2gw_gateway.stats.requests == before
    assert as2gw_gateway.stats.sends == 0


async def test_unknown_partner_is_not_found(as2gw_emulator: EmulatorServer) -> None:
    async with session(as2gw_emulator) as s:
        with pytest.raises(gw.NotFoundError, match="Nobody"):
            await s.send("RJ_Station", "Nobody", gw.Upload(b"x", name="a.txt"))


async def test_wait_for_delivery_when_the_gateway_gives_up(
    as2gw_emulator: EmulatorServer, as2gw_gateway: Gateway
) -> None:
    as2gw_gateway.add_partner("Down_Partner", fail=True, fail_status=503)
    async with session(as2gw_emulator) as s:
        receipt = await s.send("RJ_Station", "Down_Partner", gw.Upload(b"x", name="a.txt"))
        with pytest.raises(gw.DeliveryFailedError, match="3 failed attempt") as info:
            await s.wait_for_delivery(receipt.as2_message_id, **FAST)
        error = info.value
        assert error.as2_message_id == receipt.as2_message_id
        assert len(error.attempts) == 3  # the emulator's max_attempts
        stamps = [a.persisted_timestamp for a in error.attempts]
        assert len(set(stamps)) == 3
        assert all(a.transport_status_received == 503 for a in error.attempts)
        # the failed folder's iterator keeps every attempt
        attempts = [m async for m in s.failed.iter(as2_message_id=receipt.as2_message_id)]
        assert len(attempts) == 3


async def test_wait_for_delivery_times_out_saying_where_the_message_is(
    as2gw_emulator: EmulatorServer, as2gw_gateway: Gateway
) -> None:
    as2gw_gateway.add_partner("Down_Partner", fail=True)
    clock = ManualClock()
    as2gw_gateway.clock = clock  # frozen: no attempt can slip in before the stop
    async with session(as2gw_emulator) as s:
        receipt = await s.send("RJ_Station", "Down_Partner", gw.Upload(b"x", name="a.txt"))
        await s.queued.stop(receipt.as2_message_id)  # stays queued, never retried
        clock.advance(3600)
        with pytest.raises(gw.DeliveryTimeoutError, match="queued") as info:
            await s.wait_for_delivery(
                receipt.as2_message_id, timeout=0.3, poll_interval=0.02, initial_delay=0
            )
        assert info.value.last_seen == "queued"
        with pytest.raises(gw.DeliveryTimeoutError, match="never seen") as info:
            await s.wait_for_delivery("<nope@x>", timeout=0.1, poll_interval=0.02)
        assert info.value.last_seen is None


async def test_retry_after_stop_lets_a_recovered_partner_get_it(
    as2gw_emulator: EmulatorServer, as2gw_gateway: Gateway
) -> None:
    partner = as2gw_gateway.add_partner("Flaky", fail=True)
    async with session(as2gw_emulator) as s:
        receipt = await s.send("RJ_Station", "Flaky", gw.Upload(b"x", name="a.txt"))
        mid = receipt.as2_message_id
        await s.queued.stop(mid)
        queued = await s.queued.get(mid)
        assert queued.as2_message_id == mid
        partner.fail = False
        response = await s.queued.retry(mid)
        assert mid in response.message
        sent = await s.wait_for_delivery(mid, **FAST)
    assert sent.delivery_status is gw.DeliveryStatus.DELIVERED


@pytest.mark.as2gw_emulator(send_delay=0.05, https=True)
async def test_sending_through_the_http_url_upgrades_to_https(
    as2gw_emulator: EmulatorServer, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    data = blob(CHUNK_SIZE * 2 + 1)
    (tmp_path / "a.bin").write_bytes(data)
    async with gw.Session(
        as2gw_emulator.username,
        as2gw_emulator.password,
        base_url=as2gw_emulator.http_url,
        rate_limit=None,
        verify=as2gw_emulator.ssl_context(),
    ) as s:
        receipt = await s.send(
            "RJ_Station", "RJ_Partner", tmp_path / "a.bin", gw.Upload(b"b", name="b")
        )
        assert s.base_url == as2gw_emulator.base_url
        sent = await s.wait_for_delivery(receipt.as2_message_id, **FAST)
    assert as2gw_gateway.attachment_bytes("sent", sent.as2_message_id, 0) == data
