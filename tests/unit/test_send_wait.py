"""Session.wait_for_delivery: delivered, given up, timed out; ids encoded; few requests."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import httpx
import pytest
import respx

import as2gw_async as gw

from ..virtual_time import run_in_virtual_time
from .conftest import BASE, FAST_RETRIES, PASSWORD, USER

MID = "<90766548.41.1573209810390@as2gateway.com>"
ENCODED = "%3C90766548.41.1573209810390%40as2gateway.com%3E"
FAST = {"poll_interval": 0.001, "initial_delay": 0.0}


def record(ts: int, folder: str) -> dict[str, object]:
    base: dict[str, object] = {
        "as2MessageId": MID,
        "persistedTimestamp": ts,
        "receiverId": "RJ_Partner",
        "senderId": "RJ_Station",
        "partnerType": "Test",
        "attachments": [{"name": "a.txt", "size": 3}],
    }
    if folder == "sent":
        base |= {"deliveryStatus": "Delivered", "transportStatusReceived": 200}
    if folder == "failed":
        base |= {"deliveryStatus": "Not Delivered", "transportStatusReceived": 503}
    return base


NOT_FOUND = httpx.Response(404, json={"message": f"No AS2 message found with ID {MID}"})


class Script:
    """A gateway whose folders answer by the poll round: ``where(round)`` names the folder."""

    def __init__(self, router: respx.MockRouter, where: Callable[[int], str | None]) -> None:
        self.round = 0
        self.where = where
        self.failed_attempts = 0
        self.sent = router.get(f"/message/sent/{ENCODED}").mock(side_effect=self.on_sent)
        self.queued = router.get(f"/message/queued/{ENCODED}").mock(side_effect=self.on_queued)
        self.failed = router.get(f"/message/failed/{ENCODED}").mock(side_effect=self.on_failed)
        self.failed_list = router.get("/message/failed").mock(side_effect=self.on_failed_list)

    def on_sent(self, request: httpx.Request) -> httpx.Response:
        self.round += 1  # every round starts with the sent folder
        if self.where(self.round) == "sent":
            return httpx.Response(200, json=record(3000, "sent"))
        return NOT_FOUND

    def on_queued(self, request: httpx.Request) -> httpx.Response:
        if self.where(self.round) == "queued":
            return httpx.Response(200, json=record(1000, "queued"))
        return NOT_FOUND

    def on_failed(self, request: httpx.Request) -> httpx.Response:
        if self.where(self.round) == "failed":
            return httpx.Response(200, json=record(2000 + self.failed_attempts, "failed"))
        return NOT_FOUND

    def on_failed_list(self, request: httpx.Request) -> httpx.Response:
        assert request.url.params["as2MessageId"] == MID
        assert request.url.params["partnerType"] == "test"
        other = dict(record(1, "failed"), as2MessageId="<other@x>")
        records = [record(2000 + i, "failed") for i in range(self.failed_attempts)] + [other]
        return httpx.Response(200, json={"totalRecords": len(records), "records": records})


async def test_delivered(router: respx.MockRouter, session: gw.Session) -> None:
    script = Script(router, lambda n: "queued" if n < 3 else "sent")
    message = await session.wait_for_delivery(MID, timeout=30, **FAST)
    assert message.as2_message_id == MID
    assert message.delivery_status is gw.DeliveryStatus.DELIVERED
    assert script.sent.call_count == 3
    assert script.queued.call_count == 2
    assert script.failed.call_count == 0  # not asked while the message was queued


async def test_delivered_after_failed_attempts_is_delivered(
    router: respx.MockRouter, session: gw.Session
) -> None:
    # retrying: queued between attempts, briefly in no folder while being sent again
    plan = {1: "queued", 2: "failed", 3: "queued", 4: "failed", 5: "sent"}
    script = Script(router, lambda n: plan[n])
    script.failed_attempts = 2
    message = await session.wait_for_delivery(MID, timeout=30, **FAST)
    assert message.delivery_status is gw.DeliveryStatus.DELIVERED


async def test_given_up(router: respx.MockRouter, session: gw.Session) -> None:
    script = Script(router, lambda n: "queued" if n < 3 else "failed")
    script.failed_attempts = 10
    with pytest.raises(gw.DeliveryFailedError, match="10 failed attempt") as info:
        await session.wait_for_delivery(MID, timeout=30, **FAST)
    error = info.value
    assert error.as2_message_id == MID
    assert len(error.attempts) == 10
    assert all(a.as2_message_id == MID for a in error.attempts)
    assert [a.persisted_timestamp for a in error.attempts] == list(range(2000, 2010))
    assert "HTTP 503" in str(error)
    # confirmed in a second round before giving up, then one listing of the attempts
    assert script.sent.call_count == 4
    assert script.failed_list.call_count == 1


async def test_one_round_out_of_the_queue_is_not_yet_a_failure(
    router: respx.MockRouter, session: gw.Session
) -> None:
    # A message being retried right now is missing from the queued folder (spec 4.4.4).
    plan = {1: "failed", 2: "queued", 3: "failed", 4: "sent"}
    script = Script(router, lambda n: plan[n])
    script.failed_attempts = 1
    message = await session.wait_for_delivery(MID, timeout=30, **FAST)
    assert message.as2_message_id == MID
    assert script.failed_list.call_count == 0


async def test_given_up_when_the_attempt_listing_is_empty(
    router: respx.MockRouter, session: gw.Session
) -> None:
    script = Script(router, lambda n: "failed")
    script.failed_attempts = 0  # the list filter finds nothing: the single record is kept
    with pytest.raises(gw.DeliveryFailedError) as info:
        await session.wait_for_delivery(MID, timeout=30, **FAST)
    assert len(info.value.attempts) == 1


@pytest.mark.parametrize(
    ("where", "last_seen", "match"),
    [
        (lambda n: "queued", "queued", "last seen in the queued folder"),
        (lambda n: None, None, "never seen"),
        (lambda n: "failed" if n == 1 else None, "failed", "failed folder, after failed"),
    ],
)
def test_timeout_says_where_it_was_last_seen(
    router: respx.MockRouter,
    authorize: respx.Route,
    where: Callable[[int], str | None],
    last_seen: str | None,
    match: str,
) -> None:
    # Virtual time: the 0.05 s timeout holds ten 5 ms polls however busy the machine is.
    script = Script(router, where)
    script.failed_attempts = 1

    async def main() -> gw.DeliveryTimeoutError:
        async with gw.Session(
            USER, PASSWORD, base_url=BASE, rate_limit=None, retry_policy=FAST_RETRIES
        ) as session:
            with pytest.raises(gw.DeliveryTimeoutError, match=match) as info:
                await session.wait_for_delivery(
                    MID, timeout=0.05, poll_interval=0.005, initial_delay=0
                )
            return info.value

    error = run_in_virtual_time(main)
    assert error.last_seen == last_seen
    assert error.as2_message_id == MID
    assert isinstance(error, TimeoutError)
    assert script.sent.call_count >= 2


async def test_zero_timeout_still_looks_once(router: respx.MockRouter, session: gw.Session) -> None:
    script = Script(router, lambda n: "sent")
    message = await session.wait_for_delivery(MID, timeout=0)
    assert message.as2_message_id == MID
    assert script.sent.call_count == 1


async def test_polls_back_off(
    router: respx.MockRouter, session: gw.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    monkeypatch.setattr("as2gw_async._core.polling.anyio.sleep", fake_sleep)
    Script(router, lambda n: "queued" if n < 12 else "sent")
    await session.wait_for_delivery(MID, timeout=10_000, poll_interval=2.0)
    initial, *polls = sleeps
    assert initial == 5.0  # the spec's "around 5 to 10 seconds" before the first look
    assert polls[0] == 2.0
    assert polls[1] > polls[0]
    assert all(b >= a for a, b in itertools.pairwise(polls))
    assert polls[-1] == 15.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"timeout": -1}, "timeout"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"initial_delay": -1}, "initial_delay"),
    ],
)
async def test_bad_arguments(
    router: respx.MockRouter, session: gw.Session, kwargs: dict[str, float], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        await session.wait_for_delivery(MID, **kwargs)
    assert not router.calls


async def test_empty_id(router: respx.MockRouter, session: gw.Session) -> None:
    with pytest.raises(ValueError, match="empty"):
        await session.wait_for_delivery("")
