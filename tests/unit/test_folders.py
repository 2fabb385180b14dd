"""The folders' list / get / actions: every query parameter, checks, id encoding."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

import as2gw_async as gw

MID = "<90766548.41.1573209810390@as2gateway.com>"
ODD_ID = "<a/b c+d%e?f#g@host>"
ODD_ENCODED = "%3Ca%2Fb%20c%2Bd%25e%3Ff%23g%40host%3E"


def message(mid: str = MID, **extra: Any) -> dict[str, Any]:
    return {
        "as2MessageId": mid,
        "persistedTimestamp": 1556797479000,
        "compressed": False,
        "encrypted": True,
        "signed": True,
        "subject": "Invoice",
        "receiverId": "RJ_Partner",
        "senderId": "RJ_Station",
        "mdnStatus": "Received",
        "partnerType": "Production",
        "attachments": [{"name": "file1.txt", "size": 391}],
        **extra,
    }


def page(*records: dict[str, Any], total: int | None = None) -> httpx.Response:
    return httpx.Response(
        200, json={"totalRecords": len(records) if total is None else total, "records": records}
    )


FOLDERS = ["received", "sent", "failed", "queued"]


def folder(session: gw.Session, name: str) -> Any:
    return getattr(session, name)


# -- list --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FOLDERS)
async def test_list_without_arguments_sends_no_parameters(
    router: respx.MockRouter, session: gw.Session, name: str
) -> None:
    route = router.get(f"/message/{name}").mock(return_value=page(message(), total=25))
    result = await folder(session, name).list()
    assert isinstance(result, gw.Page)
    assert result.total_records == 25
    assert result.records[0].as2_message_id == MID
    assert result.records[0].attachments == (gw.Attachment("file1.txt", 391),)
    assert route.calls.last.request.url.query == b""


@pytest.mark.parametrize("name", ["received", "sent", "failed"])
async def test_list_sends_every_parameter(
    router: respx.MockRouter, session: gw.Session, name: str
) -> None:
    route = router.get(f"/message/{name}").mock(return_value=page())
    await folder(session, name).list(
        sort_col="subject",
        sort_dir="asc",
        partner_type="test",
        page_offset=3,
        page_length=100,
        partner_as2_id="RJ Partner",
        station_as2_id="RJ/Station",
        as2_message_id=ODD_ID,
        subject="Invoice 1 + 2 & <3>",
    )
    assert dict(route.calls.last.request.url.params) == {
        "sortCol": "subject",
        "sortDir": "asc",
        "partnerType": "test",
        "pageOffset": "3",
        "pageLength": "100",
        "partnerAS2Id": "RJ Partner",
        "stationAS2Id": "RJ/Station",
        "as2MessageId": ODD_ID,
        "subject": "Invoice 1 + 2 & <3>",
    }
    assert b"+" not in route.calls.last.request.url.query


async def test_received_list_takes_unread_only(
    router: respx.MockRouter, session: gw.Session
) -> None:
    route = router.get("/message/received").mock(return_value=page())
    await session.received.list(unread_only=True)
    assert route.calls.last.request.url.params["unreadOnly"] == "true"
    await session.received.list(unread_only=False)
    assert route.calls.last.request.url.params["unreadOnly"] == "false"


async def test_queued_list_takes_query_instead_of_the_filters(
    router: respx.MockRouter, session: gw.Session
) -> None:
    route = router.get("/message/queued").mock(return_value=page())
    await session.queued.list(
        query=MID, sort_col="receiverId", sort_dir="desc", partner_type=gw.PartnerType.PRODUCTION
    )
    assert dict(route.calls.last.request.url.params) == {
        "query": MID,
        "sortCol": "receiverId",
        "sortDir": "desc",
        "partnerType": "production",
    }
    with pytest.raises(TypeError):
        await session.queued.list(partner_as2_id="x")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        await session.sent.list(query="x")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        await session.sent.list(unread_only=True)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("persistedTimestamp", "persistedTimestamp"),
        ("persisted_timestamp", "persistedTimestamp"),
        ("receiver_id", "receiverId"),
        ("SENDERID", "senderId"),
        ("sender_id", "senderId"),
        ("Subject", "subject"),
    ],
)
async def test_sort_col_spellings(
    router: respx.MockRouter, session: gw.Session, given: str, sent: str
) -> None:
    route = router.get("/message/sent").mock(return_value=page())
    await session.sent.list(sort_col=given)  # type: ignore[arg-type]
    assert route.calls.last.request.url.params["sortCol"] == sent


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"page_length": 0}, ValueError, "between 1 and 100"),
        ({"page_length": 101}, ValueError, "between 1 and 100"),
        ({"page_length": "10"}, TypeError, "page_length"),
        ({"page_length": True}, TypeError, "page_length"),
        ({"page_offset": -1}, ValueError, "page number"),
        ({"page_offset": 1.5}, TypeError, "page_offset"),
        ({"sort_col": "size"}, ValueError, "sort_col"),
        ({"sort_dir": "up"}, ValueError, "sort_dir"),
        ({"partner_type": "staging"}, ValueError, "partner_type"),
        ({"partner_type": 1}, ValueError, "partner_type"),
        ({"unread_only": "yes"}, TypeError, "unread_only"),
        ({"subject": 5}, TypeError, "subject"),
        ({"as2_message_id": b"<x>"}, TypeError, "as2_message_id"),
    ],
)
async def test_bad_values_fail_before_any_request(
    router: respx.MockRouter,
    session: gw.Session,
    kwargs: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    with pytest.raises(error, match=match):
        await session.received.list(**kwargs)
    if "page_offset" not in kwargs:  # iter() pages by itself
        with pytest.raises(error, match=match):
            session.received.iter(**kwargs)  # at the call, before the loop starts
    assert not router.calls


@pytest.mark.parametrize("kwargs", [{"prefetch": -1}, {"prefetch": 1.0}, {"page_length": 0}])
def test_bad_iter_arguments(session: gw.Session, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"prefetch|page_length"):
        session.sent.iter(**kwargs)


async def test_page_length_bounds_are_accepted(
    router: respx.MockRouter, session: gw.Session
) -> None:
    route = router.get("/message/failed").mock(return_value=page())
    await session.failed.list(page_length=1, page_offset=0)
    await session.failed.list(page_length=100, page_offset=10_000)
    assert [c.request.url.params["pageLength"] for c in route.calls] == ["1", "100"]


async def test_unknown_fields_and_values_are_tolerated(
    router: respx.MockRouter, session: gw.Session
) -> None:
    odd = message(partnerType="Sandbox", mdnStatus="Lost", newField={"x": 1})
    del odd["subject"]
    router.get("/message/received").mock(return_value=page(odd))
    (m,) = (await session.received.list()).records
    assert m.partner_type == "Sandbox"
    assert m.mdn_status == "Lost"
    assert m.subject is None


# -- get ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FOLDERS)
async def test_get_percent_encodes_the_id(
    router: respx.MockRouter, session: gw.Session, name: str
) -> None:
    route = router.get(url__regex=rf".*/message/{name}/.*").mock(
        return_value=httpx.Response(200, json=message(ODD_ID))
    )
    m = await folder(session, name).get(ODD_ID)
    assert m.as2_message_id == ODD_ID
    request = route.calls.last.request
    assert request.url.raw_path == f"/v1/message/{name}/{ODD_ENCODED}".encode()


async def test_get_with_mark_as_read(router: respx.MockRouter, session: gw.Session) -> None:
    route = router.get(url__regex=r".*/message/received/.*").mock(
        return_value=httpx.Response(200, json=message())
    )
    await session.received.get(MID, mark_as_read=True)
    assert route.calls.last.request.url.params["markAsRead"] == "true"
    await session.received.get(MID)
    assert "markAsRead" not in route.calls.last.request.url.params


@pytest.mark.parametrize("name", FOLDERS)
async def test_get_unknown_id_is_not_found(
    router: respx.MockRouter, session: gw.Session, name: str
) -> None:
    router.get(url__regex=r".*/message/.*").respond(
        404, json={"message": f"No AS2 message found with ID {MID}"}
    )
    with pytest.raises(gw.NotFoundError, match="No AS2 message found"):
        await folder(session, name).get(MID)


@pytest.mark.parametrize("bad", ["", None, 5])
async def test_get_needs_an_id(router: respx.MockRouter, session: gw.Session, bad: Any) -> None:
    with pytest.raises((ValueError, TypeError), match="as2_message_id"):
        await session.sent.get(bad)
    assert not router.calls


async def test_get_is_retried_as_an_idempotent_call(
    router: respx.MockRouter, session: gw.Session
) -> None:
    route = router.get(url__regex=r".*/message/sent/.*").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=message())]
    )
    await session.sent.get(MID)
    assert route.call_count == 2


# -- actions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "path", "text"),
    [
        (
            lambda s: s.received.mark_unread(ODD_ID),
            f"/v1/message/received/{ODD_ENCODED}/markUnread",
            "Successfully marked message x as unread",
        ),
        (
            lambda s: s.queued.stop(ODD_ID),
            f"/v1/message/queued/{ODD_ENCODED}/stop",
            "Successfully stopped retrying AS2 message with ID x",
        ),
        (
            lambda s: s.queued.retry(ODD_ID),
            f"/v1/message/queued/{ODD_ENCODED}/retry",
            "Successfully started retrying AS2 message with ID x",
        ),
    ],
)
async def test_actions(
    router: respx.MockRouter, session: gw.Session, call: Any, path: str, text: str
) -> None:
    route = router.post(url__regex=r".*/message/.*").mock(
        side_effect=[httpx.Response(502), httpx.Response(200, json={"message": text})]
    )
    result = await call(session)
    assert result == gw.GenericResponse(text)
    assert route.calls.last.request.url.raw_path == path.encode()
    assert route.call_count == 2  # idempotent: retried after the 502


async def test_actions_on_unknown_ids(router: respx.MockRouter, session: gw.Session) -> None:
    router.post(url__regex=r".*/message/.*").respond(404, json={"message": "No queued message"})
    with pytest.raises(gw.NotFoundError):
        await session.queued.stop(MID)
    with pytest.raises(gw.NotFoundError):
        await session.received.mark_unread(MID)


async def test_mark_read_goes_through_the_batch_endpoint(
    session: gw.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, list[str], Any]] = []

    async def fake(s: gw.Session, ids: Any, *, scratch_dir: Any = None) -> list[str]:
        calls.append((s, list(ids), scratch_dir))
        return ["a"]

    monkeypatch.setattr("as2gw_async.endpoints.folders.batch_mark_read", fake)
    assert await session.received.mark_read(["a", "b"], scratch_dir="/tmp/x") == ["a"]
    assert calls == [(session, ["a", "b"], "/tmp/x")]


def test_resources_hang_off_the_session(session: gw.Session) -> None:
    assert session.received.folder is gw.Folder.RECEIVED
    assert session.sent.folder is gw.Folder.SENT
    assert session.failed.folder is gw.Folder.FAILED
    assert session.queued.folder is gw.Folder.QUEUED
    assert repr(session.queued) == "<QueuedFolder>"
