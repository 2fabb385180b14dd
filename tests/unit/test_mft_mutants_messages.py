"""Tests that kill surviving mutants of `as2gw_async/mft/messages.py` and
`as2gw_async/mft/attachments.py` left by the full re-run of their mutants (see
docs/mutation.md; the earlier ones are in `test_mft_mutants_transfer.py`).

Each test names the mutants it kills, so nobody deletes it as redundant. HTTP is mocked with
respx.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

import as2gw_async as gw
from as2gw_async import mft
from as2gw_async.mft.attachments import download_link
from as2gw_async.mft.messages import OutboxFolder

BASE = "https://api.mft.test"
STORE = "https://bucket.s3.test"
MID = "<1@mftgateway.com>"
Q = "%3C1%40mftgateway.com%3E"
FAST = gw.RetryPolicy(max_retries=1, initial_delay=0.0, max_delay=0.0)

Session = tuple[mft.Session, respx.MockRouter]


@pytest.fixture
async def session() -> AsyncIterator[Session]:
    with respx.mock(assert_all_called=False) as router:
        router.post(f"{BASE}/authorize").respond(200, json={"apiToken": "tok", "refreshToken": "r"})
        async with mft.Session("u", "p", base_url=BASE, rate_limit=None, retry_policy=FAST) as s:
            yield s, router


def _listing(*ids: str) -> httpx.Response:
    return httpx.Response(200, json={"messages": list(ids)})


# -- filters and listing parameters ----------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"partner": 5}, "partnerIdentifier must be a str, not int"),
        ({"station": b"S"}, "stationIdentifier must be a str, not bytes"),
        ({"subject": 1.5}, "subject must be a str, not float"),
    ],
)
async def test_a_filter_that_is_not_text_is_named(
    session: Session, filters: dict[str, Any], message: str
) -> None:
    # kills: _filters: check_text(name, value) -> check_text(None, value)
    s, router = session
    route = router.get(f"{BASE}/message/inbox").mock(return_value=_listing())
    with pytest.raises(TypeError, match=f"^{message}$"):
        await s.inbox.list_ids(**filters)
    assert not route.called


async def test_filters_of_both_kinds_are_refused_with_the_whole_reason(session: Session) -> None:
    # kills: _filters: ' and '.join -> 'XX and XX' / ' AND ', ' or '.join -> 'XX or XX' /
    #        ' OR ', "results yourself" -> "XX...XX" / upper
    s, router = session
    route = router.get(f"{BASE}/message/inbox").mock(return_value=_listing())
    with pytest.raises(gw.InvalidFilterError) as caught:
        await s.inbox.list_ids(partner="P", station="S", identifier="I", subject="X")
    assert str(caught.value) == (
        "the gateway ignores identifier and subject when partnerIdentifier or "
        "stationIdentifier is given; filter by one kind, or filter the results yourself"
    )
    assert not route.called


async def test_identifier_and_subject_together_are_refused_with_the_whole_reason(
    session: Session,
) -> None:
    # kills: _filters: the second message's two parts -> "XX...XX" / upper
    s, router = session
    route = router.get(f"{BASE}/message/outbox").mock(return_value=_listing())
    with pytest.raises(gw.InvalidFilterError) as caught:
        await s.outbox.list_ids(identifier="I", subject="X")
    assert str(caught.value) == (
        "the gateway applies only one of identifier and subject (identifier first); "
        "give one of them"
    )
    assert not route.called


async def test_fetch_all_is_refused_outside_the_inbox(session: Session) -> None:
    # kills: _list_params: "fetch_all is an inbox filter" -> "XX...XX"
    s, _ = session
    with pytest.raises(ValueError, match=r"^fetch_all is an inbox filter$"):
        await s.outbox.list_ids(fetch_all=True)


async def test_fetch_all_that_is_not_a_bool_is_named(session: Session) -> None:
    # kills: _list_params: bool_param("fetch_all") -> None / "XXfetch_allXX" / "FETCH_ALL"
    s, _ = session
    with pytest.raises(TypeError, match=r"^fetch_all must be a bool, not str$"):
        await s.inbox.list_ids(fetch_all="yes")  # type: ignore[arg-type]


async def test_an_unknown_outbox_folder_is_named(session: Session) -> None:
    # kills: OutboxFolder.__init__: the message -> None
    s, _ = session
    with pytest.raises(ValueError, match=r"^unknown outbox folder 'sent'$"):
        OutboxFolder(s, "sent")  # type: ignore[arg-type]


# -- listings the client cannot read ---------------------------------------------------------


@pytest.mark.parametrize("answer", [["<1@x>"], "text", {"messages": "x"}])
async def test_a_listing_without_a_list_of_ids_is_malformed(session: Session, answer: Any) -> None:
    # kills: _fetch_ids: isinstance(data, dict) -> `or True` (a list or string answer:
    #        AttributeError), the message -> None, endpoint -> None, response -> None
    s, router = session
    router.get(f"{BASE}/message/outbox/queued").respond(200, json=answer)
    with pytest.raises(gw.MalformedResponseError) as caught:
        await s.queued.list_ids()
    assert caught.value.message == "the listing of queued holds no list of message ids"
    assert caught.value.endpoint == "GET /message/outbox/queued"
    assert caught.value.response is not None
    assert caught.value.response.json() == answer


async def test_a_listing_that_ignores_the_page_names_its_endpoint(session: Session) -> None:
    # kills: _iter_ids: iterate(endpoint=f"GET {path}") -> None (the error names the listing)
    s, router = session
    route = router.get(f"{BASE}/message/inbox").mock(return_value=_listing("<a@x>", "<b@x>"))
    got: list[str] = []

    async def drain() -> None:
        async for mid in s.inbox.iter_ids(page_length=2):
            got.append(mid)

    with pytest.raises(gw.InconsistentListingError) as caught:
        await drain()
    assert got == ["<a@x>", "<b@x>"]
    assert caught.value.endpoint == "GET /message/inbox"
    assert str(caught.value).startswith(
        "GET /message/inbox: 3 pages in a row brought no record not listed already"
    )
    assert route.call_count == 4


# -- one message -----------------------------------------------------------------------------


@pytest.mark.parametrize("call", ["get", "delete", "mark_unread", "attachment_links"])
async def test_an_empty_message_id_is_named(session: Session, call: str) -> None:
    # kills: Folder._path: check_id("message_id") -> None / "XXmessage_idXX" / "MESSAGE_ID"
    s, _ = session
    with pytest.raises(ValueError, match=r"^message_id must not be empty$"):
        await getattr(s.inbox, call)("")


async def test_mark_as_read_that_is_not_a_bool_is_named(session: Session) -> None:
    # kills: Folder._get: bool_param("mark_as_read") -> None / "XXmark_as_readXX" /
    #        "MARK_AS_READ"
    s, _ = session
    with pytest.raises(TypeError, match=r"^mark_as_read must be a bool, not str$"):
        await s.inbox.get(MID, mark_as_read="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize("answer", [["a list"], "text", 5])
async def test_a_message_answer_that_is_not_an_object_is_invalid(
    session: Session, answer: Any
) -> None:
    # kills: Folder._get: normalise_message(data) if isinstance(data, dict) -> `or True`
    #        (normalising a list or a string raised AttributeError)
    s, router = session
    router.get(f"{BASE}/message/outbox/{Q}").respond(200, json=answer)
    with pytest.raises(gw.InvalidRecordError) as caught:
        await s.outbox.get(MID)
    assert str(caught.value.endpoint).startswith("GET /message/outbox/")


# -- attachments -----------------------------------------------------------------------------


def _named(router: respx.MockRouter, *names: str | None) -> None:
    """The attachments answer of MID: one link per name, each body the link's number."""
    router.get(f"{BASE}/message/inbox/{Q}/attachments").respond(
        200,
        json={"attachments": [{"name": n, "url": f"{STORE}/{i}"} for i, n in enumerate(names)]},
    )
    for i in range(len(names)):
        router.get(f"{STORE}/{i}").respond(200, content=str(i).encode())


async def test_unnamed_attachments_are_named_after_the_message_and_their_place(
    session: Session, tmp_path: Path
) -> None:
    # kills: download_attachments: default = f"{dirname}.attachment" -> None,
    #        safe_filename(default=f"{default}-{index}") -> None / dropped ("attachment")
    s, router = session
    _named(router, None, "", "..", "b.txt")
    files = await s.inbox.download_attachments(MID, tmp_path)
    assert [f.name for f in files] == [
        "1@mftgateway.com.attachment-0",
        "1@mftgateway.com.attachment-1",
        "1@mftgateway.com.attachment-2",
        "b.txt",
    ]
    assert [f.path.read_bytes() for f in files] == [b"0", b"1", b"2", b"3"]


async def test_an_existing_attachment_is_refused_naming_its_path(
    session: Session, tmp_path: Path
) -> None:
    # kills: _refuse_existing: _exists_error(path) -> _exists_error(None)
    s, router = session
    _named(router, "a.bin")
    (tmp_path / "a.bin").write_bytes(b"OLD")
    with pytest.raises(FileExistsError) as caught:
        await s.inbox.download_attachments(MID, tmp_path)
    assert caught.value.filename == str(tmp_path / "a.bin")
    assert caught.value.strerror == "refusing to overwrite an existing file (pass overwrite=True)"
    assert not router.routes[-1].called  # refused before any byte was fetched
    assert (tmp_path / "a.bin").read_bytes() == b"OLD"


async def test_download_link_refuses_an_existing_file_by_default(
    session: Session, tmp_path: Path
) -> None:
    # kills: download_link: overwrite default False -> True
    s, router = session
    store = router.get(f"{STORE}/x").respond(200, content=b"NEW")
    target = tmp_path / "x.bin"
    target.write_bytes(b"OLD")

    async def refresh() -> str:
        raise AssertionError("no refresh expected")

    with pytest.raises(FileExistsError):
        await download_link(s, f"{STORE}/x", target, refresh=refresh, name="x.bin")
    assert target.read_bytes() == b"OLD"
    assert not store.called


async def test_a_link_refused_three_times_is_refreshed_three_times(
    session: Session, tmp_path: Path
) -> None:
    # kills: download_link: refreshes += 1 -> += 2, `refreshes > MAX_LINK_REFRESHES` -> `>=`
    s, router = session
    links = router.get(f"{BASE}/message/inbox/{Q}/attachments").mock(
        side_effect=[
            httpx.Response(200, json={"attachments": [{"name": "a.bin", "url": f"{STORE}/a{i}"}]})
            for i in range(4)
        ]
    )
    for i in range(3):
        router.get(f"{STORE}/a{i}").respond(403, text="<Error>expired</Error>")
    router.get(f"{STORE}/a3").respond(200, content=b"BODY")
    [f] = await s.inbox.download_attachments(MID, tmp_path)
    assert f.path.read_bytes() == b"BODY"
    assert links.call_count == 4  # the listing, then one fresh link per refusal
