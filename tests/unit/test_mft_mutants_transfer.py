"""Tests that kill surviving mutants of `as2gw_async/mft/` (sending, messages, attachments,
mailbox; see docs/mutation.md).

Each test names the mutants it kills, so nobody deletes it as redundant. HTTP is mocked with
respx; `wait_for_delivery`'s schedule is replaced by one that counts rounds (no sleeps).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import respx

import as2gw_async as gw
from as2gw_async import mft
from as2gw_async.mailbox import WaitingItem
from as2gw_async.mft import sending

BASE = "https://api.mft.test"
STORE = "https://bucket.s3.test"
MID = "<1@mftgateway.com>"
Q = "%3C1%40mftgateway.com%3E"
MID2 = "<2@mftgateway.com>"
Q2 = "%3C2%40mftgateway.com%3E"
FAST = gw.RetryPolicy(max_retries=1, initial_delay=0.0, max_delay=0.0)

Session = tuple[mft.Session, respx.MockRouter]


@pytest.fixture
async def session() -> AsyncIterator[Session]:
    with respx.mock(assert_all_called=False) as router:
        router.post(f"{BASE}/authorize").respond(200, json={"apiToken": "tok", "refreshToken": "r"})
        async with mft.Session("u", "p", base_url=BASE, rate_limit=None, retry_policy=FAST) as s:
            yield s, router


def _query(route: respx.Route, index: int = -1) -> dict[str, str]:
    return dict(route.calls[index].request.url.params)


# -- send ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("station", "partner", "message"),
    [("", "P", "station must not be empty"), ("S", "", "partner must not be empty")],
)
async def test_send_names_the_empty_identifier(
    session: Session, station: str, partner: str, message: str
) -> None:
    # kills: send: check_id("station") -> None / "XXstationXX" / "STATION",
    #        check_id("partner") -> None / "XXpartnerXX" / "PARTNER"
    s, _ = session
    with pytest.raises(ValueError, match=f"^{message}$"):
        await s.send(station, partner, gw.Upload(b"x", name="a.txt"))


async def test_send_one_file_as_the_raw_body_with_its_type_and_length(session: Session) -> None:
    # kills: send: "Content-Type" -> "XXContent-TypeXX", "Content-Length" ->
    #        "XXContent-LengthXX" (raw body: httpx would send no type and a chunked body)
    s, router = session
    route = router.post(f"{BASE}/message/submit").respond(
        200, json={"messageIdentifier": MID, "message": "ok"}, headers={"Link": "L"}
    )
    upload = gw.Upload(b"<x/>", name="a.xml", content_type="application/xml")
    receipt = await s.send("S", "P", upload, subject="Sub")
    request = route.calls.last.request
    assert request.headers["Content-Type"] == "application/xml"
    assert request.headers["Content-Length"] == "4"
    assert "Transfer-Encoding" not in request.headers
    assert request.headers["Attachment-Name"] == "a.xml"
    assert request.headers["AS2-From"] == "S"
    assert request.headers["AS2-To"] == "P"
    assert request.headers["Subject"] == "Sub"
    assert dict(request.url.params) == {"service": "as2"}
    assert request.content == b"<x/>"
    assert receipt == mft.SendReceipt(message_id=MID, link="L", message="ok")


async def test_send_several_files_as_multipart_with_a_length(session: Session) -> None:
    # kills: send: multipart "Content-Length" -> "XXContent-LengthXX"
    s, router = session
    route = router.post(f"{BASE}/message/submit").respond(200, json={"messageIdentifier": MID})
    await s.send("S", "P", gw.Upload(b"aa", name="a.txt"), gw.Upload(b"bb", name="b.txt"))
    request = route.calls.last.request
    body = request.content
    assert request.headers["Content-Length"] == str(len(body))
    assert "Transfer-Encoding" not in request.headers
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert body.count(b'name="File"') == 2


async def test_send_spools_a_stream_and_removes_the_spool(session: Session) -> None:
    # kills: send: prepare_uploads(files, spooled -> None, LIMITS)
    s, router = session
    route = router.post(f"{BASE}/message/submit").respond(200, json={"messageIdentifier": MID})

    async def chunks() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b"cd"

    receipt = await s.send("S", "P", gw.Upload(chunks(), name="s.bin"))
    assert route.calls.last.request.content == b"abcd"
    assert route.calls.last.request.headers["Content-Length"] == "4"
    assert receipt.message_id == MID


CONSEQUENCE = "The message WAS submitted: do not send it again; look for it in s.queued or s.outbox"


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="not json"),
        httpx.Response(200, json=["a list"]),
        httpx.Response(200, json={"messageIdentifier": ""}),
        httpx.Response(200, json={"messageIdentifier": 12}),
        httpx.Response(200, json={"message": "queued"}),
    ],
)
async def test_a_receipt_without_identifier_says_the_message_was_sent(
    session: Session, answer: httpx.Response
) -> None:
    # kills: _receipt: consequence -> None / "XX...XX" / lower / upper, the message -> None,
    #        isinstance(data, dict) -> `or True` (a non-object answer),
    #        `not isinstance(...) or not message_id` -> `and` ("" and 12)
    s, router = session
    router.post(f"{BASE}/message/submit").mock(return_value=answer)
    with pytest.raises(gw.AS2GatewayError) as caught:
        await s.send("S", "P", gw.Upload(b"x", name="a.txt"))
    assert type(caught.value) is gw.AS2GatewayError
    assert str(caught.value) == (
        "the gateway accepted the message (HTTP 200) but its answer holds no message "
        f"identifier. {CONSEQUENCE}"
    )


@pytest.mark.parametrize("extra", [{}, {"message": None}, {"message": 3}])
async def test_a_receipt_without_text_has_an_empty_message(
    session: Session, extra: dict[str, Any]
) -> None:
    # kills: _receipt: isinstance(text, str) -> `or True`, "" -> "XXXX"
    s, router = session
    router.post(f"{BASE}/message/submit").respond(200, json={"as2MessageId": MID, **extra})
    receipt = await s.send("S", "P", gw.Upload(b"x", name="a.txt"))
    assert receipt == mft.SendReceipt(message_id=MID, link=None, message="")


# -- wait_for_delivery -----------------------------------------------------------------------


class _Rounds:
    """A PollSchedule that allows ``rounds`` looks, without waiting."""

    made: ClassVar[list[dict[str, Any]]] = []
    rounds: ClassVar[int] = 1

    def __init__(self, **kwargs: Any) -> None:
        _Rounds.made.append(kwargs)
        self._left = _Rounds.rounds - 1

    async def first(self) -> None:
        return None

    async def next(self) -> bool:
        if self._left <= 0:
            return False
        self._left -= 1
        return True


@pytest.fixture
def rounds(monkeypatch: pytest.MonkeyPatch) -> type[_Rounds]:
    _Rounds.made = []
    _Rounds.rounds = 1
    monkeypatch.setattr(sending, "PollSchedule", _Rounds)
    return _Rounds


def _message(status: str | None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"identifier": MID, **extra}
    if status is not None:
        body["msgStatus"] = status
    return body


def _listing(*ids: str) -> httpx.Response:
    return httpx.Response(200, json={"messages": list(ids)})


def _not_found() -> httpx.Response:
    return httpx.Response(404, json={"message": "Message not found"})


async def test_wait_names_an_empty_message_id(session: Session) -> None:
    # kills: wait_for_delivery: check_id("message_id") -> None / "XX...XX" / "MESSAGE_ID"
    s, _ = session
    with pytest.raises(ValueError, match=r"^message_id must not be empty$"):
        await s.wait_for_delivery("")


async def test_wait_passes_its_timings_to_the_schedule(
    session: Session, rounds: type[_Rounds]
) -> None:
    # kills: wait_for_delivery: initial_delay=initial_delay -> None
    s, router = session
    router.get(f"{BASE}/message/outbox/{Q}").respond(200, json=_message("Sent"))
    message = await s.wait_for_delivery(MID, timeout=7.0, poll_interval=0.5, initial_delay=0.25)
    assert message.identifier == MID
    assert rounds.made == [{"timeout": 7.0, "poll_interval": 0.5, "initial_delay": 0.25}]


async def test_wait_finds_a_queued_message_and_times_out_naming_it(
    session: Session, rounds: type[_Rounds]
) -> None:
    # kills: wait_for_delivery: message.msg_status `or True` (404), `message is None` -> `is not
    #        None`, _listed(None / session.queued, None / one argument), last_seen "queued" ->
    #        None / "XXqueuedXX" / "QUEUED", the timeout's text -> None, as2_message_id -> None;
    #        _listed: `in` -> `not in`, identifier -> None / dropped, page_length -> None /
    #        dropped / 11
    s, router = session
    outbox = router.get(f"{BASE}/message/outbox/{Q}").mock(return_value=_not_found())
    queued = router.get(f"{BASE}/message/outbox/queued").mock(return_value=_listing("<0@x>", MID))
    failed = router.get(f"{BASE}/message/outbox/failed").mock(return_value=_listing())
    with pytest.raises(gw.DeliveryTimeoutError) as caught:
        await s.wait_for_delivery(MID, timeout=0.5, poll_interval=1.0)
    assert str(caught.value) == f"message {MID} not delivered within 0.5s (last seen: queued)"
    assert caught.value.last_seen == "queued"
    assert caught.value.as2_message_id == MID
    assert outbox.call_count == 1
    assert failed.call_count == 0
    assert _query(queued) == {
        "service": "as2",
        "sortDir": "desc",
        "identifier": MID,
        "pageOffset": "0",
        "pageLength": "10",
    }


async def test_wait_for_a_message_never_seen(session: Session, rounds: type[_Rounds]) -> None:
    # kills: wait_for_delivery: last_seen = None -> "", where -> None / `and False` / `or
    #        True` / "XXnever...XX" / "NEVER ...", _listed(session.failed, None)
    #        (searched by its identifier), _listed: `in` -> `not in`
    s, router = session
    router.get(f"{BASE}/message/outbox/{Q}").mock(return_value=_not_found())
    router.get(f"{BASE}/message/outbox/queued").mock(return_value=_listing())
    failed = router.get(f"{BASE}/message/outbox/failed").mock(return_value=_listing("<9@x>"))
    with pytest.raises(gw.DeliveryTimeoutError) as caught:
        await s.wait_for_delivery(MID, timeout=2.0, poll_interval=1.0)
    assert str(caught.value) == f"message {MID} not delivered within 2s (never seen in the outbox)"
    assert caught.value.last_seen is None
    assert _query(failed)["identifier"] == MID
    assert _query(failed)["pageLength"] == "10"


@pytest.mark.parametrize(("status", "seen"), [("Queued", "queued"), (None, "outbox")])
async def test_wait_names_the_outbox_status_last_seen(
    session: Session, rounds: type[_Rounds], status: str | None, seen: str
) -> None:
    # kills: wait_for_delivery: str(status or "outbox") -> "XXoutboxXX" / "OUTBOX"
    s, router = session
    router.get(f"{BASE}/message/outbox/{Q}").respond(200, json=_message(status))
    with pytest.raises(gw.DeliveryTimeoutError) as caught:
        await s.wait_for_delivery(MID, timeout=1.0, poll_interval=1.0)
    assert caught.value.last_seen == seen


async def test_a_failure_listed_once_then_timeout_says_failed(
    session: Session, rounds: type[_Rounds]
) -> None:
    # kills: wait_for_delivery: last_seen = "failed" -> None / "XXfailedXX" / "FAILED",
    #        failed = True -> None / False, confirmations = 0 -> 1 initially,
    #        confirmations += 1 -> += 2
    s, router = session
    router.get(f"{BASE}/message/outbox/{Q}").mock(return_value=_not_found())
    router.get(f"{BASE}/message/outbox/queued").mock(return_value=_listing())
    router.get(f"{BASE}/message/outbox/failed").mock(return_value=_listing(MID))
    with pytest.raises(gw.DeliveryTimeoutError) as caught:
        await s.wait_for_delivery(MID, timeout=1.0, poll_interval=1.0)
    assert caught.value.last_seen == "failed"
    assert str(caught.value) == f"message {MID} not delivered within 1s (last seen: failed)"


async def test_a_failure_listed_twice_gives_up_without_a_reason(
    session: Session, rounds: type[_Rounds]
) -> None:
    # kills: wait_for_delivery: `>=` -> `>` (a third round), _listed(None / ... for failed),
    #        failed = True -> None / False, reason `or True` (None.failure_reason),
    #        `is not None` -> `is None`, the text -> None, `if reason` -> `or True`
    #        (": None"), "" -> "XXXX"
    s, router = session
    rounds.rounds = 5
    outbox = router.get(f"{BASE}/message/outbox/{Q}").mock(return_value=_not_found())
    router.get(f"{BASE}/message/outbox/queued").mock(return_value=_listing())
    router.get(f"{BASE}/message/outbox/failed").mock(return_value=_listing(MID))
    with pytest.raises(gw.DeliveryFailedError) as caught:
        await s.wait_for_delivery(MID, timeout=1.0, poll_interval=1.0)
    assert str(caught.value) == f"the gateway gave up sending message {MID}"
    assert caught.value.as2_message_id == MID
    assert caught.value.attempts == ()
    assert outbox.call_count == 2


async def test_a_failed_status_gives_up_with_its_reason(
    session: Session, rounds: type[_Rounds]
) -> None:
    # kills: wait_for_delivery: reason -> None, `(message is not None) and False`,
    #        `if reason` -> `and False`
    s, router = session
    rounds.rounds = 5
    outbox = router.get(f"{BASE}/message/outbox/{Q}").respond(
        200, json=_message("Failed", failureReason="certificate expired")
    )
    with pytest.raises(gw.DeliveryFailedError) as caught:
        await s.wait_for_delivery(MID, timeout=1.0, poll_interval=1.0)
    assert str(caught.value) == f"the gateway gave up sending message {MID}: certificate expired"
    assert outbox.call_count == 2


async def test_a_failure_not_seen_again_starts_the_count_again(
    session: Session, rounds: type[_Rounds]
) -> None:
    # kills: wait_for_delivery: confirmations = 0 -> None / 1 after a round without failure
    s, router = session
    rounds.rounds = 9
    failed_once = httpx.Response(200, json=_message("Failed"))
    outbox = router.get(f"{BASE}/message/outbox/{Q}").mock(
        side_effect=[
            failed_once,
            httpx.Response(200, json=_message("Queued")),
            httpx.Response(200, json=_message("Failed")),
            httpx.Response(200, json=_message("Failed")),
        ]
    )
    with pytest.raises(gw.DeliveryFailedError):
        await s.wait_for_delivery(MID, timeout=1.0, poll_interval=1.0)
    assert outbox.call_count == 4


async def test_wait_returns_the_sent_message(session: Session, rounds: type[_Rounds]) -> None:
    # kills: wait_for_delivery: `message is None` -> `is not None` (a message in the outbox)
    s, router = session
    rounds.rounds = 5
    router.get(f"{BASE}/message/outbox/{Q}").mock(
        side_effect=[_not_found(), httpx.Response(200, json=_message("Sent"))]
    )
    router.get(f"{BASE}/message/outbox/queued").mock(return_value=_listing(MID))
    message = await s.wait_for_delivery(MID, timeout=1.0, poll_interval=1.0)
    assert message.msg_status is mft.MessageStatus.SENT


# -- folders ---------------------------------------------------------------------------------


async def test_list_ids_defaults_and_subject(session: Session) -> None:
    # kills: Folder.list_ids: page_offset = 0 -> 1, subject=subject -> None
    s, router = session
    route = router.get(f"{BASE}/message/outbox").mock(return_value=_listing(MID))
    assert await s.outbox.list_ids(subject="Inv") == [MID]
    assert _query(route) == {
        "service": "as2",
        "sortDir": "desc",
        "subject": "Inv",
        "pageOffset": "0",
        "pageLength": "100",
    }


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"partner": "P", "station": "S"}, {"partnerIdentifier": "P", "stationIdentifier": "S"}),
        ({"identifier": MID}, {"identifier": MID}),
        ({"subject": "Inv"}, {"subject": "Inv"}),
    ],
)
async def test_iter_passes_every_filter(
    session: Session, filters: dict[str, str], expected: dict[str, str]
) -> None:
    # kills: Folder.iter: partner / station / identifier / subject -> None or dropped,
    #        sort_dir / page_length / fetch_all dropped or None
    s, router = session
    route = router.get(f"{BASE}/message/inbox").mock(return_value=_listing(MID))
    router.get(f"{BASE}/message/inbox/{Q}").respond(200, json=_message("Received"))
    got = [
        m.identifier
        async for m in s.inbox.iter(sort_dir="asc", page_length=5, fetch_all=True, **filters)
    ]
    assert got == [MID]
    assert _query(route, 0) == {
        "service": "as2",
        "sortDir": "asc",
        "fetchAll": "true",
        **expected,
        "pageOffset": "0",
        "pageLength": "5",
    }


async def test_iter_checks_its_concurrency(session: Session) -> None:
    # kills: Folder.iter: concurrency=concurrency dropped
    s, _ = session
    with pytest.raises(ValueError, match="concurrency must be at least 1, not 0"):
        s.outbox.iter(concurrency=0)


async def test_delete_returns_the_id_the_gateway_deleted_after_a_retry(session: Session) -> None:
    # kills: Folder.delete: idempotent=True -> None / False / dropped (a 503 is retried),
    #        data -> None, deleted -> None, `and False`, "deleted" -> None / "XX..XX" /
    #        "DELETED", `isinstance(deleted, str)` -> `and False`
    s, router = session
    route = router.delete(f"{BASE}/message/outbox/{Q}").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json={"deleted": "<canonical>"})]
    )
    assert await s.outbox.delete(MID) == "<canonical>"
    assert route.call_count == 2


@pytest.mark.parametrize("answer", [{}, ["x"], {"deleted": 5}])
async def test_delete_without_an_id_in_the_answer_returns_the_one_asked(
    session: Session, answer: Any
) -> None:
    # kills: Folder.delete: isinstance(data, dict) -> `or True` (a list answer),
    #        isinstance(deleted, str) -> `or True`
    s, router = session
    router.delete(f"{BASE}/message/inbox/{Q}").respond(200, json=answer)
    assert await s.inbox.delete(MID) == MID


async def test_delete_many_names_an_empty_id(session: Session) -> None:
    # kills: Folder.delete_many: check_id("message_id") -> None / "XX...XX" / "MESSAGE_ID"
    s, _ = session
    with pytest.raises(ValueError, match=r"^message_id must not be empty$"):
        await s.inbox.delete_many([MID, ""])


async def test_delete_many_goes_on_after_a_chunk_not_found_and_retries(session: Session) -> None:
    # kills: Folder.delete_many: `continue` -> `break`, idempotent=True -> None / False /
    #        dropped (a 503 is retried)
    s, router = session
    ids = [f"<{i}@x>" for i in range(101)]
    route = router.post(f"{BASE}/message/inbox/delete").mock(
        side_effect=[
            httpx.Response(404, json={"message": "Unable to find messages"}),
            httpx.Response(503),
            httpx.Response(200, json={"deleted": ["<100@x>", 7]}),
        ]
    )
    assert await s.inbox.delete_many(ids) == ["<100@x>"]
    assert route.call_count == 3
    bodies = [json.loads(c.request.content) for c in route.calls]
    assert bodies[0] == {"messageIdentifiers": ids[:100]}
    assert bodies[2] == {"messageIdentifiers": ["<100@x>"]}


async def test_delete_many_ignores_an_answer_that_is_not_an_object(session: Session) -> None:
    # kills: Folder.delete_many: isinstance(data, dict) -> `or True`
    s, router = session
    router.post(f"{BASE}/message/outbox/delete").respond(200, json=["<1@x>"])
    assert await s.outbox.delete_many(["<1@x>"]) == []


async def test_mark_unread_is_retried(session: Session) -> None:
    # kills: Inbox.mark_unread: idempotent=True -> None / False / dropped
    s, router = session
    route = router.post(f"{BASE}/message/inbox/{Q}/markUnread").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json={})]
    )
    await s.inbox.mark_unread(MID)
    assert route.call_count == 2


# -- MDN links and downloads -----------------------------------------------------------------


@pytest.mark.parametrize("answer", [["a list"], {"url": ""}, {"url": 3}, {}])
async def test_an_mdn_answer_without_a_link_is_malformed(session: Session, answer: Any) -> None:
    # kills: mdn_link: isinstance(data, dict) -> `or True`, `or not url` -> `and`, the
    #        message -> None / dropped / "XX..XX" / lower / upper, endpoint -> None / dropped,
    #        response -> None / dropped
    s, router = session
    router.get(f"{BASE}/message/outbox/{Q}/mdn").respond(200, json=answer)
    with pytest.raises(gw.MalformedResponseError) as caught:
        await s.outbox.mdn_link(MID)
    assert caught.value.message == "the MDN answer holds no link"
    assert caught.value.endpoint == "GET /message/outbox/{id}/mdn"
    assert caught.value.response is not None
    assert caught.value.response.json() == answer


async def test_download_mdn_refreshes_an_expired_link(session: Session, tmp_path: Path) -> None:
    # kills: download_mdn: name -> None, default_name -> None, refresh -> None / `lambda:
    #        None` / mdn_link(None), name=path.name -> None, progress -> None / dropped
    s, router = session
    mdn = router.get(f"{BASE}/message/outbox/{Q}/mdn").mock(
        side_effect=[
            httpx.Response(200, json={"url": f"{STORE}/m?sig=1"}),
            httpx.Response(200, json={"url": f"{STORE}/m?sig=2"}),
        ]
    )
    router.get(f"{STORE}/m", params={"sig": "1"}).respond(403, text="<Error>expired</Error>")
    router.get(f"{STORE}/m", params={"sig": "2"}).respond(200, content=b"MDN-BODY")
    seen: list[tuple[int, int | None]] = []
    f = await s.outbox.download_mdn(MID, tmp_path, progress=lambda n, t: seen.append((n, t)))
    assert f.path == tmp_path / "1@mftgateway.com.mdn"
    assert f.name == "1@mftgateway.com.mdn"
    assert f.path.read_bytes() == b"MDN-BODY"
    assert mdn.call_count == 2
    assert seen
    assert seen[-1][0] == 8


async def test_download_mdn_refuses_an_existing_file_unless_told(
    session: Session, tmp_path: Path
) -> None:
    # kills: download_mdn: overwrite default False -> True, overwrite=overwrite -> None /
    #        dropped
    s, router = session
    router.get(f"{BASE}/message/outbox/{Q}/mdn").respond(200, json={"url": f"{STORE}/m"})
    router.get(f"{STORE}/m").respond(200, content=b"NEW")
    target = tmp_path / "r.mdn"
    target.write_bytes(b"OLD")
    with pytest.raises(FileExistsError):
        await s.outbox.download_mdn(MID, target)
    assert target.read_bytes() == b"OLD"
    f = await s.outbox.download_mdn(MID, target, overwrite=True)
    assert f.path.read_bytes() == b"NEW"


async def test_a_store_that_keeps_answering_another_range_gives_up(
    session: Session, tmp_path: Path
) -> None:
    # kills: _Restart.__init__: message -> None / dropped, retryable=False -> True /
    #        dropped (the session would retry each one itself: twice the requests)
    s, router = session
    router.get(f"{BASE}/message/inbox/{Q}/attachments").respond(
        200, json={"attachments": [{"name": "a.bin", "url": f"{STORE}/a"}]}
    )
    store = router.get(f"{STORE}/a").respond(
        206, headers={"Content-Range": "bytes 10-19/100"}, content=b"0123456789"
    )
    with pytest.raises(gw.IntegrityError) as caught:
        await s.inbox.download_attachments(MID, tmp_path)
    assert str(caught.value) == "the object changed between two links; downloading it again"
    assert store.call_count == 6  # MAX_RESUMES + 1, each a request without Range
    assert all("Range" not in c.request.headers for c in store.calls)
    assert list(tmp_path.iterdir()) == []


# -- mailbox ---------------------------------------------------------------------------------


def _attachments(router: respx.MockRouter, q: str, name: str, body: bytes) -> None:
    url = f"{STORE}/{name}"
    router.get(f"{BASE}/message/inbox/{q}/attachments").respond(
        200, json={"attachments": [{"name": name, "url": url}]}
    )
    router.get(url).respond(200, content=body)


async def test_fetch_removes_a_failed_message_and_records_why(
    session: Session, tmp_path: Path
) -> None:
    # kills: MftMailbox.fetch: run_sync(_remove_tree -> None / directory -> None / one
    #        argument), `len(items) == 1` -> `!= 1` / `== 2`, errors[id] -> None / str(None),
    #        errors dropped from the result
    s, router = session
    _attachments(router, Q, "big.bin", b"x" * 50)
    _attachments(router, Q2, "small.bin", b"y" * 5)
    mailbox = s.mailbox()
    result = await mailbox.fetch(
        [WaitingItem(id=MID), WaitingItem(id=MID2)], tmp_path, max_total_size=10
    )
    assert result.errors == {MID: f"message {MID} holds 50 bytes, more than the 10 allowed"}
    assert [f.name for f in result.files[MID2]] == ["small.bin"]
    assert not (tmp_path / "1@mftgateway.com").exists()
    assert (tmp_path / "2@mftgateway.com" / "small.bin").read_bytes() == b"y" * 5


async def test_fetch_of_one_message_raises_its_own_error(session: Session, tmp_path: Path) -> None:
    # kills: MftMailbox.fetch: `len(items) == 1` -> `!= 1` / `== 2`; and the error is the
    # gateway's own, not an ExceptionGroup (the consumer catches AS2GatewayError / OSError)
    s, router = session
    _attachments(router, Q, "big.bin", b"x" * 50)
    with pytest.raises(gw.AS2GatewayError) as caught:
        await s.mailbox().fetch([WaitingItem(id=MID)], tmp_path, max_total_size=10)
    assert str(caught.value) == f"message {MID} holds 50 bytes, more than the 10 allowed"
    assert list(tmp_path.iterdir()) == []


async def test_the_consumer_skips_a_single_message_too_big(
    session: Session, tmp_path: Path
) -> None:
    # A chunk of one message that fails is skipped for the pass, not the end of the drain.
    s, router = session
    router.get(f"{BASE}/message/inbox").mock(side_effect=[_listing(MID), _listing()])
    router.get(f"{BASE}/message/inbox/{Q}").respond(200, json=_message("Received"))
    _attachments(router, Q, "big.bin", b"x" * 50)
    async with gw.InboxConsumer(s, tmp_path / "in", max_total_size=10) as consumer:
        assert [d async for d in consumer] == []
    assert consumer.stats.skipped == 1
    assert consumer.skipped == {MID: f"message {MID} holds 50 bytes, more than the 10 allowed"}


async def test_fetch_survives_a_message_whose_directory_was_never_made(
    session: Session, tmp_path: Path
) -> None:
    # kills: _remove_tree: rmtree(None) / no path / ignore_errors -> None / False / dropped
    s, router = session
    router.get(f"{BASE}/message/inbox/{Q}/attachments").respond(404, json={"message": "gone"})
    _attachments(router, Q2, "small.bin", b"y")
    result = await s.mailbox().fetch(
        [WaitingItem(id=MID), WaitingItem(id=MID2)], tmp_path, max_total_size=10
    )
    assert list(result.errors) == [MID]
    assert list(result.files) == [MID2]


async def test_fetch_with_the_mdn(session: Session, tmp_path: Path) -> None:
    # kills: MftMailbox._fetch_one: got.append(download_mdn(...)) -> append(None)
    s, router = session
    _attachments(router, Q, "a.bin", b"abc")
    router.get(f"{BASE}/message/inbox/{Q}/mdn").respond(200, json={"url": f"{STORE}/mdn"})
    router.get(f"{STORE}/mdn").respond(200, content=b"MDN")
    result = await s.mailbox(include_mdn=True).fetch(
        [WaitingItem(id=MID)], tmp_path, max_total_size=6
    )
    assert [(f.name, f.size) for f in result.files[MID]] == [
        ("a.bin", 3),
        ("1@mftgateway.com.mdn", 3),
    ]
    assert result.errors == {}


# -- second batch: the rest of the run's survivors -------------------------------------------


async def test_send_names_a_subject_that_is_not_text(session: Session) -> None:
    # kills: send: check_text("subject") -> None / "XXsubjectXX" / "SUBJECT"
    s, _ = session
    with pytest.raises(TypeError, match=r"^subject must be a str, not int$"):
        await s.send("S", "P", gw.Upload(b"x", name="a.txt"), subject=5)  # type: ignore[arg-type]


@pytest.mark.parametrize("answer", [["a list"], {"attachments": "x"}, {}])
async def test_an_attachments_answer_without_a_list_is_malformed(
    session: Session, answer: Any
) -> None:
    # kills: attachment_links: isinstance(data, dict) -> `or True`, the message -> None /
    #        dropped, endpoint -> None, response -> None
    s, router = session
    router.get(f"{BASE}/message/inbox/{Q}/attachments").respond(200, json=answer)
    with pytest.raises(gw.MalformedResponseError) as caught:
        await s.inbox.attachment_links(MID)
    assert caught.value.message == "the attachments answer holds no list of links"
    assert caught.value.endpoint == "GET /message/inbox/{id}/attachments"
    assert caught.value.response is not None
    assert caught.value.response.json() == answer


BODY = b"0123456789" * 1000
NEW = b"abcdefghij" * 1000


def _broken_then_refused(router: respx.MockRouter, etag: str | None = None) -> None:
    """The link list (sig=1, then sig=2) and sig=1 breaking off after 4000 bytes, then 403."""
    router.get(f"{BASE}/message/inbox/{Q}/attachments").mock(
        side_effect=[
            httpx.Response(200, json={"attachments": [{"name": "a.bin", "url": u}]})
            for u in (f"{STORE}/a?sig=1", f"{STORE}/a?sig=2")
        ]
    )
    headers = {"Content-Length": str(len(BODY))}
    if etag:
        headers["ETag"] = etag
    short = httpx.Response(200, headers=headers, content=BODY[:4000])
    router.get(f"{STORE}/a", params={"sig": "1"}).mock(
        side_effect=[short, httpx.Response(403, text="<Error>expired</Error>")]
    )


async def test_a_206_without_content_range_is_refused(session: Session, tmp_path: Path) -> None:
    # kills: _Resume.consume: get("content-range", "") -> default None / dropped (None.strip),
    #        the message -> None / "XX..XX" / lower / upper
    s, router = session
    router.get(f"{BASE}/message/inbox/{Q}/attachments").respond(
        200, json={"attachments": [{"name": "a.bin", "url": f"{STORE}/a"}]}
    )
    router.get(f"{STORE}/a").respond(206, content=b"0123")
    with pytest.raises(gw.IntegrityError) as caught:
        await s.inbox.download_attachments(MID, tmp_path)
    assert str(caught.value) == "a 206 answer without a readable Content-Range"
    assert list(tmp_path.iterdir()) == []


async def test_a_resumed_range_of_unknown_total_is_held_to_the_first_length(
    session: Session, tmp_path: Path
) -> None:
    # kills: _Resume.consume: `== "*"` -> `and False` / "XX*XX" (int("*")), self.total ->
    #        None / `or True` (the 200's length forgotten): a range that ends short of it
    s, router = session
    _broken_then_refused(router)
    router.get(f"{STORE}/a", params={"sig": "2"}).respond(
        206, headers={"Content-Range": "bytes 4000-7999/*"}, content=BODY[4000:8000]
    )
    with pytest.raises(gw.IntegrityError):
        await s.inbox.download_attachments(MID, tmp_path)
    assert list(tmp_path.iterdir()) == []


async def test_a_resumed_range_is_held_to_its_own_total(session: Session, tmp_path: Path) -> None:
    # kills: _Resume.consume: total from Content-Range -> None / `or True` / `!= "*"`
    s, router = session
    _broken_then_refused(router)
    router.get(f"{STORE}/a", params={"sig": "2"}).respond(
        206, headers={"Content-Range": "bytes 4000-9999/20000"}, content=BODY[4000:]
    )
    with pytest.raises(gw.IntegrityError):
        await s.inbox.download_attachments(MID, tmp_path)
    assert list(tmp_path.iterdir()) == []


async def test_a_resumed_range_of_unknown_total_completes(session: Session, tmp_path: Path) -> None:
    # kills: _Resume.consume: `== "*"` -> `and False` / "XX*XX" (int("*") raises)
    s, router = session
    _broken_then_refused(router)
    router.get(f"{STORE}/a", params={"sig": "2"}).respond(
        206, headers={"Content-Range": "bytes 4000-9999/*"}, content=BODY[4000:]
    )
    [f] = await s.inbox.download_attachments(MID, tmp_path)
    assert f.path.read_bytes() == BODY


async def test_a_range_of_a_changed_object_restarts_from_zero(
    session: Session, tmp_path: Path
) -> None:
    # kills: _Resume.consume: etag -> None / "XXetagXX", changed -> None / bool(None),
    #        `changed or offset > written` -> `and`, truncate(0) -> None / 1
    s, router = session
    _broken_then_refused(router, etag='"e1"')
    fresh = router.get(f"{STORE}/a", params={"sig": "2"}).mock(
        side_effect=[
            httpx.Response(
                206,
                headers={"Content-Range": f"bytes 4000-9999/{len(NEW)}", "ETag": '"e2"'},
                content=NEW[4000:],
            ),
            httpx.Response(200, headers={"ETag": '"e2"'}, content=NEW),
        ]
    )
    [f] = await s.inbox.download_attachments(MID, tmp_path)
    assert f.path.read_bytes() == NEW
    assert fresh.call_count == 2
    assert fresh.calls[0].request.headers["Range"] == "bytes=4000-"
    assert fresh.calls[0].request.headers["If-Range"] == '"e1"'
    assert "Range" not in fresh.calls[1].request.headers
    assert "If-Range" not in fresh.calls[1].request.headers


async def test_a_download_reports_its_type_and_total(session: Session, tmp_path: Path) -> None:
    # kills: _Resume.consume: content-length -> None / "XX..XX", total -> None / `and False`
    #        / `length is None and`, self.total -> None / `and False` / `total is None`,
    #        file.expected_size -> None, content_type -> None / `and` / "XXcontent-typeXX"
    s, router = session
    router.get(f"{BASE}/message/outbox/{Q}/mdn").respond(200, json={"url": f"{STORE}/m"})
    router.get(f"{STORE}/m").respond(
        200, headers={"Content-Type": "message/disposition-notification"}, content=b"MDN-BODY"
    )
    seen: list[tuple[int, int | None]] = []
    f = await s.outbox.download_mdn(MID, tmp_path, progress=lambda n, t: seen.append((n, t)))
    assert f.content_type == "message/disposition-notification"
    assert f.size == 8
    assert seen[-1] == (8, 8)


async def test_a_download_without_a_length_has_no_total(session: Session, tmp_path: Path) -> None:
    # kills: _Resume.consume: `length is not None and ...` -> `or True` (int(None)), `or`
    #        (None.strip)
    s, router = session
    router.get(f"{BASE}/message/outbox/{Q}/mdn").respond(200, json={"url": f"{STORE}/m"})
    router.get(f"{STORE}/m").mock(
        return_value=httpx.Response(200, stream=httpx.ByteStream(b"MDN-BODY"))
    )
    seen: list[tuple[int, int | None]] = []
    f = await s.outbox.download_mdn(MID, tmp_path, progress=lambda n, t: seen.append((n, t)))
    assert f.path.read_bytes() == b"MDN-BODY"
    assert seen[-1] == (8, None)
    assert f.content_type is None


async def test_waiting_lists_unread_with_the_station_filter(session: Session) -> None:
    # kills: MftMailbox.__init__: _station -> None; waiting: station -> None / dropped,
    #        fetch_all=False -> True
    s, router = session
    listing = router.get(f"{BASE}/message/inbox").mock(side_effect=[_listing(MID), _listing()])
    router.get(f"{BASE}/message/inbox/{Q}").respond(200, json=_message("Received", subject="x"))
    items = [i async for i in s.mailbox(station="S").waiting()]
    assert [(i.id, i.metadata["subject"]) for i in items] == [(MID, "x")]
    assert _query(listing, 0) == {
        "service": "as2",
        "sortDir": "desc",
        "fetchAll": "false",
        "stationIdentifier": "S",
        "pageOffset": "0",
        "pageLength": "100",
    }


async def test_acknowledge_marks_each_once_in_the_order_given(session: Session) -> None:
    # kills: MftMailbox.acknowledge: mark_as_read=True -> None (the gateway's default is not
    #        sent), range(0, len(ids), FETCH_IDS) -> range(0, FETCH_IDS) / step dropped,
    #        key=order.__getitem__ -> None / dropped
    s, router = session
    ids = [f"<{i:02d}@x>" for i in range(19, -1, -1)]  # 20 ids, given in descending order
    gone = router.get(f"{BASE}/message/inbox/%3C07%40x%3E").respond(404, json={"message": "no"})
    route = router.get(url__regex=rf"^{BASE}/message/inbox/%3C\d\d%40x%3E\?").respond(
        200, json={"identifier": "<x>"}
    )
    done = await s.mailbox().acknowledge(ids)
    assert done == [i for i in ids if i != "<07@x>"]
    assert route.call_count + gone.call_count == 20
    assert {c.request.url.params["markAsRead"] for c in route.calls} == {"true"}


async def test_restore_keeps_the_metadata_as_journaled(session: Session) -> None:
    # kills: MftMailbox.restore: raw=dict(metadata) -> None / dropped
    s, _ = session
    metadata = {"as2MessageId": MID, "msgStatus": "Received", "extra": 1}
    message = s.mailbox().restore(metadata)
    assert message.identifier == MID
    assert message.raw == metadata


async def test_usage_counts_requests_and_retries(session: Session) -> None:
    # kills: MftMailbox.usage: requests / retries dropped
    s, router = session
    router.post(f"{BASE}/message/inbox/{Q}/markUnread").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json={})]
    )
    await s.inbox.mark_unread(MID)
    usage = s.mailbox().usage()
    assert usage.requests == s.stats.requests
    assert usage.requests >= 2
    assert usage.retries == s.stats.retries == 1


async def test_iter_messages_skips_a_deleted_one(session: Session) -> None:
    # kills: Folder._get_many: suppress(NotFoundError) -> suppress(None)
    s, router = session
    router.get(f"{BASE}/message/outbox/{Q}").mock(return_value=_not_found())
    router.get(f"{BASE}/message/outbox/{Q2}").respond(200, json={"identifier": MID2})
    got = [m.identifier async for m in s.outbox.iter_messages([MID, MID2])]
    assert got == [MID2]


async def test_iter_messages_one_at_a_time_fetches_none_ahead(session: Session) -> None:
    # kills: Folder._iter_messages: `>= concurrency` -> `>`; iter_messages: `< 1` -> `<= 1` /
    #        `< 2`
    s, router = session
    first = router.get(f"{BASE}/message/outbox/{Q}").respond(200, json={"identifier": MID})
    second = router.get(f"{BASE}/message/outbox/{Q2}").respond(200, json={"identifier": MID2})
    calls = []
    async for m in s.outbox.iter_messages([MID, MID2], concurrency=1):
        calls.append((m.identifier, first.call_count, second.call_count))
    assert calls == [(MID, 1, 0), (MID2, 1, 1)]
