"""Spec 4.4 (listing) and 4.5 (retrieving, markAsRead, markUnread), path encoding of ids."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from as2gw_async.emulator import EmulatorServer, Gateway

from .conftest import q

pytestmark = pytest.mark.as2gw_emulator(seed_messages=37)

MESSAGE_FIELDS = {
    "as2MessageId",
    "persistedTimestamp",
    "compressed",
    "encrypted",
    "signed",
    "subject",
    "receiverId",
    "senderId",
    "mdnStatus",
    "partnerType",
    "mdnMessage",
    "attachments",
}


async def _all(api: httpx.AsyncClient, folder: str, **params: object) -> list[dict]:
    out: list[dict] = []
    page = 0
    while True:
        r = await api.get(
            f"/message/{folder}", params={**params, "pageOffset": page, "pageLength": 7}
        )
        assert r.status_code == 200, r.text
        records = r.json()["records"]
        out += records
        if len(records) < 7:
            return out
        page += 1


async def test_received_list_defaults(api: httpx.AsyncClient, as2gw_gateway: Gateway) -> None:
    r = await api.get("/message/received")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"totalRecords", "records"}
    assert body["totalRecords"] == 37
    assert len(body["records"]) == 10  # pageLength defaults to 10
    stamps = [m["persistedTimestamp"] for m in body["records"]]
    assert stamps == sorted(stamps, reverse=True)  # persistedTimestamp desc by default
    for m in body["records"]:
        assert set(m) <= MESSAGE_FIELDS
        assert "transportStatusReceived" not in m
        assert "deliveryStatus" not in m
        assert m["partnerType"] == "Production"
        assert m["mdnStatus"] in {"Pending", "Received", "Not Requested", "No MDN"}
        assert all(set(a) == {"name", "size"} for a in m["attachments"])
        if "subject" in m:
            assert m["subject"]
    assert any("subject" not in m for m in await _all(api, "received"))


async def test_page_offset_is_a_page_number(api: httpx.AsyncClient) -> None:
    full = (await api.get("/message/received", params={"pageLength": 100})).json()["records"]
    page2 = (await api.get("/message/received", params={"pageOffset": 2, "pageLength": 5})).json()
    assert page2["totalRecords"] == 37
    assert [m["as2MessageId"] for m in page2["records"]] == [m["as2MessageId"] for m in full[10:15]]
    last = (await api.get("/message/received", params={"pageOffset": 3, "pageLength": 10})).json()
    assert len(last["records"]) == 7
    beyond = (await api.get("/message/received", params={"pageOffset": 9})).json()
    assert beyond == {"totalRecords": 37, "records": []}
    # paging covers everything exactly once
    paged = await _all(api, "received")
    assert [m["as2MessageId"] for m in paged] == [m["as2MessageId"] for m in full]


@pytest.mark.parametrize(
    "params",
    [
        {"pageLength": 0},
        {"pageLength": 101},
        {"pageLength": "ten"},
        {"pageOffset": -1},
        {"pageOffset": "x"},
        {"sortCol": "size"},
        {"sortDir": "up"},
        {"partnerType": "staging"},
        {"unreadOnly": "maybe"},
    ],
)
async def test_invalid_list_parameters_are_400(api: httpx.AsyncClient, params: dict) -> None:
    r = await api.get("/message/received", params=params)
    assert r.status_code == 400
    assert set(r.json()) == {"message"}


@pytest.mark.parametrize("length", [1, 100])
async def test_page_length_bounds_are_inclusive(api: httpx.AsyncClient, length: int) -> None:
    r = await api.get("/message/received", params={"pageLength": length})
    assert r.status_code == 200
    assert len(r.json()["records"]) == min(length, 37)


@pytest.mark.parametrize("column", ["persistedTimestamp", "receiverId", "senderId", "subject"])
@pytest.mark.parametrize("direction", ["asc", "desc"])
async def test_sorting(api: httpx.AsyncClient, column: str, direction: str) -> None:
    records = await _all(api, "received", sortCol=column, sortDir=direction)
    assert len(records) == 37
    values = [m.get(column, "") for m in records]
    assert values == sorted(values, reverse=direction == "desc")
    again = await _all(api, "received", sortCol=column, sortDir=direction)
    assert again == records  # stable and deterministic across pages and calls


async def test_filters(api: httpx.AsyncClient, as2gw_gateway: Gateway) -> None:
    every = await _all(api, "received")
    partner = every[0]["receiverId"]
    got = await _all(api, "received", partnerAS2Id=partner)
    assert got == [m for m in every if m["receiverId"] == partner]
    station = every[0]["senderId"]
    got = await _all(api, "received", stationAS2Id=station)
    assert got == [m for m in every if m["senderId"] == station]
    mid = every[5]["as2MessageId"]
    got = (await api.get("/message/received", params={"as2MessageId": mid})).json()
    assert got["totalRecords"] == 1
    assert got["records"][0]["as2MessageId"] == mid
    subject = next(m["subject"] for m in every if "subject" in m)
    word = subject.split()[0]
    got = await _all(api, "received", subject=word.lower())
    assert got == [m for m in every if word.lower() in m.get("subject", "").lower()]
    both = await _all(api, "received", partnerAS2Id=partner, stationAS2Id=station)
    assert both == [m for m in every if m["receiverId"] == partner and m["senderId"] == station]


async def test_partner_type_filter(api: httpx.AsyncClient, as2gw_gateway: Gateway) -> None:
    mid = as2gw_gateway.deliver(partner_type="test", attachments=[("t.txt", b"t")])
    prod = await _all(api, "received")
    assert mid not in {m["as2MessageId"] for m in prod}
    test = (await api.get("/message/received", params={"partnerType": "test"})).json()
    assert [m["as2MessageId"] for m in test["records"]] == [mid]
    assert test["records"][0]["partnerType"] == "Test"


async def test_other_folders_list(api: httpx.AsyncClient) -> None:
    for folder in ("sent", "failed", "queued"):
        r = await api.get(f"/message/{folder}")
        assert r.status_code == 200
        assert r.json() == {"totalRecords": 0, "records": []}


async def test_retrieve_mark_as_read_and_unread(
    api: httpx.AsyncClient, as2gw_gateway: Gateway
) -> None:
    unread = (await api.get("/message/received", params={"unreadOnly": "true"})).json()
    assert unread["totalRecords"] == 37
    mid = unread["records"][0]["as2MessageId"]
    r = await api.get(f"/message/received/{q(mid)}")
    assert r.status_code == 200
    assert r.json() == unread["records"][0]
    assert not as2gw_gateway.is_read(mid)
    r = await api.get(f"/message/received/{q(mid)}", params={"markAsRead": "true"})
    assert r.status_code == 200
    assert as2gw_gateway.is_read(mid)
    unread = (await api.get("/message/received", params={"unreadOnly": "true"})).json()
    assert unread["totalRecords"] == 36
    assert mid not in {m["as2MessageId"] for m in unread["records"]}
    # still listed without unreadOnly
    assert (await api.get("/message/received", params={"as2MessageId": mid})).json()[
        "totalRecords"
    ] == 1
    r = await api.post(f"/message/received/{q(mid)}/markUnread")
    assert r.status_code == 200
    assert r.json() == {"message": f"Successfully marked message {mid} as unread"}
    assert not as2gw_gateway.is_read(mid)
    r = await api.post(f"/message/received/{q('<nope@x>')}/markUnread")
    assert r.status_code == 404


@pytest.mark.parametrize("folder", ["received", "sent", "failed", "queued"])
async def test_unknown_message_is_404(api: httpx.AsyncClient, folder: str) -> None:
    r = await api.get(f"/message/{folder}/{q('<0.0.0@as2gateway.com>')}")
    assert r.status_code == 404
    assert "<0.0.0@as2gateway.com>" in r.json()["message"]


@pytest.mark.parametrize(
    "message_id",
    ["<a/b@x>", "<100%/sure?#yes@x>", "<plain.1.2@as2gateway.com>", "<ünï côdé@x>", "<a%2Fb@x>"],
)
async def test_ids_round_trip_in_paths(
    api: httpx.AsyncClient, as2gw_gateway: Gateway, message_id: str
) -> None:
    as2gw_gateway.deliver(message_id=message_id, attachments=[("f.txt", b"f")])
    r = await api.get(f"/message/received/{q(message_id)}")
    assert r.status_code == 200, r.text
    assert r.json()["as2MessageId"] == message_id
    r = await api.get(f"/message/received/{q(message_id)}/attachments/0")
    assert r.content == b"f"


async def _raw_get(server: EmulatorServer, target: str, token: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {token}\r\n"
        "Connection: close\r\n\r\n".encode()
    )
    await writer.drain()
    data = await reader.read()
    writer.close()
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]


async def test_unencoded_angle_brackets_as_curl_sends_them(
    api: httpx.AsyncClient, as2gw_emulator: EmulatorServer
) -> None:
    mid = as2gw_emulator.gateway.deliver(attachments=[("f.txt", b"f")])
    token = api.headers["Authorization"]
    status, body = await _raw_get(as2gw_emulator, f"/v1/message/received/{mid}", token)
    assert status == 200
    assert mid.encode() in body


async def test_wrong_method_and_unknown_path(api: httpx.AsyncClient) -> None:
    assert (await api.delete("/message/received")).status_code == 405
    assert (await api.get("/message/received/x/y/z/w")).status_code == 404
    assert (await api.get("/nothing")).status_code == 404
