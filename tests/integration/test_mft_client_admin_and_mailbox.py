"""mft certificates, station/partner creation and the InboxConsumer mailbox, on the emulator."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from as2gw_async import InboxConsumer, NotFoundError, UnprocessableEntityError, mft
from as2gw_async.emulator.mft import MftEmulator

from ._mft_client import session

CERT = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----").decode()


async def test_certificates_list_and_get(mft_emulator: MftEmulator) -> None:
    async with session(mft_emulator) as s:
        every = await s.certificates.list()
        assert {c.type for c in every} == {
            mft.CertificateType.STATION,
            mft.CertificateType.PARTNER,
            mft.CertificateType.HTTPS,
        }
        stations = await s.certificates.list("STATION")
        assert [c.type for c in stations] == [mft.CertificateType.STATION]
        cert = await s.certificates.get(stations[0].alias)
        assert cert.alias == stations[0].alias
        assert cert.belongs_to == ("MyStation",)
        assert cert.serial_number
        assert cert.raw["subject_common_name"] == cert.subject_common_name
        with pytest.raises(NotFoundError, match="Unable to find certificate"):
            await s.certificates.get("nope")
        with pytest.raises(ValueError, match="BOGUS"):
            await s.certificates.list("BOGUS")


async def test_station_and_partner_creation(mft_emulator: MftEmulator) -> None:
    async with session(mft_emulator) as s:
        station = await s.stations.create(
            "Station Two",
            "station2",
            email="a@example.com",
            certificate={
                "type": "NEW_SELF_SIGN_CERTIFICATE",
                "commonName": "Station Two",
                "password": "pw",
                "keyLength": 2048,
                "validity": 5,
            },
        )
        assert station.message == "Station created successfully"
        assert isinstance(station.id, int)
        partner = await s.partners.create(
            "Partner Two", "partner2", url="https://p2.example.com/as2", encryption_certificate=CERT
        )
        assert isinstance(partner.id, int)
        with pytest.raises(UnprocessableEntityError) as info:
            await s.partners.create("Again", "partner2", url="ftp://x", encryption_certificate=CERT)
        fields = {k for e in info.value.field_errors for k in e}
        assert fields == {"as2Identifier", "url"}
        r = await s.send("station2", "partner2", mft.Upload(b"x", name="a.txt"))
        assert r.message_id


async def test_inbox_consumer_drains_the_mft_inbox_once_and_marks_after(
    mft_emulator: MftEmulator, tmp_path: Path
) -> None:
    ids = mft_emulator.seed_inbox(12, attachments=2, sizes=(10, 5000))
    seen: list[str] = []
    async with session(mft_emulator) as s, InboxConsumer(s, tmp_path / "inbox") as consumer:
        async for delivered in consumer:
            assert isinstance(delivered.message, mft.Message)
            assert delivered.message.identifier == delivered.message_id
            assert not mft_emulator.gateway.is_fetched(delivered.message_id)  # not yet
            assert len(delivered.files) == 2
            for f in delivered.files:
                assert f.path.parent == delivered.directory
                assert f.path.stat().st_size == f.size
            seen.append(delivered.message_id)
    assert sorted(seen) == sorted(ids)
    assert all(mft_emulator.gateway.is_fetched(mid) for mid in ids)  # marked after hand-over
    assert mft_emulator.store_stats.authorization_headers == 0
    async with session(mft_emulator) as s, InboxConsumer(s, tmp_path / "inbox") as consumer:
        assert [d async for d in consumer] == []  # nothing twice


async def test_mailbox_options_and_restore(mft_emulator: MftEmulator) -> None:
    mft_emulator.gateway.add_partner("Other")
    [theirs] = mft_emulator.seed_inbox(1, partner="Other")
    mft_emulator.seed_inbox(2)
    async with session(mft_emulator) as s:
        box = s.mailbox(partner="Other", include_mdn=True)
        assert (box.gateway, box.account) == ("mft", mft_emulator.username)
        items = [i async for i in box.waiting()]
        assert [i.id for i in items] == [theirs]
        assert box.restore(items[0].metadata).identifier == theirs
        assert await box.acknowledge([theirs, "<gone@x>"]) == [theirs]


async def test_one_pass_drains_more_than_a_page_while_acknowledging(
    mft_emulator: MftEmulator, tmp_path: Path
) -> None:
    ids = mft_emulator.seed_inbox(230, sizes=[16])
    async with session(mft_emulator) as s, InboxConsumer(s, tmp_path / "inbox") as consumer:
        seen = [d.message_id async for d in consumer]
    assert sorted(seen) == sorted(ids)  # none skipped by pages shifting under the marks
