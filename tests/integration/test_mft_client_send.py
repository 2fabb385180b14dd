"""mft send and wait_for_delivery against the MFT emulator over loopback sockets."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest

from as2gw_async import (
    DeliveryFailedError,
    DeliveryTimeoutError,
    InternalServerError,
    PayloadTooLargeError,
    UnprocessableEntityError,
    mft,
)
from as2gw_async.emulator.mft import MftEmulator

from ._mft_client import session


@pytest.mark.parametrize("naming", ["current", "legacy"])
async def test_one_file_goes_raw_with_its_name_and_subject(
    mft_emulator: MftEmulator, tmp_path: Path, naming: str
) -> None:
    mft_emulator.naming = naming
    path = tmp_path / "invoice.xml"
    path.write_bytes(b"<invoice>1</invoice>" * 5000)
    async with session(mft_emulator) as s:
        r = await s.send("MyStation", "MyPartner", path, subject="Invoice 1")
    assert r.message_id.startswith("<")
    assert r.message_id.endswith("@mftgateway.com>")
    assert r.link is not None
    assert unquote(r.link).endswith(f"/message/outbox/{r.message_id}")
    assert r.message == "Message queued successfully"
    record = mft_emulator.gateway.message(r.message_id)
    assert record.subject == "Invoice 1"
    assert [(a.name, a.read()) for a in record.attachments] == [("invoice.xml", path.read_bytes())]


async def test_several_files_go_as_multipart_file_parts(
    mft_emulator: MftEmulator, tmp_path: Path
) -> None:
    (tmp_path / "a.edi").write_bytes(b"ISA*00*a")
    async with session(mft_emulator) as s:
        r = await s.send(
            "MyStation",
            "MyPartner",
            tmp_path / "a.edi",
            mft.Upload(b"second", name="b.txt"),
            mft.Upload(b"non-ascii", name="r\u00e9sum\u00e9.txt"),
        )
    record = mft_emulator.gateway.message(r.message_id)
    assert [(a.name, a.read()) for a in record.attachments] == [
        ("a.edi", b"ISA*00*a"),
        ("b.txt", b"second"),
        ("r\u00e9sum\u00e9.txt", b"non-ascii"),
    ]
    assert mft_emulator.stats.submits == 1


async def test_unknown_partner_is_422_and_too_big_is_413(
    mft_emulator: MftEmulator, tmp_path: Path
) -> None:
    mft_emulator.gateway.max_body = 1000
    async with session(mft_emulator) as s:
        with pytest.raises(UnprocessableEntityError, match="NoSuchPartner"):
            await s.send("MyStation", "NoSuchPartner", mft.Upload(b"x", name="a.txt"))
        with pytest.raises(PayloadTooLargeError, match="S3 bucket"):
            await s.send("MyStation", "MyPartner", mft.Upload(b"x" * 5000, name="a.txt"))


async def test_a_send_is_never_repeated_silently(mft_emulator: MftEmulator) -> None:
    mft_emulator.faults.fail("submit", 503, times=1)
    async with session(mft_emulator) as s:
        with pytest.raises(InternalServerError):
            await s.send("MyStation", "MyPartner", mft.Upload(b"x", name="a.txt"))
    assert mft_emulator.stats.routes["submit"] == 1


async def test_wait_for_delivery_delivered_failed_and_timeout(mft_emulator: MftEmulator) -> None:
    gw = mft_emulator.gateway
    gw.send_delay = 0.05
    gw.add_partner("Failing", outcome="fail")
    gw.add_partner("Slow", outcome="queue")
    async with session(mft_emulator) as s:
        ok = await s.send("MyStation", "MyPartner", mft.Upload(b"x", name="a.txt"))
        m = await s.wait_for_delivery(ok.message_id, timeout=30, poll_interval=0.05)
        assert m.identifier == ok.message_id
        assert m.msg_status is mft.MessageStatus.SENT

        bad = await s.send("MyStation", "Failing", mft.Upload(b"y", name="b.txt"))
        with pytest.raises(DeliveryFailedError) as failed:
            await s.wait_for_delivery(bad.message_id, timeout=30, poll_interval=0.05)
        assert failed.value.as2_message_id == bad.message_id

        slow = await s.send("MyStation", "Slow", mft.Upload(b"z", name="c.txt"))
        with pytest.raises(DeliveryTimeoutError) as timed_out:
            await s.wait_for_delivery(
                slow.message_id, timeout=0.2, poll_interval=0.05, initial_delay=0
            )
        assert timed_out.value.last_seen == "queued"
