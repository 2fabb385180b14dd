"""Session.send: both body shapes, streaming from disk, limits, encoding, the Link header."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

import as2gw_async as gw
from as2gw_async.endpoints.send import (
    CHUNK_SIZE,
    MAX_FILE_SIZE,
    MAX_FILES,
    MAX_TOTAL_SIZE,
    message_id_from_link,
)

from .conftest import BASE, FAR_EXPIRY_MS, FAST_RETRIES, PASSWORD, TOKEN, USER

MID = "<90766548.41.1573209810390@as2gateway.com>"
LINK = f"https://api.as2gateway.com/v1/message/sent/{MID}"
ACCEPTED = {"message": "Successfully added a new outbound entry"}


def accepted(link: str | None = LINK) -> httpx.Response:
    headers = {"Link": link} if link is not None else {}
    return httpx.Response(202, json=ACCEPTED, headers=headers)


def parse_multipart(request: httpx.Request) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a multipart request: (headers, body), parsed by the stdlib."""
    raw = b"Content-Type: " + request.headers["content-type"].encode() + b"\r\n\r\n"
    message = BytesParser(policy=HTTP).parsebytes(raw + request.content)
    assert message.is_multipart()
    parts = []
    for part in message.iter_parts():
        headers = {k.lower(): str(v) for k, v in part.items()}
        body = part.get_payload(decode=True)
        assert isinstance(body, bytes)
        parts.append((headers, body))
    return parts


def write(path: Path, size: int, seed: int = 0) -> bytes:
    pattern = bytes((i * 7 + seed) % 251 for i in range(251))
    data = (pattern * (size // 251 + 1))[:size]
    path.write_bytes(data)
    return data


# -- the raw single-file endpoint ------------------------------------------------------


async def test_one_file_goes_raw_with_name_type_and_length(
    router: respx.MockRouter, session: gw.Session, tmp_path: Path
) -> None:
    data = write(tmp_path / "invoice_20200101.xml", 1000)
    route = router.post("/message/RJ_Station/RJ_Partner").mock(return_value=accepted())

    receipt = await session.send("RJ_Station", "RJ_Partner", tmp_path / "invoice_20200101.xml")

    assert receipt == gw.SendReceipt(as2_message_id=MID, link=LINK, message=ACCEPTED["message"])
    request = route.calls.last.request
    assert request.headers["name"] == "invoice_20200101.xml"
    assert request.headers["content-type"] in ("application/xml", "text/xml")
    assert request.headers["content-length"] == "1000"
    assert "transfer-encoding" not in request.headers
    assert request.headers["authorization"] == TOKEN
    assert request.content == data
    assert request.url.params["partnerType"] == "production"
    assert "subject" not in request.url.params


@pytest.mark.parametrize(
    ("upload", "name", "ctype", "body"),
    [
        (gw.Upload(b"ISA*00~", name="order.edi"), "order.edi", None, b"ISA*00~"),
        (
            gw.Upload(b"<x/>", name="a.xml", content_type="application/edi-consent"),
            "a.xml",
            "application/edi-consent",
            b"<x/>",
        ),
        (
            gw.Upload(b"", name="empty.unknownext"),
            "empty.unknownext",
            "application/octet-stream",
            b"",
        ),
    ],
)
async def test_upload_of_bytes(
    router: respx.MockRouter,
    session: gw.Session,
    upload: gw.Upload,
    name: str,
    ctype: str | None,
    body: bytes,
) -> None:
    route = router.post("/message/S/P").mock(return_value=accepted())
    await session.send("S", "P", upload)
    request = route.calls.last.request
    assert request.headers["name"] == name
    if ctype is not None:
        assert request.headers["content-type"] == ctype
    assert request.headers["content-length"] == str(len(body))
    assert request.content == body


async def test_upload_of_a_path_takes_its_name_unless_given(
    router: respx.MockRouter, session: gw.Session, tmp_path: Path
) -> None:
    data = write(tmp_path / "report.csv", 10)
    route = router.post("/message/S/P").mock(return_value=accepted())
    await session.send("S", "P", gw.Upload(str(tmp_path / "report.csv")))
    assert route.calls.last.request.headers["name"] == "report.csv"
    assert route.calls.last.request.headers["content-type"] == "text/csv"
    await session.send("S", "P", gw.Upload(tmp_path / "report.csv", name="r.txt"))
    assert route.calls.last.request.headers["name"] == "r.txt"
    assert route.calls.last.request.headers["content-type"] == "text/plain"
    assert route.calls.last.request.content == data


async def test_subject_partner_type_and_ids_are_encoded(
    router: respx.MockRouter, session: gw.Session, tmp_path: Path
) -> None:
    write(tmp_path / "a.txt", 3)
    route = router.route(method="POST").mock(return_value=accepted())
    station, partner = "My Station <st@x/y>", "Partner/1 @ Co"
    subject = "Invoice 1 + 2 & <3> @ 50% / #4?"
    await session.send(station, partner, tmp_path / "a.txt", subject=subject, partner_type="TEST")

    url = route.calls.last.request.url
    assert url.raw_path.startswith(
        b"/v1/message/My%20Station%20%3Cst%40x%2Fy%3E/Partner%2F1%20%40%20Co?"
    )
    assert b"+" not in url.query  # spaces are %20: no reading of '+' can change the subject
    assert url.params["subject"] == subject
    assert url.params["partnerType"] == "test"


@pytest.mark.parametrize("partner_type", [gw.PartnerType.TEST, "test", "Test"])
async def test_partner_type_accepts_enum_and_any_case(
    router: respx.MockRouter, session: gw.Session, partner_type: gw.PartnerType | str
) -> None:
    route = router.post("/message/S/P").mock(return_value=accepted())
    await session.send("S", "P", gw.Upload(b"x", name="x.txt"), partner_type=partner_type)
    assert route.calls.last.request.url.params["partnerType"] == "test"


# -- streaming from disk ------------------------------------------------------------------


class RecordingTransport(httpx.AsyncBaseTransport):
    """Reads each request body chunk by chunk, as a server would, and answers 202."""

    def __init__(self, respond: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.chunks: list[list[bytes]] = []
        self.requests: list[httpx.Request] = []
        self.respond = respond or (lambda request: accepted())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/authorize"):
            return httpx.Response(200, json={"token": TOKEN, "expiry": FAR_EXPIRY_MS})
        assert isinstance(request.stream, httpx.AsyncByteStream)
        chunks = [chunk async for chunk in request.stream]
        self.chunks.append(chunks)
        self.requests.append(request)
        request._content = b"".join(chunks)  # for the assertions below
        return self.respond(request)


def recording_session(transport: httpx.AsyncBaseTransport) -> gw.Session:
    client = httpx.AsyncClient(transport=transport)
    return gw.Session(
        USER,
        PASSWORD,
        base_url=BASE,
        rate_limit=None,
        retry_policy=FAST_RETRIES,
        http_client=client,
    )


@pytest.mark.slow
async def test_a_large_file_streams_from_disk_in_chunks(tmp_path: Path) -> None:
    size = 9 * 1024 * 1024 + 123  # many chunks, just under the limit
    data = write(tmp_path / "big.bin", size)
    transport = RecordingTransport()
    async with recording_session(transport) as s:
        await s.send("S", "P", tmp_path / "big.bin")
    (chunks,) = transport.chunks
    assert len(chunks) >= size // CHUNK_SIZE
    assert max(len(c) for c in chunks) <= CHUNK_SIZE
    assert transport.requests[0].headers["content-length"] == str(size)
    assert b"".join(chunks) == data


@pytest.mark.slow
async def test_several_large_files_stream_multipart_in_chunks(tmp_path: Path) -> None:
    files = {
        "one.bin": write(tmp_path / "one.bin", 3 * 1024 * 1024 + 1, seed=1),
        "two.bin": write(tmp_path / "two.bin", 2 * 1024 * 1024 + 7, seed=2),
    }
    transport = RecordingTransport()
    async with recording_session(transport) as s:
        await s.send("S", "P", tmp_path / "one.bin", tmp_path / "two.bin")
    (chunks,) = transport.chunks
    assert max(len(c) for c in chunks) <= CHUNK_SIZE
    request = transport.requests[0]
    assert int(request.headers["content-length"]) == len(request.content)
    parts = parse_multipart(request)
    assert [(h["content-disposition"], b) for h, b in parts] == [
        (f'form-data; name="file"; filename="{name}"', body) for name, body in files.items()
    ]


async def test_a_file_that_changes_while_sent_aborts_the_request(tmp_path: Path) -> None:
    path = tmp_path / "growing.log"
    write(path, 3 * CHUNK_SIZE)

    class Grow(RecordingTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if not request.url.path.endswith("/authorize"):
                with path.open("ab") as f:
                    f.write(b"more")
            return await super().handle_async_request(request)

    async with recording_session(Grow()) as s:
        with pytest.raises(gw.AS2GatewayError, match="changed size"):
            await s.send("S", "P", path)


# -- multipart -------------------------------------------------------------------------------


async def test_several_files_go_multipart_with_unique_names(
    router: respx.MockRouter, session: gw.Session, tmp_path: Path
) -> None:
    write(tmp_path / "a.txt", 5)

    async def stream() -> AsyncIterator[bytes]:
        yield b"streamed "
        yield b"content"

    route = router.post("/message/S/P").mock(return_value=accepted())
    receipt = await session.send(
        "S",
        "P",
        tmp_path / "a.txt",
        gw.Upload(b"two", name="b.txt"),
        gw.Upload(stream(), name="c.json", content_type="application/json"),
        gw.Upload(b"<x/>", name="d.xml", content_type="application/edi-consent"),
        subject="Several",
    )
    assert receipt.as2_message_id == MID
    request = route.calls.last.request
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert "name" not in request.headers
    assert int(request.headers["content-length"]) == len(request.content)
    parts = parse_multipart(request)
    assert [h["content-disposition"] for h, _ in parts] == [
        f'form-data; name="file"; filename="{n}"' for n in ("a.txt", "b.txt", "c.json", "d.xml")
    ]
    assert [h["content-type"] for h, _ in parts] == [
        "text/plain",
        "text/plain",
        "application/json",
        "application/edi-consent",
    ]
    assert [b for _, b in parts] == [
        (tmp_path / "a.txt").read_bytes(),
        b"two",
        b"streamed content",
        b"<x/>",
    ]
    assert request.url.params["subject"] == "Several"


async def test_multipart_file_names_are_escaped(
    router: respx.MockRouter, session: gw.Session
) -> None:
    route = router.post("/message/S/P").mock(return_value=accepted())
    await session.send(
        "S", "P", gw.Upload(b"1", name='say "hi".txt'), gw.Upload(b"2", name="naïve résumé.txt")
    )
    content = route.calls.last.request.content
    assert b'filename="say %22hi%22.txt"' in content
    assert 'filename="naïve résumé.txt"'.encode() in content


@pytest.mark.parametrize("name", ["naïve.txt", " padded.txt", "trailing.txt ", "zero\u200bwidth"])
async def test_a_name_unfit_for_a_header_goes_multipart(
    router: respx.MockRouter, session: gw.Session, name: str
) -> None:
    route = router.post("/message/S/P").mock(return_value=accepted())
    await session.send("S", "P", gw.Upload(b"data", name=name))
    request = route.calls.last.request
    assert request.headers["content-type"].startswith("multipart/form-data")
    ((_, body),) = parse_multipart(request)
    assert body == b"data"


async def test_307_replays_a_multipart_body_reading_the_files_again(tmp_path: Path) -> None:
    data = write(tmp_path / "a.bin", 200_000)

    async def stream() -> AsyncIterator[bytes]:
        yield b"once only"

    http_base = "http://127.0.0.1:8080/v1"
    with respx.mock(assert_all_called=False) as mock:
        mock.post(http_base + "/authorize").respond(
            200, json={"token": TOKEN, "expiry": FAR_EXPIRY_MS}
        )
        redirect = mock.post(http_base + "/message/S/P").respond(
            307, headers={"Location": "https://127.0.0.1:8443/v1/message/S/P"}
        )
        sends = mock.post("https://127.0.0.1:8443/v1/message/S/P").mock(return_value=accepted())
        async with gw.Session(
            USER, PASSWORD, base_url=http_base, rate_limit=None, retry_policy=FAST_RETRIES
        ) as s:
            await s.send("S", "P", tmp_path / "a.bin", gw.Upload(stream(), name="s.txt"))
    assert redirect.call_count == 1
    assert sends.call_count == 1
    first = parse_multipart(redirect.calls.last.request)
    again = parse_multipart(sends.calls.last.request)
    assert [b for _, b in first] == [b for _, b in again] == [data, b"once only"]


async def test_spooled_streams_are_removed_afterwards(
    router: respx.MockRouter,
    session: gw.Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AS2GW_SCRATCH_DIR", str(tmp_path))  # spooled here, never in /tmp

    async def stream() -> AsyncIterator[bytes]:
        yield b"abc"

    router.post("/message/S/P").mock(return_value=httpx.Response(500))
    with pytest.raises(gw.InternalServerError):
        await session.send("S", "P", gw.Upload(stream(), name="s.txt"), gw.Upload(b"", name="e"))
    assert list(tmp_path.iterdir()) == []
    router.post("/message/S/P").mock(return_value=accepted())
    await session.send("S", "P", gw.Upload(stream(), name="s.txt"))
    assert list(tmp_path.iterdir()) == []


async def test_a_send_is_not_repeated_after_a_5xx(
    router: respx.MockRouter, session: gw.Session
) -> None:
    route = router.post("/message/S/P").mock(return_value=httpx.Response(503))
    with pytest.raises(gw.InternalServerError):
        await session.send("S", "P", gw.Upload(b"x", name="x.txt"))
    assert route.call_count == 1


async def test_gateway_errors_surface_typed(router: respx.MockRouter, session: gw.Session) -> None:
    router.post("/message/S/Nobody").respond(
        404, json={"message": "No production AS2 partner found with AS2 ID Nobody"}
    )
    with pytest.raises(gw.NotFoundError, match="Nobody"):
        await session.send("S", "Nobody", gw.Upload(b"x", name="x.txt"))


# -- limits and bad input, all before any request -------------------------------------


@pytest.fixture
def no_send(router: respx.MockRouter) -> respx.Route:
    return router.route(method="POST", path__regex=r"/message/").mock(return_value=accepted())


async def test_too_many_files(no_send: respx.Route, session: gw.Session) -> None:
    files = [gw.Upload(b"x", name=f"{i}.txt") for i in range(MAX_FILES + 1)]
    with pytest.raises(gw.LimitExceededError, match="at most 10") as info:
        await session.send("S", "P", *files)
    assert (info.value.limit, info.value.file) == ("max_files", "10.txt")
    await session.send("S", "P", *files[:MAX_FILES])  # ten is fine
    assert no_send.call_count == 1


async def test_a_file_too_big(no_send: respx.Route, session: gw.Session, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        f.truncate(MAX_FILE_SIZE + 1)  # sparse: nothing is read to find out
    with pytest.raises(gw.LimitExceededError, match=r"big\.bin") as info:
        await session.send("S", "P", big)
    assert (info.value.limit, info.value.file) == ("max_file_size", "big.bin")
    with pytest.raises(gw.LimitExceededError) as info:
        await session.send("S", "P", gw.Upload(b"x", name="a.txt"), big)
    assert info.value.limit == "max_file_size"
    with big.open("r+b") as f:
        f.truncate(MAX_FILE_SIZE)
    await session.send("S", "P", big)  # exactly 10 MB is fine
    assert no_send.call_count == 1


async def test_files_too_big_together(
    no_send: respx.Route, session: gw.Session, tmp_path: Path
) -> None:
    sizes = {"a.bin": 4 * 1024 * 1024, "b.bin": 4 * 1024 * 1024, "c.bin": 2 * 1024 * 1024 + 1}
    for name, size in sizes.items():
        with (tmp_path / name).open("wb") as f:
            f.truncate(size)
    paths = [tmp_path / n for n in sizes]
    with pytest.raises(gw.LimitExceededError, match="add up") as info:
        await session.send("S", "P", *paths)
    assert (info.value.limit, info.value.file) == ("max_total_size", "c.bin")
    assert sum(sizes.values()) == MAX_TOTAL_SIZE + 1
    assert no_send.call_count == 0


async def test_duplicate_names(no_send: respx.Route, session: gw.Session, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    write(tmp_path / "a.txt", 1)
    write(tmp_path / "d" / "a.txt", 1)
    with pytest.raises(gw.LimitExceededError, match="unique") as info:
        await session.send("S", "P", tmp_path / "a.txt", tmp_path / "d" / "a.txt")
    assert (info.value.limit, info.value.file) == ("unique_names", "a.txt")
    with pytest.raises(gw.LimitExceededError, match="unique"):
        await session.send("S", "P", gw.Upload(b"1", name="x"), gw.Upload(b"2", name="x"))
    assert no_send.call_count == 0


async def test_a_stream_over_the_limit_stops_being_read(
    no_send: respx.Route, session: gw.Session
) -> None:
    produced = 0
    closed = False

    async def endless() -> AsyncIterator[bytes]:
        nonlocal produced, closed
        try:
            while True:
                produced += CHUNK_SIZE
                yield b"\0" * CHUNK_SIZE
        finally:
            closed = True

    with pytest.raises(gw.LimitExceededError) as info:
        await session.send("S", "P", gw.Upload(endless(), name="endless.bin"))
    assert (info.value.limit, info.value.file) == ("max_file_size", "endless.bin")
    assert produced <= MAX_FILE_SIZE + CHUNK_SIZE
    assert closed

    async def six_mb() -> AsyncIterator[bytes]:
        for _ in range(6 * 16):
            yield b"\0" * CHUNK_SIZE

    with pytest.raises(gw.LimitExceededError) as info:
        await session.send(
            "S",
            "P",
            gw.Upload(b"\0" * 5 * 1024 * 1024, name="five"),
            gw.Upload(six_mb(), name="six"),
        )
    assert (info.value.limit, info.value.file) == ("max_total_size", "six")
    assert no_send.call_count == 0


async def test_other_limits_are_checked_before_a_stream_is_read(
    no_send: respx.Route, session: gw.Session
) -> None:
    read = False

    async def stream() -> AsyncIterator[bytes]:
        nonlocal read
        read = True
        yield b"x"

    with pytest.raises(gw.LimitExceededError, match="unique"):
        await session.send("S", "P", gw.Upload(stream(), name="x"), gw.Upload(b"", name="x"))
    assert not read


async def test_missing_file_and_directory(
    no_send: respx.Route, session: gw.Session, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError, match="no such file to send") as info:
        await session.send("S", "P", tmp_path / "nope.xml")
    assert info.value.filename == str(tmp_path / "nope.xml")
    with pytest.raises(IsADirectoryError, match="directory"):
        await session.send("S", "P", tmp_path)
    with pytest.raises(FileNotFoundError):
        await session.send("S", "P", gw.Upload(b"x", name="ok.txt"), gw.Upload(tmp_path / "gone"))
    assert no_send.call_count == 0


async def test_unreadable_file(
    no_send: respx.Route, session: gw.Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "secret.txt"
    write(path, 3)
    real_open = open

    def refuse(file: object, *args: object, **kwargs: object) -> object:
        if isinstance(file, (str, os.PathLike)) and os.fspath(file) == str(path):  # root reads all
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.open", refuse)
    with pytest.raises(PermissionError):
        await session.send("S", "P", path)
    assert no_send.call_count == 0


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((), {}, ValueError, "at least one file"),
        ((b"raw bytes",), {}, TypeError, "Upload"),
        ((gw.Upload(b"x"),), {}, ValueError, "needs a name"),
        ((gw.Upload(b"x", name=""),), {}, ValueError, "empty"),
        ((gw.Upload(b"x", name="a\r\nb"),), {}, ValueError, "control character"),
        ((gw.Upload(b"x", name="a", content_type="text/plain\r\nX: y"),), {}, ValueError, "MIME"),
        ((gw.Upload(["not", "async"], name="a"),), {}, TypeError, "async iterable"),  # type: ignore[arg-type]
        ((gw.Upload(b"x", name="a"),), {"partner_type": "staging"}, ValueError, "partner_type"),
        ((gw.Upload(b"x", name="a"),), {"subject": 5}, TypeError, "subject"),
    ],
)
async def test_bad_arguments(
    no_send: respx.Route,
    session: gw.Session,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    with pytest.raises(error, match=match):
        await session.send("S", "P", *args, **kwargs)
    assert no_send.call_count == 0


@pytest.mark.parametrize(("station", "partner"), [("", "P"), ("S", "")])
async def test_empty_ids(
    no_send: respx.Route, session: gw.Session, station: str, partner: str
) -> None:
    with pytest.raises(ValueError, match="empty"):
        await session.send(station, partner, gw.Upload(b"x", name="a"))


async def test_a_stream_yielding_text_is_refused(no_send: respx.Route, session: gw.Session) -> None:
    async def text() -> AsyncIterator[Any]:
        yield "not bytes"

    with pytest.raises(TypeError, match="must yield bytes"):
        await session.send("S", "P", gw.Upload(text(), name="t.txt"))


# -- the Link header --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        (LINK, MID),
        (
            "https://api.as2gateway.com/v1/message/sent/%3C90766548.41%40as2gateway.com%3E",
            "<90766548.41@as2gateway.com>",
        ),
        ("https://h/v1/message/sent/<a/b c@x>", "<a/b c@x>"),
        ("https://h/v1/message/sent/%3Ca%2Fb%20c%40x%3E", "<a/b c@x>"),
        (f'<{LINK}>; rel="self"', MID),
        (f"<{LINK}>", MID),
        ("https://h/v1/message/sent/plain-id", "plain-id"),
        ("https://h/v1/other/place/last%40seg", "last@seg"),
    ],
)
def test_message_id_from_link(link: str, expected: str) -> None:
    assert message_id_from_link(link) == expected


@pytest.mark.parametrize("link", ["", "https://h/v1/message/sent/", "garbage"])
def test_unreadable_links(link: str) -> None:
    assert message_id_from_link(link) is None


@pytest.mark.parametrize(
    ("response", "match"),
    [
        (accepted(link=None), "no Link header"),
        (accepted(link="garbage"), "unreadable"),
    ],
)
async def test_a_missing_or_garbled_link_says_the_message_was_sent(
    router: respx.MockRouter, session: gw.Session, response: httpx.Response, match: str
) -> None:
    route = router.post("/message/S/P").mock(return_value=response)
    with pytest.raises(gw.AS2GatewayError, match=match) as info:
        await session.send("S", "P", gw.Upload(b"x", name="a"))
    text = str(info.value)
    assert "WAS submitted" in text
    assert "do not send it again" in text
    assert ACCEPTED["message"] in text
    assert route.call_count == 1


async def test_a_non_json_acknowledgement(router: respx.MockRouter, session: gw.Session) -> None:
    router.post("/message/S/P").mock(
        return_value=httpx.Response(202, text="Accepted  for\nsending", headers={"Link": LINK})
    )
    receipt = await session.send("S", "P", gw.Upload(b"x", name="a"))
    assert receipt.message == "Accepted for sending"
    assert receipt.as2_message_id == MID


def test_limits_match_the_spec() -> None:
    assert (MAX_FILES, MAX_FILE_SIZE, MAX_TOTAL_SIZE) == (10, 10 * 1024 * 1024, 10 * 1024 * 1024)
