"""MFT emulator: certificates, station and partner creation, webhook event bodies."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from as2gw_async.emulator.mft import (
    MftEmulator,
    MftGateway,
    event_for,
    message_failed_event,
    message_received_event,
    message_sent_event,
    webhook_body,
)

from ._mft_emulator_helpers import api, submit

CERT = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----").decode()


def test_certificates_list_filter_and_get(mft_emulator: MftEmulator) -> None:
    with api(mft_emulator) as c:
        every = c.get("/certificate").json()
        assert {e["type"] for e in every} == {"STATION", "PARTNER", "HTTPS"}
        assert all(set(e) == {"alias", "type"} for e in every)
        stations = c.get("/certificate", params={"certType": "STATION"}).json()
        assert [e["type"] for e in stations] == ["STATION"]
        assert c.get("/certificate", params={"certType": ""}).json() == every
        assert c.get("/certificate", params={"certType": "BOGUS"}).status_code == 400
        alias = stations[0]["alias"]
        meta = c.get(f"/certificate/{alias}").json()
        assert meta["alias"] == alias
        assert meta["type"] == "STATION"
        assert meta["belongsTo"] == ["MyStation"]
        for key in ("serial_number", "subject_common_name", "issuer_distinguish_name", "expiry"):
            assert key in meta
        r = c.get("/certificate/nope")
        assert (r.status_code, r.json()) == (
            404,
            {"message": "Unable to find certificate with alias: nope"},
        )


def _station(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Station Two",
        "as2Identifier": "station2",
        "email": "a@example.com,b@example.com",
        "certificate": {
            "type": "NEW_SELF_SIGN_CERTIFICATE",
            "commonName": "Station Two",
            "password": "pw",
            "keyLength": 2048,
            "validity": 5,
        },
    }
    body.update(over)
    return body


def test_create_station_then_send_from_it(mft_emulator: MftEmulator) -> None:
    with api(mft_emulator) as c:
        r = c.post("/station", json=_station())
        assert r.status_code == 200
        assert r.json()["message"] == "Station created successfully"
        assert isinstance(r.json()["stationId"], int)
        assert submit(c, station="station2").status_code == 202
        dup = c.post("/station", json=_station())
        assert dup.status_code == 422
        assert dup.json() == {
            "message": "User input validation failed. Please try again",
            "errors": [{"as2Identifier": "Station already exists with AS2 identifier: station2"}],
        }


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"name": None}, "name"),
        ({"email": "a@x,b@x,c@x,d@x"}, "email"),
        ({"certificate": {"type": "FROM_KEYSTORE", "keystore": "k"}}, "certificate.alias"),
        ({"certificate": {"type": "MAGIC"}}, "certificate.type"),
    ],
)
def test_station_validation_errors(
    mft_emulator: MftEmulator, override: dict[str, Any], field: str
) -> None:
    with api(mft_emulator) as c:
        r = c.post("/station", json=_station(as2Identifier="s3", **override))
        assert r.status_code == 422
        assert field in {k for e in r.json()["errors"] for k in e}


def _partner(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Partner Two",
        "as2Identifier": "partner2",
        "url": "https://partner2.example.com/as2",
        "encryptionCertificate": CERT,
        "messageSubject": "From us",
    }
    body.update(over)
    return body


def test_create_partner_then_send_to_it(mft_emulator: MftEmulator) -> None:
    with api(mft_emulator) as c:
        r = c.post("/partner", json=_partner())
        assert r.status_code == 200
        assert r.json()["message"] == "Partner created successfully"
        mid = submit(c, partner="partner2").json()["messageIdentifier"]
        assert mft_emulator.gateway.message(mid).subject == "From us"
        dup = c.post("/partner", json=_partner())
        assert dup.json()["errors"] == [
            {"as2Identifier": "Partner already exists with AS2 identifier: partner2"}
        ]


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"url": None}, "url"),
        ({"encryptionCertificate": "not base64!"}, "encryptionCertificate"),
        ({"encryptionAlgorithm": "ROT13"}, "encryptionAlgorithm"),
        ({"transmissionTimeout": 7}, "transmissionTimeout"),
        ({"customHeaders": [{"headerName": "AS2-To", "headerValue": "x"}]}, "customHeaders"),
    ],
)
def test_partner_validation_errors(
    mft_emulator: MftEmulator, override: dict[str, Any], field: str
) -> None:
    with api(mft_emulator) as c:
        r = c.post("/partner", json=_partner(as2Identifier="p3", **override))
        assert r.status_code == 422
        assert r.json()["message"] == "User input validation failed. Please try again"
        assert field in {k for e in r.json()["errors"] for k in e}


_COMMON = {
    "to",
    "messageAS2ID",
    "messageSubject",
    "partnerAS2ID",
    "partnerName",
    "stationAS2ID",
    "stationName",
    "bucketName",
    "tenantName",
    "tenantId",
    "tenantEmail",
    "eventType",
    "attachments",
}


def test_webhook_builders_follow_the_asyncapi_schemas() -> None:
    received = message_received_event(message_as2_id="<1@m>", attachments=["AS2/a.xml"])
    sent = message_sent_event(message_as2_id="<2@m>")
    failed = message_failed_event(message_as2_id="<3@m>", failures=3)
    assert set(received) == _COMMON | {"receivedAt"}
    assert received["eventType"] == "MESSAGE.RECEIVED.SUCCESS"
    assert set(sent) == _COMMON | {"sentAt"}
    assert sent["eventType"] == "MESSAGE.SEND.SUCCESS"
    assert set(failed) == _COMMON | {"failureReason", "failures", "lastAttemptTime", "subject"}
    assert failed["eventType"] == "MESSAGE.SEND.FAILED"
    assert failed["failures"] == 3
    assert json.loads(webhook_body(received)) == received


def test_events_for_gateway_messages() -> None:
    gw = MftGateway(send_delay=0)
    gw.add_partner("Bad", outcome="fail")
    inbox = gw.deliver(attachments=[("x.edi", b"x")], subject="In")
    ok = gw.submit("MyStation", "MyPartner", [("o.txt", b"o")])
    ko = gw.submit("MyStation", "Bad", [("k.txt", b"k")])
    received = event_for(gw, inbox)
    assert received["eventType"] == "MESSAGE.RECEIVED.SUCCESS"
    assert received["messageAS2ID"] == inbox
    assert received["messageSubject"] == "In"
    assert received["attachments"] == gw.message(inbox).to_json("legacy")["attachmentPaths"]
    assert event_for(gw, ok)["eventType"] == "MESSAGE.SEND.SUCCESS"
    failed = event_for(gw, ko)
    assert failed["eventType"] == "MESSAGE.SEND.FAILED"
    assert failed["failureReason"] == "SSL Handshake Exception"
    gw.partner("MyPartner").outcome = "queue"
    stuck = gw.submit("MyStation", "MyPartner", [("q.txt", b"q")])
    with pytest.raises(ValueError, match="queued"):
        event_for(gw, stuck)
