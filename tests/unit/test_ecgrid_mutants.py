"""Tests that kill surviving mutants of `as2gw_async/ecgrid/` (session, parcels,
interchanges, models, mailbox; see docs/mutation.md). Login, refresh, logout, the upload
body, the scanner, pages and envelope are in `test_ecgrid_mutants_wire.py`.

Each test names the mutants it kills, so nobody deletes it as redundant. "Retried" below
means: the call is idempotent, so a 503 is asked again (the `idempotent=True` argument
dropped, set to None or to False makes a POST non-idempotent: one request, the error).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from as2gw_async import ecgrid
from as2gw_async.auth import Token
from as2gw_async.ecgrid.mailbox import parcel_to_json
from as2gw_async.ecgrid.models import (
    Interchange,
    ManifestEntry,
    Parcel,
    format_datetime,
    interchange_from,
    manifest_entry_from,
    parcel_from,
)
from as2gw_async.errors import (
    InconsistentListingError,
    IntegrityError,
    InternalServerError,
    MalformedResponseError,
    NotFoundError,
)
from as2gw_async.mailbox import (
    ExpectedFile,
    FetchSizes,
    MailboxUsage,
    WaitingItem,
    staging_path,
)
from as2gw_async.retries import RetryPolicy

BASE = "https://rest.ecgrid.io"
FAST = RetryPolicy(max_retries=1, initial_delay=0, max_delay=0, retry_statuses={429, 500, 503})
BUSY = {"success": False, "data": None, "errorCode": "InternalError", "message": "busy"}


def ok(data: Any, **beside: Any) -> httpx.Response:
    return httpx.Response(200, json={"success": True, "data": data, **beside})


def busy_then(data: Any) -> list[httpx.Response]:
    """A 503, then the answer: an idempotent call gets the answer, another the error."""
    return [httpx.Response(503, json=BUSY), ok(data)]


def sent(route: respx.Route, index: int = -1) -> Any:
    return json.loads(route.calls[index].request.content)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
async def s(router: respx.MockRouter) -> AsyncIterator[ecgrid.Session]:
    async with ecgrid.Session(api_key="the-key", retry_policy=FAST) as session:
        yield session


# -- models ------------------------------------------------------------------------------


def test_parcel_reads_every_field() -> None:
    """kills: parcel_from's file_name / mailbox_id / network_id / ecgrid_id_to / modified
    each set to None, dropped, or read under another key (None, ``XXfileNameXX``,
    ``filename``, ``FILENAME``...)."""
    raw = {
        "parcelId": 1,
        "fileName": "a.edi",
        "bytes": 2,
        "status": "InBoxReady",
        "mailboxId": "3",
        "networkId": 4,
        "ecGridIdFrom": 5,
        "ecGridIdTo": 6,
        "created": "2026-05-07T08:00:00Z",
        "modified": "2026-05-08T08:00:00+00:00",
    }
    assert parcel_from(raw) == Parcel(
        parcel_id=1,
        file_name="a.edi",
        size=2,
        status=ecgrid.ParcelStatus.IN_BOX_READY,
        mailbox_id=3,
        network_id=4,
        ecgrid_id_from=5,
        ecgrid_id_to=6,
        created=dt.datetime(2026, 5, 7, 8, tzinfo=dt.timezone.utc),
        modified=dt.datetime(2026, 5, 8, 8, tzinfo=dt.timezone.utc),
    )


def test_parcel_errors_name_what_is_wrong() -> None:
    """kills: parcel_from's two ValueError texts set to None, ``type(None)`` for
    ``type(raw)``, and the id read back under another key in the message."""
    with pytest.raises(ValueError, match="not a JSON object") as info:
        parcel_from("x")
    assert str(info.value) == "a parcel that is not a JSON object: str"
    with pytest.raises(ValueError, match="numeric parcelId") as info:
        parcel_from({"parcelId": "p-1"})
    assert str(info.value) == "a parcel without a numeric parcelId: 'p-1'"


def test_interchange_reads_every_field_and_keeps_the_rest() -> None:
    """kills: interchange_from's sender / receiver / standard / documentType / status /
    created / extra each set to None, dropped, or read under another key (``XXsenderXX``,
    ``SENDER``...), and ``k in _INTERCHANGE_FIELDS`` for ``not in``."""
    raw = {
        "interchangeId": "12",
        "parcelId": 3,
        "sender": "ZZ:SENDER",
        "receiver": 99,
        "standard": "X12",
        "documentType": "850",
        "status": "Delivered",
        "created": "2026-05-07T08:00:00Z",
        "vendor": {"a": 1},
    }
    assert interchange_from(raw) == Interchange(
        interchange_id=12,
        parcel_id=3,
        sender="ZZ:SENDER",
        receiver="99",
        standard="X12",
        document_type="850",
        status="Delivered",
        created=dt.datetime(2026, 5, 7, 8, tzinfo=dt.timezone.utc),
        extra={"vendor": {"a": 1}},
    )
    assert interchange_from(raw).extra == {"vendor": {"a": 1}}  # attrs eq covers extra too


def test_interchange_errors_name_what_is_wrong() -> None:
    """kills: interchange_from's two ValueError texts set to None, ``type(None)`` for
    ``type(raw)``, and the id read back under ``None`` / ``XXinterchangeIdXX`` /
    ``interchangeid`` / ``INTERCHANGEID`` in the message."""
    with pytest.raises(ValueError, match="not a JSON object") as info:
        interchange_from(["x"])
    assert str(info.value) == "an interchange that is not a JSON object: list"
    with pytest.raises(ValueError, match="numeric id") as info:
        interchange_from({"interchangeId": "abc"})
    assert str(info.value) == "an interchange without a numeric id: 'abc'"


def test_manifest_entry_reads_every_field_and_keeps_the_rest() -> None:
    """kills: manifest_entry_from's ``known`` names misspelt (each would put the field in
    ``extra`` too), each field set to None, dropped or read under another key, and
    ``k in known`` for ``not in``."""
    raw = {
        "interchangeId": "4",
        "sender": "S",
        "receiver": 7,
        "documentType": "810",
        "count": 2.0,
        "groups": [1],
    }
    entry = manifest_entry_from(raw)
    assert entry == ManifestEntry(
        interchange_id=4,
        sender="S",
        receiver="7",
        document_type="810",
        count=2,
        extra={"groups": [1]},
    )
    assert entry.extra == {"groups": [1]}


# -- interchanges --------------------------------------------------------------------------


async def test_interchange_lists_send_every_filter_and_read_the_named_array(
    s: ecgrid.Session, router: respx.MockRouter
) -> None:
    """kills: Interchanges.inbox's ``**filters`` dropped; outbox's path (None, dropped,
    ``XX...XX``, upper case) and ``**filters`` dropped; _iterate's status / begin / end /
    mailbox_id / ecgrid_id_from / ecgrid_id_to set to None, and ``items_key`` None,
    ``XXinterchangesXX`` or ``INTERCHANGES`` (the answer holds two arrays: only the named
    one is the records)."""
    rows = [{"interchangeId": 1}, {"interchangeId": 2}]
    data = {"totalRecords": 2, "interchanges": rows, "warnings": [{"x": 1}]}
    inbox = router.post("/v2/interchanges/inbox-list").mock(return_value=ok(data))
    outbox = router.post("/v2/interchanges/outbox-list").mock(return_value=ok(data))
    filters: dict[str, Any] = {
        "status": "Sent",
        "begin": dt.datetime(2026, 5, 7, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "end": "2026-05-08T00:00:00Z",
        "mailbox_id": 5,
        "ecgrid_id_from": 6,
        "ecgrid_id_to": 7,
    }
    expected = {
        "status": "Sent",
        "beginDate": "2026-05-07T08:00:00Z",
        "endDate": "2026-05-08T00:00:00Z",
        "mailboxId": 5,
        "ecGridIdFrom": 6,
        "ecGridIdTo": 7,
        "pageNo": 1,
        "recordsPerPage": 100,
    }
    for method, route in ((s.interchanges.inbox, inbox), (s.interchanges.outbox, outbox)):
        got = [i.interchange_id async for i in method(**filters)]
        assert got == [1, 2]
        assert sent(route) == expected


async def test_interchange_list_prefetch_is_passed_on(
    s: ecgrid.Session, router: respx.MockRouter
) -> None:
    """kills: Interchanges._iterate's ``prefetch`` set to None (the default, 16 pages
    ahead): with ``prefetch=0`` two records of a 5-page listing cost two requests."""
    route = router.post("/v2/interchanges/inbox-list").mock(
        side_effect=lambda request: ok(
            [{"interchangeId": json.loads(request.content)["pageNo"]}], totalRecords=5
        )
    )
    listing = s.interchanges.inbox(page_length=1, prefetch=0)
    assert [await listing.__anext__(), await listing.__anext__()] == [
        Interchange(interchange_id=1),
        Interchange(interchange_id=2),
    ]
    await listing.aclose()  # type: ignore[attr-defined]
    assert route.call_count == 2


async def test_interchange_calls_that_are_retried(
    s: ecgrid.Session, router: respx.MockRouter
) -> None:
    """kills: Interchanges.cancel's method / path (None, dropped, ``XX...XX``, ``int(None)``)
    and its ``idempotent=True`` (None, False, dropped); header's and date's
    ``idempotent=True`` (None, False, dropped)."""
    cancel = router.post("/v2/interchanges/cancel/8").mock(side_effect=busy_then(True))
    assert await s.interchanges.cancel("8") is None  # type: ignore[arg-type]
    assert cancel.call_count == 2
    isa = "ISA*00*..."
    header = router.post("/v2/interchanges/get-header").mock(
        side_effect=busy_then({"senderId": "S"})
    )
    assert await s.interchanges.header(isa) == {"senderId": "S"}
    assert header.call_count == 2
    assert sent(header) == {"interchangeHeader": isa}
    date = router.post("/v2/interchanges/get-date").mock(
        side_effect=busy_then("2026-05-07T08:00:00")
    )
    assert await s.interchanges.date(isa) == dt.datetime(2026, 5, 7, 8, tzinfo=dt.timezone.utc)
    assert date.call_count == 2


async def test_interchange_header_that_is_not_an_object(
    s: ecgrid.Session, router: respx.MockRouter
) -> None:
    """kills: _object_data's message set to None, ``XX...XX``, lower or upper case."""
    router.post("/v2/interchanges/get-header").mock(return_value=ok(["ISA"]))
    with pytest.raises(MalformedResponseError) as info:
        await s.interchanges.header("ISA")
    assert str(info.value) == "POST /v2/interchanges/get-header: data is not a JSON object"


async def test_interchange_manifest_that_is_not_a_list(
    s: ecgrid.Session, router: respx.MockRouter
) -> None:
    """kills: Interchanges.manifest's ``isinstance(data, list)`` made always true (a null
    ``data`` would be iterated)."""
    router.get("/v2/interchanges/get-manifest/3").mock(return_value=ok(None))
    assert await s.interchanges.manifest(3) == []


# -- parcels: the small calls --------------------------------------------------------------


async def test_parcel_calls_that_are_retried(s: ecgrid.Session, router: respx.MockRouter) -> None:
    """kills: ``idempotent=True`` set to None, False or dropped in Parcels.cancel,
    reset_to_inbox, update, set_mailbag_control_id and find_by_mailbag_control_id."""
    cancel = router.post("/v2/parcels/cancel/4").mock(side_effect=busy_then(True))
    await s.parcels.cancel(4)
    reset = router.post("/v2/parcels/reset-to-inbox/4").mock(side_effect=busy_then(True))
    await s.parcels.reset_to_inbox(4)
    update = router.post("/v2/parcels/update").mock(side_effect=busy_then({"parcelId": 4}))
    assert (await s.parcels.update(4)).parcel_id == 4
    mailbag = router.post("/v2/parcels/set-mailbagcontrolid").mock(side_effect=busy_then(True))
    await s.parcels.set_mailbag_control_id(4, "MB-1")
    find = router.post("/v2/parcels/find-mailbagcontrolid").mock(
        side_effect=busy_then([{"parcelId": 4}])
    )
    assert [p.parcel_id for p in await s.parcels.find_by_mailbag_control_id("MB-1")] == [4]
    for route in (cancel, reset, update, mailbag, find):
        assert route.call_count == 2, route


async def test_parcel_update_sends_the_status_given(
    s: ecgrid.Session, router: respx.MockRouter
) -> None:
    """kills: Parcels.update's ``status is None`` made always false (``str(None)`` sent)."""
    route = router.post("/v2/parcels/update").mock(return_value=ok({"parcelId": 4}))
    await s.parcels.update(4)
    assert sent(route) == {"parcelId": 4}
    await s.parcels.update(4, status=ecgrid.ParcelStatus.IN_BOX_ARCHIVED)
    assert sent(route) == {"parcelId": 4, "status": "InBoxArchived"}


async def test_find_by_mailbag_control_id_reads_parcels_and_sends_the_mailbox(
    s: ecgrid.Session, router: respx.MockRouter
) -> None:
    """kills: find_by_mailbag_control_id's ``mailboxId`` set to None or dropped, and the
    items key ``"parcels"`` set to None, dropped, ``XXparcelsXX`` or ``PARCELS`` (the
    answer holds two arrays)."""
    route = router.post("/v2/parcels/find-mailbagcontrolid").mock(
        return_value=ok({"parcels": [{"parcelId": 9}], "links": [{"rel": "next"}]})
    )
    found = await s.parcels.find_by_mailbag_control_id("MB-2", mailbox_id=3)
    assert [p.parcel_id for p in found] == [9]
    assert sent(route) == {"mailboxId": 3, "mailbagControlId": "MB-2"}


async def test_parcel_manifest_that_is_not_a_list(
    s: ecgrid.Session, router: respx.MockRouter
) -> None:
    """kills: Parcels.manifest's fallback ``data = []`` set to None."""
    router.get("/v2/parcels/manifest/2").mock(return_value=ok({"not": "a list"}))
    assert await s.parcels.manifest(2) == []


async def test_send_test_file_sends_the_document_type(
    s: ecgrid.Session, router: respx.MockRouter
) -> None:
    """kills: send_test_file's ``documentType`` set to None or dropped."""
    route = router.post("/v2/parcels/send-test-file").mock(return_value=ok(77))
    assert await s.parcels.send_test_file(1, 2, document_type="850") == 77
    assert sent(route) == {"ecGridIdFrom": 1, "ecGridIdTo": 2, "documentType": "850"}


def _parcel_rows(request: httpx.Request) -> httpx.Response:
    page = json.loads(request.content)["pageNo"]
    return ok([{"parcelId": page}], totalRecords=5)


async def test_parcel_lists_send_every_filter(s: ecgrid.Session, router: respx.MockRouter) -> None:
    """kills: Parcels.inbox's and outbox's status / begin / end / mailbox_id /
    ecgrid_id_from / ecgrid_id_to passed on as None, and _box's mailbox_id /
    ecgrid_id_from / ecgrid_id_to set to None."""
    inbox = router.post("/v2/parcels/inbox-list").mock(return_value=ok([{"parcelId": 1}]))
    outbox = router.post("/v2/parcels/outbox-list").mock(return_value=ok([{"parcelId": 1}]))
    expected = {
        "status": "outboxSent",
        "beginDate": "2026-05-07T00:00:00Z",
        "endDate": "2026-05-09T00:00:00Z",
        "mailboxId": 5,
        "ecGridIdFrom": 6,
        "ecGridIdTo": 7,
        "pageNo": 1,
        "recordsPerPage": 10,
    }
    for method, route in ((s.parcels.inbox, inbox), (s.parcels.outbox, outbox)):
        got = method(
            status=ecgrid.ParcelStatus.OUTBOX_SENT,
            begin=dt.datetime(2026, 5, 7),
            end="2026-05-09T00:00:00Z",
            mailbox_id=5,
            ecgrid_id_from=6,
            ecgrid_id_to=7,
            page_length=10,
        )
        assert [p.parcel_id async for p in got] == [1]
        assert sent(route) == expected


@pytest.mark.parametrize("box", ["inbox", "outbox", "pending"])
async def test_parcel_list_prefetch_is_passed_on(
    s: ecgrid.Session, router: respx.MockRouter, box: str
) -> None:
    """kills: Parcels.pending's, inbox's, outbox's and _box's ``prefetch`` set to None (16
    pages ahead): with ``prefetch=0`` two records of a 5-page listing cost two requests."""
    path = "pending-inbox" if box == "pending" else box
    route = router.post(f"/v2/parcels/{path}-list").mock(side_effect=_parcel_rows)
    listing = getattr(s.parcels, box)(page_length=1, prefetch=0)
    assert [(await listing.__anext__()).parcel_id, (await listing.__anext__()).parcel_id] == [
        1,
        2,
    ]
    await listing.aclose()
    assert route.call_count == 2


# -- parcels: upload -----------------------------------------------------------------------


async def test_upload_sends_json_of_a_known_length_with_every_field(
    s: ecgrid.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    """kills: upload's ``file_name is not None`` made always false, mailboxId /
    ecGridIdFrom / ecGridIdTo set to None or dropped, ``headers`` set to None or dropped,
    and the Content-Type value ``XXapplication/jsonXX`` / ``APPLICATION/JSON`` and the
    Content-Length header misnamed (``XXContent-LengthXX``: sent chunked instead)."""
    bodies: list[tuple[httpx.Headers, bytes]] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        bodies.append((request.headers, await request.aread()))
        return ok(41)

    router.post("/v2/parcels/upload").mock(side_effect=answer)
    path = tmp_path / "local.edi"
    path.write_bytes(b"ISA*00*hello")
    pid = await s.parcels.upload(
        path, file_name="remote.edi", mailbox_id=5, ecgrid_id_from=6, ecgrid_id_to=7
    )
    assert pid == 41
    ((headers, content),) = bodies
    assert json.loads(content) == {
        "fileName": "remote.edi",
        "mailboxId": 5,
        "ecGridIdFrom": 6,
        "ecGridIdTo": 7,
        "bytes": 12,
        "content": "SVNBKjAwKmhlbGxv",
    }
    assert headers["Content-Type"] == "application/json"
    assert headers["Content-Length"] == str(len(content))
    assert "Transfer-Encoding" not in headers


async def test_upload_answer_without_an_id_is_malformed(
    s: ecgrid.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    """kills: upload's ``malformed(response, str(exc))`` with None for either argument or
    either dropped."""
    router.post("/v2/parcels/upload").mock(return_value=ok({"id": 3}))
    path = tmp_path / "po.edi"
    path.write_bytes(b"x")
    with pytest.raises(MalformedResponseError) as info:
        await s.parcels.upload(path)
    assert str(info.value) == "POST /v2/parcels/upload: no parcel id in the answer"
    assert info.value.endpoint == "POST /v2/parcels/upload"
    assert info.value.response.status_code == 200


# -- session -------------------------------------------------------------------------------


async def test_version_is_read_without_authentication(router: respx.MockRouter) -> None:
    """kills: Session.version's request (None, method or path None / dropped / misspelt,
    ``authenticate`` None / True / dropped: a login session would log in first), unwrap of
    None, and the reading of ``data`` (the dict test inverted or forced, ``version`` read
    under another key)."""
    login = router.post("/v2/auth/login").mock(return_value=ok({"token": "t"}))
    route = router.get("/v2/auth/version").mock(return_value=ok({"version": "2.6"}))
    async with ecgrid.Session(login="me", password="pw", retry_policy=FAST) as s:
        assert await s.version() == "2.6"
        route.mock(return_value=ok("2.7"))
        assert await s.version() == "2.7"
    assert login.call_count == 0
    assert "Authorization" not in route.calls.last.request.headers


async def test_version_sends_no_api_key(s: ecgrid.Session, router: respx.MockRouter) -> None:
    """kills: Session.version's ``authenticate=False`` made True or dropped (the key sent)."""
    route = router.get("/v2/auth/version").mock(return_value=ok({"version": "2.6"}))
    assert await s.version() == "2.6"
    assert "X-API-Key" not in route.calls.last.request.headers


async def test_call_envelope_returns_the_whole_envelope(
    s: ecgrid.Session, router: respx.MockRouter
) -> None:
    """kills: Session.call_envelope's method, path, reader, json, params and idempotent
    each set to None or dropped."""
    route = router.post("/v2/mailboxes/list").mock(
        side_effect=busy_then([{"mailboxId": 1}]),
    )
    envelope = await s.call_envelope(
        "POST", "/v2/mailboxes/list", json={"pageNo": 1}, params={"q": "x"}, idempotent=True
    )
    assert envelope == {"success": True, "data": [{"mailboxId": 1}]}
    assert route.call_count == 2
    assert sent(route) == {"pageNo": 1}
    assert route.calls.last.request.url.params["q"] == "x"


async def test_session_info_is_retried_and_always_a_dict(
    s: ecgrid.Session, router: respx.MockRouter
) -> None:
    """kills: Session.session_info's ``idempotent=True`` (None, False, dropped), and its
    non-object answer wrapped otherwise (``{"data": data}``)."""
    route = router.post("/v2/auth/session").mock(side_effect=busy_then({"userId": 1}))
    assert await s.session_info() == {"userId": 1}
    assert route.call_count == 2
    route.mock(side_effect=None, return_value=ok("odd"))
    assert await s.session_info() == {"data": "odd"}


async def test_calls_that_are_not_retried(
    s: ecgrid.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    """The other side of "retried": a 503 to a call that is not idempotent is raised after
    one request (acknowledgment_note, send_test_file, resend, upload)."""
    routes = {
        "ack": router.post("/v2/parcels/acknowledgment-note").mock(side_effect=busy_then(True)),
        "test": router.post("/v2/parcels/send-test-file").mock(side_effect=busy_then(5)),
        "resend": router.post("/v2/interchanges/resend/3").mock(side_effect=busy_then(True)),
        "upload": router.post("/v2/parcels/upload").mock(side_effect=busy_then(5)),
    }
    path = tmp_path / "f"
    path.write_bytes(b"x")
    for call in (
        s.parcels.acknowledgment_note(1, "n"),
        s.parcels.send_test_file(1, 2),
        s.interchanges.resend(3),
        s.parcels.upload(path),
    ):
        with pytest.raises(InternalServerError):
            await call
    assert {k: r.call_count for k, r in routes.items()} == dict.fromkeys(routes, 1)


async def test_confirm_is_retried(s: ecgrid.Session, router: respx.MockRouter) -> None:
    """kills: Parcels.confirm's ``idempotent=True`` set to None, False or dropped."""
    route = router.post("/v2/parcels/confirm").mock(side_effect=busy_then(True))
    await s.parcels.confirm("6")  # type: ignore[arg-type]
    assert route.call_count == 2
    assert sent(route) == {"parcelId": 6}


async def test_upload_answer_as_digits(
    s: ecgrid.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    """kills: _parcel_id's ``int(data)`` for a digit string set to None or ``int(None)``,
    and its type test with ``and`` for ``or`` (``true`` would pass as an id)."""
    route = router.post("/v2/parcels/upload").mock(return_value=ok({"parcelId": "42"}))
    path = tmp_path / "po.edi"
    path.write_bytes(b"x")
    assert await s.parcels.upload(path) == 42
    route.mock(return_value=ok(True))
    with pytest.raises(MalformedResponseError, match="no parcel id"):
        await s.parcels.upload(path)


# -- parcels: download ---------------------------------------------------------------------


def download_body(data: dict[str, Any], *, success: bool = True) -> bytes:
    return json.dumps({"success": success, "data": data}).encode()


async def test_download_without_a_file_name_uses_the_parcel_id(
    s: ecgrid.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    """kills: download's ``default_name`` set to None, and _open's name for the temporary
    set to None (the temporary is ``.parcel-5.<hex>.part``, seen by the progress callback),
    and ``progress`` not passed on."""
    router.post("/v2/parcels/download").mock(
        return_value=httpx.Response(
            200, content=download_body({"parcelId": 5, "content": "aGVsbG8=", "bytes": 5})
        )
    )
    seen: list[tuple[int, list[str]]] = []

    def progress(done: int, total: int | None) -> None:
        seen.append((done, sorted(p.name.rsplit(".", 2)[0] for p in tmp_path.iterdir())))

    f = await s.parcels.download(5, tmp_path, progress=progress)
    assert (f.path, f.name, f.size) == (tmp_path / "parcel-5", "parcel-5", 5)
    assert f.path.read_bytes() == b"hello"
    assert seen == [(5, [".parcel-5"])]


async def test_download_does_not_overwrite_by_default(
    s: ecgrid.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    """kills: download's ``overwrite`` default False made True."""
    router.post("/v2/parcels/download").mock(
        return_value=httpx.Response(
            200, content=download_body({"fileName": "a.edi", "content": "eA==", "bytes": 1})
        )
    )
    (tmp_path / "a.edi").write_bytes(b"old")
    with pytest.raises(FileExistsError):
        await s.parcels.download(1, tmp_path)
    assert (tmp_path / "a.edi").read_bytes() == b"old"
    await s.parcels.download(1, tmp_path, overwrite=True)
    assert (tmp_path / "a.edi").read_bytes() == b"x"


async def test_a_cut_short_download_is_an_integrity_error(
    s: ecgrid.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    """kills: _scan_error's IntegrityError text set to None, and download's
    ``_scan_error(exc, response)`` with None for either argument or either dropped."""
    route = router.post("/v2/parcels/download").mock(
        return_value=httpx.Response(200, content=b'{"success":true,"data":{"content":"aGVs')
    )
    with pytest.raises(IntegrityError) as info:
        await s.parcels.download(1, tmp_path)
    assert str(info.value) == ("parcel download cut short: the body ended before its JSON did")
    assert route.call_count == 2  # retryable: fetched again once (FAST allows one retry)
    assert os.listdir(tmp_path) == []


async def test_a_broken_download_body_is_malformed(
    s: ecgrid.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    """kills: _scan_error's ``malformed(response, str(exc))`` with None for either argument,
    either dropped, or ``str(None)``."""
    router.post("/v2/parcels/download").mock(
        return_value=httpx.Response(200, content=b'{"success":true,"data":{"content":"a!"}}')
    )
    with pytest.raises(MalformedResponseError) as info:
        await s.parcels.download(1, tmp_path)
    assert info.value.endpoint == "POST /v2/parcels/download"
    assert str(info.value).startswith("POST /v2/parcels/download: data.content is not valid base64")
    assert info.value.response.status_code == 200


async def test_an_error_envelope_in_a_download_is_raised_scrubbed(
    s: ecgrid.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    """kills: download's ``error = error_from_envelope(...)`` set to None, its envelope
    argument None, and ``scrub_error(None)``."""
    router.post("/v2/parcels/download").mock(
        return_value=httpx.Response(
            200,
            json={
                "success": False,
                "data": None,
                "errorCode": "ObjectNotFound",
                "message": "no parcel 3 for the-key",
            },
        )
    )
    with pytest.raises(NotFoundError) as info:
        await s.parcels.download(3, tmp_path)
    assert info.value.error_code == "ObjectNotFound"
    assert "the-key" not in str(info.value)
    assert "no parcel 3" in str(info.value)


@pytest.mark.parametrize(
    "body",
    [
        b'[{"content":"eA=="}]',  # not an object: no data at all
        b'{"success":true,"data":{"fileName":"a.edi","bytes":0}}',  # data without content
    ],
)
async def test_a_download_without_content_is_malformed(
    s: ecgrid.Session, router: respx.MockRouter, tmp_path: Path, body: bytes
) -> None:
    """kills: download's ``isinstance(envelope, dict)`` made always true (a list has no
    ``get``), the ``or`` of the no-content test made ``and`` (a data object without
    content would give an empty file), and the message's ``malformed`` arguments (None,
    dropped, ``XX...XX``)."""
    router.post("/v2/parcels/download").mock(return_value=httpx.Response(200, content=body))
    with pytest.raises(MalformedResponseError) as info:
        await s.parcels.download(1, tmp_path)
    assert str(info.value) == "POST /v2/parcels/download: the answer holds no data.content"
    assert info.value.response.status_code == 200
    assert os.listdir(tmp_path) == []


# -- session -------------------------------------------------------------------------------


def test_repr_names_the_way_in() -> None:
    """kills: __repr__'s ``who`` set to None, the test inverted or forced false, and
    ``XXapi_keyXX`` / ``API_KEY``."""
    assert repr(ecgrid.Session(api_key="k")) == (
        "<ecgrid.Session api_key base_url='https://rest.ecgrid.io'>"
    )
    assert repr(ecgrid.Session(login="me", password="pw", base_url="https://e.test")) == (
        "<ecgrid.Session login='me' base_url='https://e.test'>"
    )


def test_from_env_passes_options_and_names_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """kills: from_env's ``**kwargs`` dropped for the API key, and its error text
    misspelt (``XX...XX``, upper case, ``'XX, XX'.join``)."""
    for name in ("ECGRID_API_KEY", "ECGRID_LOGIN", "ECGRID_PASSWORD", "ECGRID_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="ECGRID_API_KEY") as info:
        ecgrid.Session.from_env()
    assert str(info.value) == (
        "set ECGRID_API_KEY, or ECGRID_LOGIN and ECGRID_PASSWORD "
        "(not set: ECGRID_LOGIN, ECGRID_PASSWORD)"
    )
    monkeypatch.setenv("ECGRID_API_KEY", "k")
    monkeypatch.setenv("ECGRID_BASE_URL", "https://e.test")
    s = ecgrid.Session.from_env(max_retries=7)
    assert s.base_url == "https://e.test"
    assert s.retry_policy.max_retries == 7


async def test_call_passes_params_idempotent_and_deadline(
    s: ecgrid.Session, router: respx.MockRouter
) -> None:
    """kills: Session.call's params, idempotent and deadline each set to None or dropped."""
    route = router.post("/v2/mailboxes/list").mock(side_effect=busy_then({"n": 1}))
    assert await s.call("POST", "/v2/mailboxes/list", params={"q": "x"}, idempotent=True) == {
        "n": 1
    }
    assert route.call_count == 2
    assert route.calls.last.request.url.params["q"] == "x"
    with pytest.raises(ValueError, match="deadline must be positive seconds, not -1"):
        await s.call("GET", "/v2/parcels/1", deadline=-1)


async def test_refresh_sends_the_refresh_token_only_when_it_differs(
    s: ecgrid.Session, router: respx.MockRouter
) -> None:
    """kills: _refresh's ``and`` made ``or``, ``!=`` made ``==``, the refresh token sent as
    None or under another name, and ``idempotent=False`` made True (a 503 repeated: the
    old token is dead once the server has read the refresh)."""
    route = router.post("/v2/auth/refresh").mock(return_value=ok({"token": "new"}))
    await s._refresh(Token("old", 1e12, 0.0, "old"))
    assert sent(route) == {"token": "old"}
    await s._refresh(Token("old", 1e12, 0.0, "r-1"))
    assert sent(route) == {"token": "old", "refreshToken": "r-1"}
    route.mock(side_effect=busy_then({"token": "new"}))
    with pytest.raises(InternalServerError):
        await s._refresh(Token("old", 1e12, 0.0, None))
    assert route.call_count == 3


# -- mailbox -------------------------------------------------------------------------------


def test_parcel_to_json_spells_every_field_and_leaves_out_nones() -> None:
    """kills: parcel_to_json's keys misspelt (mailboxId, networkId, ecGridIdTo, modified),
    the status / created tests made always false (``"None"`` or an AttributeError) and the
    modified test always true (modified lost)."""
    when = dt.datetime(2026, 5, 7, 8, tzinfo=dt.timezone.utc)
    full = Parcel(
        parcel_id=1,
        file_name="a",
        size=2,
        status="x",
        mailbox_id=3,
        network_id=4,
        ecgrid_id_from=5,
        ecgrid_id_to=6,
        created=when,
        modified=when,
    )
    assert parcel_to_json(full) == {
        "parcelId": 1,
        "fileName": "a",
        "bytes": 2,
        "status": "x",
        "mailboxId": 3,
        "networkId": 4,
        "ecGridIdFrom": 5,
        "ecGridIdTo": 6,
        "created": "2026-05-07T08:00:00+00:00",
        "modified": "2026-05-07T08:00:00+00:00",
    }
    assert parcel_to_json(Parcel(parcel_id=1)) == {"parcelId": 1}


async def test_mailbox_waiting_lists_its_mailbox(
    s: ecgrid.Session, router: respx.MockRouter
) -> None:
    """kills: ECGridMailbox.__init__'s ``mailbox_id`` set to None, waiting's mailbox_id
    None or dropped, and its ``files`` None, dropped, or with name / size None or dropped;
    and ``FetchSizes(max_ids=2)``."""
    route = router.post("/v2/parcels/pending-inbox-list").mock(
        return_value=ok([{"parcelId": 8, "fileName": "a.edi", "bytes": 3}])
    )
    box = s.mailbox(mailbox_id=4)
    assert box.mailbox_id == 4
    assert box.sizes == FetchSizes(max_ids=1)
    (item,) = [i async for i in box.waiting()]
    assert item.id == "8"
    assert item.files == (ExpectedFile(name="a.edi", size=3),)
    assert sent(route) == {"mailboxId": 4, "pageNo": 1, "recordsPerPage": 100}


def _waiting(pid: int, size: int | None) -> WaitingItem:
    return WaitingItem(id=str(pid), files=(ExpectedFile(name=None, size=size),))


def _download(request: httpx.Request) -> httpx.Response:
    pid = json.loads(request.content)["parcelId"]
    if pid == 9:
        return httpx.Response(404, json={**BUSY, "errorCode": "ObjectNotFound", "message": "gone"})
    return httpx.Response(200, content=download_body({"content": "YWJj", "bytes": 3}))


async def test_mailbox_fetch_skips_what_is_too_big_or_fails(
    s: ecgrid.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    """kills: fetch's ``size = None``, ``is None`` for ``is not None``, ``>=`` for ``>``,
    the size message set to None, ``break`` for ``continue``, ``len(items) != 1`` /
    ``== 2``, the error text None or ``str(None)``, ``errors`` dropped from the result;
    mkdir's ``parents`` None / False / dropped (staging does not exist yet)."""
    router.post("/v2/parcels/download").mock(side_effect=_download)
    staging = tmp_path / "not" / "yet"
    box = s.mailbox()
    result = await box.fetch(
        [_waiting(1, 4), _waiting(2, 3), _waiting(9, 3), _waiting(3, None)],
        staging,
        max_total_size=3,
    )
    assert result.errors == {
        "1": "parcel of 4 bytes is over max_total_size",
        "9": "404: ObjectNotFound: gone",
    }
    assert sorted(result.files) == ["2", "3"]
    assert result.files["2"][0].path.read_bytes() == b"abc"
    with pytest.raises(NotFoundError):  # a lone item's error is its own
        await box.fetch([_waiting(9, 3)], staging, max_total_size=3)


async def test_mailbox_fetch_into_an_existing_directory(
    s: ecgrid.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    """kills: mkdir's ``exist_ok`` None / False / dropped (an earlier, interrupted fetch
    left the parcel's directory)."""
    router.post("/v2/parcels/download").mock(side_effect=_download)
    staging_path(tmp_path, "2").mkdir(parents=True)
    result = await s.mailbox().fetch([_waiting(2, 3)], tmp_path, max_total_size=3)
    assert result.errors == {}
    assert result.files["2"][0].path.read_bytes() == b"abc"


async def test_mailbox_acknowledge_keeps_the_order_given(
    s: ecgrid.Session, router: respx.MockRouter
) -> None:
    """kills: acknowledge's ``sorted(done, key=...)`` with the key None or dropped (text
    order puts "10" before "9"); and usage's ``requests`` / ``retries`` dropped."""
    router.post("/v2/parcels/confirm").mock(
        side_effect=[httpx.Response(503, json=BUSY), ok(True), ok(True)]
    )
    box = s.mailbox()
    assert await box.acknowledge(["9", "10"]) == ["9", "10"]
    assert box.usage() == MailboxUsage(requests=3, retries=1)


async def test_parcel_lists_read_the_parcels_array(
    s: ecgrid.Session, router: respx.MockRouter
) -> None:
    """kills: Parcels._iterate's ``items_key`` None, ``XXparcelsXX`` or ``PARCELS``, and
    iterate_list's ``page_of(envelope, items_key)`` with None or without it (the answer
    holds two arrays)."""
    router.post("/v2/parcels/inbox-list").mock(
        return_value=ok({"parcels": [{"parcelId": 3}], "links": [{"rel": "self"}]})
    )
    assert [p.parcel_id async for p in s.parcels.inbox()] == [3]


async def test_list_page_lengths_at_the_limits(s: ecgrid.Session, router: respx.MockRouter) -> None:
    """kills: iterate_list's ``1 <= page_length`` made ``2 <=`` or ``1 <``, and
    ``<= MAX_PAGE_LENGTH`` made ``<``."""
    route = router.post("/v2/parcels/inbox-list").mock(return_value=ok([]))
    assert [p async for p in s.parcels.inbox(page_length=1)] == []
    assert [p async for p in s.parcels.inbox(page_length=500)] == []
    assert sent(route)["recordsPerPage"] == 500
    with pytest.raises(ValueError, match=r"page_length must be 1\.\.500, not 0"):
        s.parcels.inbox(page_length=0)


async def test_a_total_ends_the_listing_and_lets_pages_be_fetched_ahead(
    s: ecgrid.Session, router: respx.MockRouter
) -> None:
    """kills: iterate_list's page total set to None or dropped (a full last page would be
    followed by one more request), and iterate_pages' ``ahead`` forced to 0 (``and
    False``): with a total, two records read have fetched all 4 pages ahead."""
    route = router.post("/v2/parcels/inbox-list").mock(
        side_effect=lambda request: ok(
            [{"parcelId": json.loads(request.content)["pageNo"]}], totalRecords=4
        )
    )
    listing = s.parcels.inbox(page_length=1)
    assert [(await listing.__anext__()).parcel_id for _ in range(2)] == [1, 2]
    assert route.call_count == 4
    assert [p.parcel_id async for p in listing] == [3, 4]
    assert route.call_count == 4
    assert sorted(sent(route, i)["pageNo"] for i in range(4)) == [1, 2, 3, 4]


async def test_a_listing_that_does_not_add_up_names_the_endpoint(
    s: ecgrid.Session, router: respx.MockRouter
) -> None:
    """kills: iterate_list's ``endpoint=f"POST {path}"`` and iterate_pages' ``endpoint``
    set to None."""
    router.post("/v2/parcels/outbox-list").mock(return_value=ok([{"parcelId": 1}], totalRecords=9))
    with pytest.raises(InconsistentListingError) as info:
        [p async for p in s.parcels.outbox(page_length=1, prefetch=0)]
    assert info.value.endpoint == "POST /v2/parcels/outbox-list"
    assert str(info.value).startswith("POST /v2/parcels/outbox-list: ")


def test_parcel_times_and_absent_fields() -> None:
    """kills: parse_datetime's ``or`` made ``and`` (a number would be ``.replace``d), its
    aware-time test forced false (an offset replaced by UTC instead of converted), and
    _str's None test forced false (an absent field read as ``"None"``)."""
    assert parcel_from({"parcelId": 1}) == Parcel(parcel_id=1)
    odd = parcel_from({"parcelId": 1, "created": 5, "modified": "2026-05-07T10:00:00+02:00"})
    assert odd.created is None
    assert odd.modified == dt.datetime(2026, 5, 7, 8, tzinfo=dt.timezone.utc)
    assert odd.modified.utcoffset() == dt.timedelta(hours=2)


@pytest.mark.parametrize("body", [[1], {"success": "yes", "data": 1}])
async def test_an_answer_without_the_envelope_is_named(
    s: ecgrid.Session, router: respx.MockRouter, body: Any
) -> None:
    """kills: envelope_of's ``or`` made ``and`` (a list has no ``get``; ``success: "yes"``
    would pass), and its ``malformed`` arguments (None, dropped, ``XX...XX``, case)."""
    router.post("/v2/mailboxes/list").mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(MalformedResponseError) as info:
        await s.call("POST", "/v2/mailboxes/list")
    assert str(info.value) == (
        "POST /v2/mailboxes/list: answered without the ECGrid envelope (no success: true)"
    )
    assert info.value.response.status_code == 200


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone is not UTC (restored afterwards)."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("new_york")
def test_date_filters_are_utc_whatever_the_local_zone() -> None:
    """kills: format_datetime's naive time given ``tzinfo=None`` (read as local time) and
    ``astimezone(None)`` (converted to local time) instead of UTC."""
    assert format_datetime(dt.datetime(2026, 5, 7, 8, 0)) == "2026-05-07T08:00:00Z"
    paris = dt.timezone(dt.timedelta(hours=2))
    assert format_datetime(dt.datetime(2026, 5, 7, 10, 0, tzinfo=paris)) == "2026-05-07T08:00:00Z"
