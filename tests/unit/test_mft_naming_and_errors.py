"""mft.Session with respx: both namings accepted everywhere, and every error mapping."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx

import as2gw_async as gw
from as2gw_async import mft
from as2gw_async.mft.naming import MESSAGE_FIELDS, normalise, normalise_message

BASE = "https://api.mft.test"
USER = "user@example.com"
PASSWORD = "pa55-word-SECRET"
MID = "<16037890537199092@mftgateway.com>"
Q = "%3C16037890537199092%40mftgateway.com%3E"
FAST = gw.RetryPolicy(max_retries=2, initial_delay=0.0, max_delay=0.0)


def jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256'})}.{part(claims)}.c2lnbmF0dXJl"


TOKEN = jwt({"sub": USER, "exp": 4_102_444_800})

CURRENT_MESSAGE = {
    "id": 7,
    "identifier": MID,
    "incoming": True,
    "msgStatus": "Received",
    "senderIdentifier": "Partner",
    "receiverIdentifier": "Station",
    "subject": "s",
    "attachmentPaths": ["a/b"],
    "timestamp": 1_600_000_000_000,
    "apiFetched": False,
    "newFieldFromTheFuture": {"x": 1},
    "mdnMessage": {"mdnId": "m", "identifier": MID, "status": "Sent"},
}
LEGACY_MESSAGE = {
    **{k: v for k, v in CURRENT_MESSAGE.items() if k not in ("identifier",)},
    "as2MessageId": MID,
    "senderAS2Id": "Partner",
    "receiverAS2Id": "Station",
    "mdnMessage": {"mdnId": "m", "as2MessageId": MID, "status": "Sent"},
}
del LEGACY_MESSAGE["senderIdentifier"], LEGACY_MESSAGE["receiverIdentifier"]


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
async def session(router: respx.MockRouter) -> AsyncIterator[mft.Session]:
    router.post("/authorize").respond(200, json={"apiToken": TOKEN, "refreshToken": "r-1"})
    async with mft.Session(USER, PASSWORD, base_url=BASE, rate_limit=None, retry_policy=FAST) as s:
        yield s


# -- naming ------------------------------------------------------------------------------


def test_normalise_renames_legacy_keys_and_a_current_key_wins() -> None:
    assert normalise({"as2MessageId": "a", "x": 1}, MESSAGE_FIELDS) == {"identifier": "a", "x": 1}
    both = {"as2MessageId": "old", "identifier": "new"}
    assert normalise(both, MESSAGE_FIELDS) == {"identifier": "new"}
    assert normalise_message(LEGACY_MESSAGE)["mdnMessage"]["identifier"] == MID


@pytest.mark.parametrize("body", [CURRENT_MESSAGE, LEGACY_MESSAGE], ids=["current", "legacy"])
async def test_a_message_in_either_naming(
    router: respx.MockRouter, session: mft.Session, body: dict[str, Any]
) -> None:
    route = router.get(f"/message/inbox/{Q}").respond(200, json=body)
    m = await session.inbox.get(MID)
    assert route.calls.last.request.url.params["markAsRead"] == "false"
    assert route.calls.last.request.headers["Authorization"] == TOKEN  # bare, no Bearer
    assert (m.identifier, m.sender_identifier, m.receiver_identifier) == (MID, "Partner", "Station")
    assert m.mdn_message is not None
    assert m.mdn_message.identifier == MID
    assert m.msg_status is mft.MessageStatus.RECEIVED
    assert m.raw["newFieldFromTheFuture"] == {"x": 1}  # unknown fields kept
    assert m.timestamp_at is not None
    assert m.timestamp_at.year == 2020


async def test_unknown_status_is_kept_as_text(
    router: respx.MockRouter, session: mft.Session
) -> None:
    router.get(f"/message/outbox/{Q}").respond(
        200, json={**CURRENT_MESSAGE, "msgStatus": "Bouncing"}
    )
    assert (await session.outbox.get(MID)).msg_status == "Bouncing"


@pytest.mark.parametrize(
    "answer", [{"apiToken": TOKEN, "refreshToken": "r"}, {"api_token": TOKEN, "refresh_token": "r"}]
)
async def test_a_token_pair_in_either_naming(
    router: respx.MockRouter, answer: dict[str, str]
) -> None:
    router.post("/authorize").respond(200, json=answer)
    async with mft.Session(USER, PASSWORD, base_url=BASE, rate_limit=None) as s:
        assert await s.login() == 4_102_444_800  # the JWT's exp
        assert s._tokens.token is not None
        assert s._tokens.token.refresh_token == "r"


@pytest.mark.parametrize("key", ["messageIdentifier", "as2MessageId"])
async def test_a_submit_answer_in_either_naming(
    router: respx.MockRouter, session: mft.Session, key: str
) -> None:
    route = router.post("/message/submit").respond(
        202, json={"message": "Message queued successfully", key: MID}, headers={"Link": "L"}
    )
    r = await session.send("St", "Pa", mft.Upload(b"x", name="a.txt"), subject="Hi")
    assert (r.message_id, r.link) == (MID, "L")
    sent = route.calls.last.request
    assert sent.url.params["service"] == "as2"
    assert (sent.headers["AS2-From"], sent.headers["AS2-To"]) == ("St", "Pa")
    assert (sent.headers["Subject"], sent.headers["Attachment-Name"]) == ("Hi", "a.txt")


async def test_current_names_are_sent(router: respx.MockRouter, session: mft.Session) -> None:
    lists = router.get("/message/outbox/failed").respond(200, json={"messages": []})
    await session.failed.list_ids(identifier=MID)
    await session.failed.list_ids(partner="P", station="S")
    params = [dict(c.request.url.params) for c in lists.calls]
    assert params[0]["identifier"] == MID
    assert "as2MessageId" not in params[0]
    assert (params[1]["partnerIdentifier"], params[1]["stationIdentifier"]) == ("P", "S")
    deletes = router.post("/message/inbox/delete").respond(200, json={"deleted": [MID]})
    assert await session.inbox.delete_many([MID]) == [MID]
    assert json.loads(deletes.calls.last.request.content) == {"messageIdentifiers": [MID]}


def test_token_lifetime_readings() -> None:
    from as2gw_async.mft.session import _expiry

    now = time.time()
    assert 890 < _expiry(TOKEN, 900) - now < 910  # apiTokenExpiryIn wins
    assert _expiry(TOKEN, None) == 4_102_444_800  # else the JWT exp
    assert 3590 < _expiry("opaque-token", None) - now < 3610  # else one hour
    assert 3590 < _expiry(jwt({"exp": "soon"}), "junk") - now < 3610


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, gw.BadRequestError),
        (401, gw.AuthenticationError),
        (403, gw.PermissionDeniedError),
        (404, gw.NotFoundError),
        (413, gw.PayloadTooLargeError),
        (422, gw.UnprocessableEntityError),
        (429, gw.RateLimitError),
        (500, gw.InternalServerError),
        (503, gw.InternalServerError),
        (418, gw.APIStatusError),
    ],
)
async def test_every_status_maps_to_the_shared_class(
    router: respx.MockRouter, session: mft.Session, status: int, cls: type[gw.APIStatusError]
) -> None:
    router.get("/message/inbox").respond(status, json={"message": f"no {status}"})
    with pytest.raises(cls) as info:
        await session.inbox.list_ids()
    assert type(info.value) is cls
    assert info.value.status_code == status
    assert f"no {status}" in info.value.message


async def test_422_field_errors_are_kept(router: respx.MockRouter, session: mft.Session) -> None:
    router.post("/partner").respond(
        422,
        json={
            "message": "User input validation failed. Please try again",
            "errors": [{"url": "url must be an http or https URL"}, {"name": "name is required"}],
        },
    )
    with pytest.raises(gw.UnprocessableEntityError) as info:
        await session.partners.create("", "P1", url="ftp://x", encryption_certificate="QUJD")
    assert info.value.field_errors == (
        {"url": "url must be an http or https URL"},
        {"name": "name is required"},
    )
    assert "url: url must be" in str(info.value)


async def test_a_body_that_is_not_json_is_malformed(
    router: respx.MockRouter, session: mft.Session
) -> None:
    router.get("/message/inbox").respond(200, text="<html>")
    with pytest.raises(gw.MalformedResponseError):
        await session.inbox.list_ids()
    router.get("/message/outbox").respond(200, json={"messages": [1, 2]})
    with pytest.raises(gw.MalformedResponseError):
        await session.outbox.list_ids()
    router.get(f"/message/inbox/{Q}").respond(200, json={"identifier": MID, "failures": "many"})
    with pytest.raises(gw.InvalidRecordError, match="GET /message/inbox"):
        await session.inbox.get(MID)


async def test_an_authorize_answer_without_a_token(router: respx.MockRouter) -> None:
    router.post("/authorize").respond(200, json={"message": "ok"})
    async with mft.Session(USER, PASSWORD, base_url=BASE, rate_limit=None) as s:
        with pytest.raises(gw.MalformedResponseError, match="no api token"):
            await s.inbox.list_ids()


async def test_refresh_500_is_not_retried_and_falls_back(router: respx.MockRouter) -> None:
    short = jwt({"sub": USER, "exp": int(time.time()) + 30})  # due for refresh at once
    auth = router.post("/authorize").mock(
        side_effect=[
            httpx.Response(200, json={"apiToken": short, "refreshToken": "r-1"}),
            httpx.Response(200, json={"apiToken": TOKEN, "refreshToken": "r-2"}),
        ]
    )
    refresh = router.post("/refresh-session").respond(
        500, json={"message": "Error occurred while refreshing the user session"}
    )
    router.get("/message/inbox").respond(200, json={"messages": []})
    async with mft.Session(USER, PASSWORD, base_url=BASE, rate_limit=None, retry_policy=FAST) as s:
        await s.inbox.list_ids()
        s._tokens._clock = lambda: time.time() + 20  # now inside the margin: refresh is due
        await s.inbox.list_ids()
    assert refresh.call_count == 1
    assert json.loads(refresh.calls.last.request.content) == {
        "username": USER,
        "refreshToken": "r-1",
    }
    assert auth.call_count == 2


def test_constructor_checks_credentials() -> None:
    with pytest.raises(ValueError, match="one pair"):
        mft.Session()
    with pytest.raises(ValueError, match="one pair"):
        mft.Session(USER, PASSWORD, token_id="t", token_secret="s")
    with pytest.raises(ValueError, match="both required"):
        mft.Session(token_id="t")
    s = mft.Session(token_id="tid", token_secret="very-secret")
    assert "very-secret" not in repr(s)
    assert "tid" in repr(s)


# -- webhooks ----------------------------------------------------------------------------


def test_webhook_events_are_typed() -> None:
    received = mft.parse_webhook(
        json.dumps(
            {
                "eventType": "MESSAGE.RECEIVED.SUCCESS",
                "messageAS2ID": MID,
                "partnerAS2ID": "P",
                "stationAS2ID": "S",
                "attachments": ["a/b.xml"],
                "receivedAt": 1,
                "tenantId": 5,
                "extra": True,
            }
        ).encode()
    )
    assert isinstance(received, mft.MessageReceivedEvent)
    assert (received.message_as2_id, received.partner_as2_id, received.received_at) == (MID, "P", 1)
    assert received.attachments == ("a/b.xml",)
    assert received.raw["extra"] is True
    failed = mft.parse_webhook(
        {"eventType": "MESSAGE.SEND.FAILED", "failureReason": "SSL", "failures": 3}
    )
    assert isinstance(failed, mft.MessageFailedEvent)
    assert failed.failures == 3
    sent = mft.parse_webhook('{"eventType": "MESSAGE.SEND.SUCCESS", "sentAt": 9}')
    assert isinstance(sent, mft.MessageSentEvent)
    assert sent.sent_at == 9
    unknown = mft.parse_webhook({"eventType": "CERTIFICATE.EXPIRING", "alias": "a"})
    assert isinstance(unknown, mft.UnknownEvent)
    assert unknown.raw["alias"] == "a"
    with pytest.raises(mft.WebhookError):
        mft.parse_webhook(b"not json")
    with pytest.raises(mft.WebhookError):
        mft.parse_webhook({"eventType": "MESSAGE.SEND.FAILED", "failures": "lots"})


async def test_inbox_listings_always_send_fetch_all(
    router: respx.MockRouter, session: mft.Session
) -> None:
    route = router.get("/message/inbox").respond(200, json={"messages": []})
    await session.inbox.list_ids()
    assert [m async for m in session.inbox.iter_ids(fetch_all=True)] == []
    sent = [c.request.url.params.get("fetchAll") for c in route.calls]
    assert sent == ["false", "true"]
    outbox = router.get("/message/outbox").respond(200, json={"messages": []})
    await session.outbox.list_ids()
    assert "fetchAll" not in outbox.calls.last.request.url.params
    with pytest.raises(ValueError, match="inbox filter"):
        await session.outbox.list_ids(fetch_all=True)
