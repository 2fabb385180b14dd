"""Spec 4.1 (sending), 4.4.3/4.4.4 (failed/queued), 4.6 (stop/retry): the life of a send."""

from __future__ import annotations

import re

import httpx
import pytest

from as2gw_async.emulator import EmulatorServer, Gateway

from ._clock import ManualClock
from .conftest import q

pytestmark = pytest.mark.as2gw_emulator(send_delay=0.1)

ID_RE = re.compile(r"^<\d{8}\.\d+\.\d{13}@as2gateway\.com>$")
ACCEPTED = {"message": "Successfully added a new outbound entry"}


def _link_id(response: httpx.Response, server: EmulatorServer) -> str:
    link = response.headers["link"]
    prefix = f"{server.base_url}/message/sent/"
    assert link.startswith(prefix), link
    message_id = link[len(prefix) :]
    assert ID_RE.match(message_id), message_id  # raw id, angle brackets included
    return message_id


@pytest.fixture
def clock(as2gw_gateway: Gateway) -> ManualClock:
    """The gateway's time, moved by hand: sends and retries happen when the test says."""
    manual = ManualClock()
    as2gw_gateway.clock = manual
    return manual


async def test_single_file_send_is_accepted_with_link(
    api: httpx.AsyncClient, as2gw_emulator: EmulatorServer, clock: ManualClock
) -> None:
    xml = b'<?xml version="1.0" encoding="UTF-8"?>\n<invoice/>\n'
    accepted = await api.post(
        "/message/RJ_Station/RJ_Partner",
        headers={"Name": "invoice_20200101.xml", "Content-Type": "text/xml"},
        content=xml,
        params={"subject": "Invoice 1"},
    )
    assert accepted.status_code == 202
    assert accepted.json() == ACCEPTED
    message_id = _link_id(accepted, as2gw_emulator)

    # queued first: not yet under sent ("may not be available immediately")
    assert (await api.get(f"/message/sent/{q(message_id)}")).status_code == 404
    queued = (await api.get("/message/queued", params={"query": message_id})).json()
    assert queued["totalRecords"] == 1
    assert queued["records"][0]["mdnStatus"] == "Pending"

    clock.advance(0.09)  # send_delay is 0.1 s: still queued
    assert (await api.get(f"/message/sent/{q(message_id)}")).status_code == 404
    clock.advance(0.02)
    sent = (await api.get(f"/message/sent/{q(message_id)}")).json()
    assert sent["as2MessageId"] == message_id
    assert sent["subject"] == "Invoice 1"
    assert sent["senderId"] == "RJ_Station"
    assert sent["receiverId"] == "RJ_Partner"
    assert sent["partnerType"] == "Production"
    assert sent["deliveryStatus"] == "Delivered"
    assert sent["mdnStatus"] == "Received"
    assert sent["transportStatusReceived"] == 200
    assert set(sent["mdnMessage"]) == {"persistedTimestamp", "mdnError", "content"}
    assert sent["attachments"] == [{"name": "invoice_20200101.xml", "size": len(xml)}]
    r = await api.get(f"/message/sent/{q(message_id)}/attachments")
    assert r.content == xml
    # gone from the queue
    queued = (await api.get("/message/queued", params={"query": message_id})).json()
    assert queued["totalRecords"] == 0
    # the Link URL, followed verbatim (httpx encodes < and > itself), finds the message
    r = await api.get(accepted.headers["link"])
    assert r.status_code == 200
    assert r.json()["as2MessageId"] == message_id


async def test_multipart_send_with_several_files(
    api: httpx.AsyncClient, as2gw_emulator: EmulatorServer
) -> None:
    files = [
        ("file", ("file1.txt", b"one", "text/plain")),
        ("file", ("file2.txt", b"two", "text/plain")),
    ]
    r = await api.post("/message/RJ_Station/RJ_Partner", files=files)
    assert r.status_code == 202, r.text
    message_id = _link_id(r, as2gw_emulator)
    record = as2gw_emulator.gateway.message("queued", message_id)
    assert [(a.name, a.read()) for a in record.attachments] == [
        ("file1.txt", b"one"),
        ("file2.txt", b"two"),
    ]


async def test_spec_curl_multipart_example_with_bare_lf(
    api: httpx.AsyncClient, as2gw_emulator: EmulatorServer
) -> None:
    body = (
        b"------foobarbaz\n"
        b'Content-Disposition: form-data; name="file"; filename="file1.txt"\n'
        b"Content-Type: text/plain\n\none\n"
        b"------foobarbaz\n"
        b'Content-Disposition: form-data; name="file"; filename="file2.txt"\n'
        b"Content-Type: text/plain\n\ntwo\n"
        b"------foobarbaz--"
    )
    r = await api.post(
        "/message/RJ_Station/RJ_Partner",
        headers={"Content-Type": "multipart/form-data; boundary=----foobarbaz"},
        content=body,
    )
    assert r.status_code == 202, r.text
    record = as2gw_emulator.gateway.message("queued", _link_id(r, as2gw_emulator))
    assert [a.read() for a in record.attachments] == [b"one", b"two"]


async def test_test_partner_type_and_subject(
    api: httpx.AsyncClient, as2gw_emulator: EmulatorServer
) -> None:
    r = await api.post(
        "/message/RJ_Station/RJ_Partner",
        params={"partnerType": "test"},
        headers={"Name": "a.txt", "Content-Type": "text/plain"},
        content=b"x",
    )
    assert r.status_code == 202
    message_id = _link_id(r, as2gw_emulator)
    # listings default to production: the test message only shows with partnerType=test
    assert (await api.get("/message/queued")).json()["totalRecords"] == 0
    listed = (await api.get("/message/queued", params={"partnerType": "test"})).json()
    assert [m["as2MessageId"] for m in listed["records"]] == [message_id]
    assert listed["records"][0]["partnerType"] == "Test"
    assert "subject" not in listed["records"][0]  # omitted when absent


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/message/NoStation/RJ_Partner", {}),
        ("/message/RJ_Station/NoPartner", {}),
        ("/message/RJ_Station/OnlyProd", {"partnerType": "test"}),
    ],
)
async def test_unknown_station_or_partner_is_404(
    api: httpx.AsyncClient, as2gw_gateway: Gateway, path: str, params: dict[str, str]
) -> None:
    as2gw_gateway.add_partner("OnlyProd")
    r = await api.post(path, params=params, headers={"Name": "a.txt"}, content=b"x")
    assert r.status_code == 404
    assert "message" in r.json()


async def test_send_validation(api: httpx.AsyncClient, as2gw_gateway: Gateway) -> None:
    url = "/message/RJ_Station/RJ_Partner"
    # no Name header
    r = await api.post(url, headers={"Content-Type": "text/plain"}, content=b"x")
    assert r.status_code == 400
    assert "Name" in r.json()["message"]
    # eleven files
    files = [("file", (f"f{i}.txt", b"x", "text/plain")) for i in range(11)]
    r = await api.post(url, files=files)
    assert r.status_code == 400
    assert "10" in r.json()["message"]
    # exactly ten is fine
    assert (await api.post(url, files=files[:10])).status_code == 202
    # duplicate names
    files = [("file", ("same.txt", b"1", "text/plain")), ("file", ("same.txt", b"2", "text/plain"))]
    r = await api.post(url, files=files)
    assert r.status_code == 400
    assert "unique" in r.json()["message"]
    # no file part
    r = await api.post(url, data={"other": "field"}, files=[("notfile", ("a", b"1"))])
    assert r.status_code == 400
    # bad partnerType
    r = await api.post(url, params={"partnerType": "staging"}, headers={"Name": "a"}, content=b"")
    assert r.status_code == 400
    assert as2gw_gateway.stats.sends == 1


async def test_ten_megabyte_limits(api: httpx.AsyncClient) -> None:
    url = "/message/RJ_Station/RJ_Partner"
    ten_mb = 10 * 1024 * 1024
    r = await api.post(url, headers={"Name": "big.bin"}, content=b"\0" * ten_mb)
    assert r.status_code == 202
    r = await api.post(url, headers={"Name": "big.bin"}, content=b"\0" * (ten_mb + 1))
    assert r.status_code == 413
    assert "10 MB" in r.json()["message"]
    half = b"\0" * (ten_mb // 2)
    files = [("file", ("a.bin", half)), ("file", ("b.bin", half)), ("file", ("c.bin", b"!"))]
    r = await api.post(url, files=files)
    assert r.status_code == 413
    assert "message" in r.json()


@pytest.mark.as2gw_emulator(send_delay=0.02, retry_interval=0.01)
async def test_failing_partner_leaves_one_failed_record_per_attempt(
    api: httpx.AsyncClient,
    as2gw_gateway: Gateway,
    as2gw_emulator: EmulatorServer,
    clock: ManualClock,
) -> None:
    as2gw_gateway.add_partner("Down_Partner", fail=True)
    r = await api.post("/message/RJ_Station/Down_Partner", headers={"Name": "a"}, content=b"a")
    message_id = _link_id(r, as2gw_emulator)

    clock.advance(0.02 + 9 * 0.01 + 0.005)  # the first attempt and nine retries are due
    page = (await api.get("/message/failed", params={"as2MessageId": message_id})).json()
    assert page["totalRecords"] == 10
    clock.advance(3600)  # and no eleventh, however long we wait
    page = await api.get(
        "/message/failed",
        params={"as2MessageId": message_id, "pageLength": 100, "sortDir": "asc"},
    )
    records = page.json()["records"]
    assert len(records) == 10  # "retries queued messages up to 10 times"
    assert {m["as2MessageId"] for m in records} == {message_id}
    stamps = [m["persistedTimestamp"] for m in records]
    assert stamps == sorted(set(stamps))  # distinct, ascending
    assert all(m["deliveryStatus"] == "Not Delivered" for m in records)
    assert (await api.get(f"/message/failed/{q(message_id)}")).json()["persistedTimestamp"] == (
        stamps[-1]
    )
    # gone from the queue, never sent: the Link URL is no longer valid
    assert (await api.get("/message/queued", params={"query": message_id})).json()[
        "totalRecords"
    ] == 0
    assert (await api.get(f"/message/sent/{q(message_id)}")).status_code == 404


@pytest.mark.as2gw_emulator(send_delay=0.05, retry_interval=0.05)
async def test_stop_and_retry(
    api: httpx.AsyncClient,
    as2gw_gateway: Gateway,
    as2gw_emulator: EmulatorServer,
    clock: ManualClock,
) -> None:
    partner = as2gw_gateway.add_partner("Flaky", fail=True)
    r = await api.post("/message/RJ_Station/Flaky", headers={"Name": "a"}, content=b"a")
    message_id = _link_id(r, as2gw_emulator)
    r = await api.post(f"/message/queued/{q(message_id)}/stop")
    assert r.status_code == 200
    assert r.json() == {
        "message": f"Successfully stopped retrying AS2 message with ID {message_id}"
    }
    clock.advance(3600)
    # a stopped message stays queued and makes no attempts
    page = (await api.get("/message/queued", params={"query": message_id})).json()
    assert page["totalRecords"] == 1
    assert (await api.get("/message/failed")).json()["totalRecords"] == 0
    got = (await api.get(f"/message/queued/{q(message_id)}")).json()
    assert got["as2MessageId"] == message_id
    assert "deliveryStatus" not in got
    partner.fail = False  # the partner is back
    r = await api.post(f"/message/queued/{q(message_id)}/retry")
    assert r.status_code == 200
    assert r.json() == {
        "message": f"Successfully started retrying AS2 message with ID {message_id}"
    }

    assert (await api.get(f"/message/sent/{q(message_id)}")).status_code == 404
    clock.advance(0.06)  # send_delay after the retry
    assert (await api.get(f"/message/sent/{q(message_id)}")).status_code == 200
    for action in ("stop", "retry"):
        r = await api.post(f"/message/queued/{q(message_id)}/{action}")
        assert r.status_code == 404
        assert "message" in r.json()


@pytest.mark.as2gw_emulator(send_delay=60)
async def test_queued_query_matches_any_of_the_four(
    api: httpx.AsyncClient, as2gw_gateway: Gateway
) -> None:
    as2gw_gateway.add_station("Other_Station")
    as2gw_gateway.add_partner("Other_Partner")
    stopped = []
    for station, partner, subject in [
        ("RJ_Station", "RJ_Partner", "Invoice foo"),
        ("Other_Station", "RJ_Partner", None),
        ("RJ_Station", "Other_Partner", "Order"),
    ]:
        params = {"subject": subject} if subject else {}
        r = await api.post(
            f"/message/{station}/{partner}", params=params, headers={"Name": "a"}, content=b"a"
        )
        mid = r.headers["link"].rsplit("/", 1)[1]
        await api.post(f"/message/queued/{q(mid)}/stop")
        stopped.append(mid)

    async def ids(query: str) -> set[str]:
        page = (await api.get("/message/queued", params={"query": query})).json()
        return {m["as2MessageId"] for m in page["records"]}

    assert await ids("Other_Station") == {stopped[1]}
    assert await ids("Other_Partner") == {stopped[2]}
    assert await ids("foo") == {stopped[0]}
    assert await ids(stopped[2]) == {stopped[2]}
    assert await ids("RJ_Partner") == {stopped[0], stopped[1]}
    page = (await api.get("/message/queued")).json()
    assert page["totalRecords"] == 3
    assert "attachments" in page["records"][0]
    single = (await api.get(f"/message/queued/{q(stopped[0])}")).json()
    assert "attachments" not in single  # "attributes (such as attachments) may be missing"


async def test_oversized_chunked_upload_is_413(api: httpx.AsyncClient) -> None:
    async def body():  # type: ignore[no-untyped-def]  # no Content-Length: chunked
        for _ in range(11):
            yield b"\0" * (1024 * 1024)

    r = await api.post("/message/RJ_Station/RJ_Partner", headers={"Name": "big"}, content=body())
    assert r.status_code == 413
    assert "message" in r.json()


@pytest.mark.as2gw_emulator(send_delay=60)
async def test_processing_messages_are_left_out_of_the_queued_list(
    api: httpx.AsyncClient, as2gw_gateway: Gateway, as2gw_emulator: EmulatorServer
) -> None:
    r = await api.post("/message/RJ_Station/RJ_Partner", headers={"Name": "a"}, content=b"a")
    message_id = _link_id(r, as2gw_emulator)
    assert (await api.get("/message/queued")).json()["totalRecords"] == 1
    as2gw_gateway.processing_window = 120  # "actively being sent out at the moment"
    assert (await api.get("/message/queued")).json()["totalRecords"] == 0
    assert (await api.get(f"/message/queued/{q(message_id)}")).status_code == 200
    await api.post(f"/message/queued/{q(message_id)}/stop")  # stopped: not processing
    assert (await api.get("/message/queued")).json()["totalRecords"] == 1
