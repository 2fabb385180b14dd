"""MFT emulator: /message/submit (raw and multipart), limits, and the life of a sent message."""

from __future__ import annotations

import httpx
import pytest

from as2gw_async.emulator.mft import MftEmulator

from ._mft_emulator_helpers import FakeClock, api, q, submit


def test_raw_submit_answers_202_link_and_identifier(mft_emulator: MftEmulator) -> None:
    with api(mft_emulator) as c:
        r = submit(c, b"<invoice n='1'/>", "invoice.xml", Subject="Invoice 1")
        assert r.status_code == 202
        body = r.json()
        assert body["message"] == "Message queued successfully"
        mid = body["messageIdentifier"]
        assert mid.startswith("<")
        assert mid.endswith("@mftgateway.com>")
        assert r.headers["link"] == f"{mft_emulator.base_url}/message/outbox/{mid}"
        msg = mft_emulator.gateway.message(mid)
        assert msg.subject == "Invoice 1"
        assert [(a.name, a.read()) for a in msg.attachments] == [
            ("invoice.xml", b"<invoice n='1'/>")
        ]


@pytest.mark.mft_emulator(naming="legacy")
def test_legacy_submit_answers_as2_message_id(mft_emulator: MftEmulator) -> None:
    with api(mft_emulator) as c:
        body = submit(c).json()
        assert "as2MessageId" in body
        assert "messageIdentifier" not in body


def test_multipart_submit_takes_every_file_part(mft_emulator: MftEmulator) -> None:
    with api(mft_emulator) as c:
        files = [
            ("File", ("a.txt", b"first", "text/plain")),
            ("File", ("b.bin", b"\x00\x01second", "application/octet-stream")),
        ]
        r = c.post(
            "/message/submit",
            headers={"AS2-From": "MyStation", "AS2-To": "MyPartner"},
            files=files,
        )
        assert r.status_code == 202, r.text
        msg = mft_emulator.gateway.message(r.json()["messageIdentifier"])
        assert [(a.name, a.read()) for a in msg.attachments] == [
            ("a.txt", b"first"),
            ("b.bin", b"\x00\x01second"),
        ]
        wrong = c.post(
            "/message/submit",
            headers={"AS2-From": "MyStation", "AS2-To": "MyPartner"},
            files=[("file", ("a.txt", b"x"))],
        )
        assert wrong.status_code == 400
        assert "File" in wrong.json()["message"]


def test_default_subject_is_the_partners(mft_emulator: MftEmulator) -> None:
    mft_emulator.gateway.add_partner("Acme", subject="Acme EDI")
    with api(mft_emulator) as c:
        mid = submit(c, partner="Acme").json()["messageIdentifier"]
        assert mft_emulator.gateway.message(mid).subject == "Acme EDI"


def test_unknown_partner_or_station_is_422(mft_emulator: MftEmulator) -> None:
    with api(mft_emulator) as c:
        r = submit(c, partner="Nobody")
        assert r.status_code == 422
        assert r.json() == {"message": "Unable to find partner with AS2 identifier: Nobody"}
        r = submit(c, station="NoStation")
        assert r.status_code == 422
        assert r.json() == {"message": "Unable to find station with AS2 identifier: NoStation"}


def test_missing_headers_are_400(mft_emulator: MftEmulator) -> None:
    with api(mft_emulator) as c:
        r = c.post("/message/submit", headers={"AS2-From": "MyStation"}, content=b"x")
        assert r.status_code == 400
        r = c.post(
            "/message/submit",
            headers={"AS2-From": "MyStation", "AS2-To": "MyPartner"},
            content=b"x",
        )
        assert r.status_code == 400
        assert "Attachment-Name" in r.json()["message"]


@pytest.mark.mft_emulator(max_body=1000)
def test_a_body_over_max_body_is_413(mft_emulator: MftEmulator) -> None:
    with api(mft_emulator) as c:
        assert submit(c, b"x" * 1000).status_code == 202
        r = submit(c, b"x" * 1001)
        assert r.status_code == 413
        assert r.json() == {"message": "Request Too Long"}

        def chunks():  # no Content-Length: counted while reading
            yield b"x" * 600
            yield b"x" * 600

        r = c.post(
            "/message/submit",
            headers={"AS2-From": "MyStation", "AS2-To": "MyPartner", "Attachment-Name": "a"},
            content=chunks(),
        )
        assert r.status_code == 413


def test_service_parameter(mft_emulator: MftEmulator) -> None:
    with api(mft_emulator) as c:
        assert submit(c).status_code == 202  # ?service=as2
        r = c.post(
            "/message/submit",
            params={"service": "sftp"},
            headers={"AS2-From": "MyStation", "AS2-To": "MyPartner", "Attachment-Name": "a"},
            content=b"x",
        )
        assert r.status_code == 400
        assert c.get("/message/outbox", params={"service": "as2"}).status_code == 200


def _lists(c: httpx.Client, mid: str) -> dict[str, bool]:
    out = {}
    for path in ("/message/outbox", "/message/outbox/queued", "/message/outbox/failed"):
        out[path] = mid in c.get(path, params={"pageLength": 100}).json()["messages"]
    return out


def test_queued_then_delivered_after_send_delay() -> None:
    clock = FakeClock()
    with MftEmulator(clock=clock, send_delay=5) as emu, api(emu) as c:
        mid = submit(c).json()["messageIdentifier"]
        assert _lists(c, mid) == {
            "/message/outbox": False,
            "/message/outbox/queued": True,
            "/message/outbox/failed": False,
        }
        assert c.get(f"/message/outbox/{q(mid)}").json()["msgStatus"] == "Queued"
        assert c.get(f"/message/outbox/{q(mid)}/mdn").status_code == 404
        clock.advance(5)
        assert _lists(c, mid)["/message/outbox"] is True
        msg = c.get(f"/message/outbox/{q(mid)}").json()
        assert msg["msgStatus"] == "Sent"
        assert msg["incoming"] is False
        assert msg["senderIdentifier"] == "MyStation"
        assert msg["receiverIdentifier"] == "MyPartner"
        assert msg["transportStatusReceived"] == 200
        assert c.get(f"/message/outbox/{q(mid)}/mdn").status_code == 200


def test_outcomes_per_partner_fail_and_stay_queued(mft_emulator: MftEmulator) -> None:
    gw = mft_emulator.gateway
    gw.send_delay = 0
    gw.add_partner("Broken", outcome="fail")
    gw.add_partner("Slow", outcome="queue")
    with api(mft_emulator) as c:
        failed = submit(c, partner="Broken").json()["messageIdentifier"]
        stuck = submit(c, partner="Slow").json()["messageIdentifier"]
        assert _lists(c, failed)["/message/outbox/failed"] is True
        assert _lists(c, stuck)["/message/outbox/queued"] is True
        msg = c.get(f"/message/outbox/{q(failed)}").json()
        assert msg["msgStatus"] == "Failed"
        assert msg["failures"] == 1
        gw.release(stuck, "deliver")
        assert _lists(c, stuck)["/message/outbox"] is True
        gw.partner("Slow").outcome = "fail"
        other = submit(c, partner="Slow").json()["messageIdentifier"]
        assert _lists(c, other)["/message/outbox/failed"] is True
