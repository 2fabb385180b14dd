"""Single attachment, zip and MDN downloads against respx mocks."""

from __future__ import annotations

import gzip
import io
import os
import stat
import zipfile
from pathlib import Path

import anyio
import httpx
import pytest
import respx

import as2gw_async as gw
from as2gw_async.endpoints.downloads import CHUNK_SIZE

MSG = "<90766548.41.1573209810390@as2gateway.com>"
MSG_Q = "%3C90766548.41.1573209810390%40as2gateway.com%3E"
MSG_DIR = "90766548.41.1573209810390@as2gateway.com"
BODY = b"<invoice><items total='1000'/></invoice>\n"


def ok(body: bytes, disposition: str | None = "attachment; filename=invoice.xml") -> httpx.Response:
    headers = {"Content-Type": "application/octet-stream"}
    if disposition is not None:
        headers["Content-Disposition"] = disposition
    return httpx.Response(200, content=body, headers=headers)


def make_zip(entries: dict[str, bytes], *, symlink: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        if symlink is not None:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


def corrupt(data: bytes) -> bytes:
    """Flip bytes inside the first member's data, so its CRC check fails."""
    broken = bytearray(data)
    for k in range(40, 60):
        broken[k] ^= 0xFF
    return bytes(broken)


def listing(directory: Path) -> list[str]:
    """Every entry under ``directory`` (temp files included), relative, sorted."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


# -- single attachment ---------------------------------------------------------------------


async def test_attachment_into_directory_uses_server_name(
    session: gw.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    route = router.get(f"/message/received/{MSG_Q}/attachments").mock(return_value=ok(BODY))
    f = await session.received.download_attachment(MSG, tmp_path)
    assert f == gw.DownloadedFile(
        path=tmp_path / "invoice.xml",
        name="invoice.xml",
        size=len(BODY),
        content_type="application/octet-stream",
    )
    assert f.path.read_bytes() == BODY
    assert listing(tmp_path) == ["invoice.xml"]
    assert route.calls.last.request.url.raw_path.endswith(f"/{MSG_Q}/attachments".encode())
    assert "markAsRead" not in route.calls.last.request.url.params


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        ("attachment; filename=invoice 2020.xml", "invoice 2020.xml"),
        ('attachment; filename="quoted \\"name\\".xml"', "quoted _name_.xml"),
        ("attachment; filename*=UTF-8''%E2%82%AC%20rates.txt", "€ rates.txt"),
        ("attachment; filename=\"fallback.txt\"; filename*=UTF-8''r%C3%A9el.txt", "réel.txt"),
        ("attachment; filename=../../etc/passwd", "passwd"),
        ('attachment; filename="..\\\\..\\\\boot.ini"', "boot.ini"),
        ("attachment; filename=CON", "_CON"),
        ("attachment", f"{MSG_DIR}.attachment-2"),
        (None, f"{MSG_DIR}.attachment-2"),
    ],
)
async def test_content_disposition_forms(
    session: gw.Session,
    router: respx.MockRouter,
    tmp_path: Path,
    disposition: str | None,
    expected: str,
) -> None:
    router.get(f"/message/sent/{MSG_Q}/attachments/2").mock(return_value=ok(BODY, disposition))
    f = await session.sent.download_attachment(MSG, tmp_path, index=2)
    assert f.path == tmp_path / expected
    assert f.path.parent == tmp_path
    assert f.path.read_bytes() == BODY


async def test_dest_as_file_path_ignores_server_name(
    session: gw.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    router.get(f"/message/received/{MSG_Q}/attachments/1").mock(return_value=ok(BODY))
    dest = tmp_path / "new" / "sub" / "mine.bin"
    f = await session.received.download_attachment(MSG, dest, index=1)
    assert f.path == dest
    assert f.name == "invoice.xml"  # the gateway's (sanitised) name is still reported
    assert dest.read_bytes() == BODY


async def test_dest_with_trailing_separator_is_a_directory(
    session: gw.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    router.get(f"/message/received/{MSG_Q}/attachments").mock(return_value=ok(BODY))
    f = await session.received.download_attachment(MSG, str(tmp_path / "out") + os.sep)
    assert f.path == tmp_path / "out" / "invoice.xml"


@pytest.mark.parametrize(("flag", "value"), [(True, "true"), (False, "false")])
async def test_mark_as_read_on_received(
    session: gw.Session, router: respx.MockRouter, tmp_path: Path, flag: bool, value: str
) -> None:
    route = router.get(f"/message/received/{MSG_Q}/attachments/0").mock(return_value=ok(BODY))
    await session.received.download_attachment(MSG, tmp_path, 0, mark_as_read=flag)
    assert route.calls.last.request.url.params["markAsRead"] == value


async def test_mark_as_read_refused_for_sent(
    session: gw.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    route = router.get(f"/message/sent/{MSG_Q}/attachments").mock(return_value=ok(BODY))
    with pytest.raises(ValueError, match="received"):
        await session.sent.download_attachment(MSG, tmp_path, mark_as_read=True)
    assert not route.called
    await session.sent.download_attachment(MSG, tmp_path, mark_as_read=False)
    assert "markAsRead" not in route.calls.last.request.url.params


@pytest.mark.parametrize("index", [-1, True, 1.0, "1"])
async def test_bad_index(session: gw.Session, tmp_path: Path, index: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        await session.received.download_attachment(MSG, tmp_path, index=index)  # type: ignore[arg-type]


async def test_short_body_is_fetched_again_then_fails_leaving_nothing(
    session: gw.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    short = httpx.Response(
        200,
        content=BODY[:10],
        headers={"Content-Length": str(len(BODY)), "Content-Disposition": "attachment; filename=a"},
    )
    route = router.get(f"/message/received/{MSG_Q}/attachments").mock(return_value=short)
    with pytest.raises(gw.IntegrityError, match="Content-Length"):
        await session.received.download_attachment(MSG, tmp_path)
    assert route.call_count == 4  # the first try and the session's 3 retries
    assert listing(tmp_path) == []


async def test_short_body_then_complete_body(
    session: gw.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    short = httpx.Response(
        200,
        content=BODY[:10],
        headers={"Content-Length": str(len(BODY)), "Content-Disposition": "attachment; filename=a"},
    )
    router.get(f"/message/received/{MSG_Q}/attachments").mock(side_effect=[short, ok(BODY)])
    f = await session.received.download_attachment(MSG, tmp_path)
    assert f.path.read_bytes() == BODY
    assert listing(tmp_path) == ["invoice.xml"]


async def test_transport_error_mid_body_leaves_nothing(
    session: gw.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    class Breaks(httpx.AsyncByteStream):
        async def __aiter__(self):  # type: ignore[no-untyped-def]
            yield b"x" * 1000
            raise httpx.ReadError("connection reset")

    response = httpx.Response(
        200, stream=Breaks(), headers={"Content-Disposition": "attachment; filename=a.bin"}
    )
    route = router.get(f"/message/received/{MSG_Q}/attachments").mock(return_value=response)
    with pytest.raises(gw.APIConnectionError):
        await session.received.download_attachment(MSG, tmp_path)
    assert route.call_count == 4
    assert listing(tmp_path) == []


async def test_existing_file_is_refused_before_the_request(
    session: gw.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    dest = tmp_path / "mine.xml"
    dest.write_bytes(b"precious")
    route = router.get(f"/message/received/{MSG_Q}/attachments").mock(return_value=ok(BODY))
    with pytest.raises(FileExistsError, match="overwrite=True"):
        await session.received.download_attachment(MSG, dest, mark_as_read=True)
    assert not route.called  # in particular, the message was not marked read
    assert dest.read_bytes() == b"precious"


async def test_existing_server_named_file_is_refused(
    session: gw.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    (tmp_path / "invoice.xml").write_bytes(b"precious")
    router.get(f"/message/received/{MSG_Q}/attachments").mock(return_value=ok(BODY))
    with pytest.raises(FileExistsError):
        await session.received.download_attachment(MSG, tmp_path)
    assert (tmp_path / "invoice.xml").read_bytes() == b"precious"
    assert listing(tmp_path) == ["invoice.xml"]


async def test_overwrite_replaces(
    session: gw.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    (tmp_path / "invoice.xml").write_bytes(b"old")
    router.get(f"/message/received/{MSG_Q}/attachments").mock(return_value=ok(BODY))
    f = await session.received.download_attachment(MSG, tmp_path, overwrite=True)
    assert f.path.read_bytes() == BODY
    assert listing(tmp_path) == ["invoice.xml"]


async def test_progress_reports_every_chunk_and_the_total(
    session: gw.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    # Chunks are written as the transport delivers them, without re-chunking.
    pieces = [os.urandom(size) for size in (CHUNK_SIZE, 100, 65536, 123)]
    body = b"".join(pieces)

    async def chunks():  # type: ignore[no-untyped-def]
        for piece in pieces:
            yield piece

    response = httpx.Response(
        200,
        content=chunks(),
        headers={"Content-Disposition": "x; filename=a", "Content-Length": str(len(body))},
    )
    router.get(f"/message/received/{MSG_Q}/attachments").mock(return_value=response)
    seen: list[tuple[int, int | None]] = []
    f = await session.received.download_attachment(
        MSG, tmp_path, progress=lambda done, total: seen.append((done, total))
    )
    assert f.size == len(body)
    assert f.path.read_bytes() == body
    sizes = [len(p) for p in pieces]
    assert [done for done, _ in seen] == [sum(sizes[: i + 1]) for i in range(len(sizes))]
    assert {total for _, total in seen} == {len(body)}


async def test_progress_total_is_none_without_content_length(
    session: gw.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        yield BODY[:5]
        yield BODY[5:]

    response = httpx.Response(
        200, content=chunks(), headers={"Content-Disposition": "x; filename=a"}
    )
    router.get(f"/message/received/{MSG_Q}/attachments").mock(return_value=response)
    seen: list[tuple[int, int | None]] = []
    f = await session.received.download_attachment(
        MSG, tmp_path, progress=lambda d, t: seen.append((d, t))
    )
    assert f.path.read_bytes() == BODY
    assert seen[-1] == (len(BODY), None)


async def test_content_encoding_is_decoded_and_checked_on_the_wire(
    session: gw.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    body = BODY * 1000
    packed = gzip.compress(body)
    response = httpx.Response(
        200,
        content=packed,
        headers={
            "Content-Encoding": "gzip",
            "Content-Length": str(len(packed)),
            "Content-Disposition": "attachment; filename=big.xml",
        },
    )
    router.get(f"/message/received/{MSG_Q}/attachments").mock(return_value=response)
    f = await session.received.download_attachment(MSG, tmp_path)
    assert f.path.read_bytes() == body
    assert f.size == len(body)


async def test_cancellation_leaves_nothing(
    session: gw.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    started = anyio.Event()

    class Slow(httpx.AsyncByteStream):
        async def __aiter__(self):  # type: ignore[no-untyped-def]
            yield b"x" * 1000
            started.set()
            await anyio.sleep_forever()
            yield b""  # pragma: no cover

    response = httpx.Response(200, stream=Slow(), headers={"Content-Disposition": "x; filename=a"})
    router.get(f"/message/received/{MSG_Q}/attachments").mock(return_value=response)
    async with anyio.create_task_group() as tg:
        tg.start_soon(session.received.download_attachment, MSG, tmp_path)
        await started.wait()
        tg.cancel_scope.cancel()
    assert listing(tmp_path) == []


async def test_http_error_leaves_nothing(
    session: gw.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    router.get(f"/message/received/{MSG_Q}/attachments").respond(
        404, json={"message": "No received AS2 message found"}
    )
    with pytest.raises(gw.NotFoundError, match="No received AS2 message found"):
        await session.received.download_attachment(MSG, tmp_path)
    assert listing(tmp_path) == []


# -- zip, all attachments, MDN ---------------------------------------------------------------


async def test_download_zip_verifies_and_keeps_the_archive(
    session: gw.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    data = make_zip({"a.txt": b"one", "b.txt": b"two"})
    router.get(f"/message/sent/{MSG_Q}/attachments/all").mock(
        return_value=ok(data, "attachment; filename=attachments.zip")
    )
    z = await session.sent.download_zip(MSG, tmp_path)
    # Named after the message, not the gateway's "attachments.zip" that every message shares
    # (issue 13 item 14: two downloads into one folder would collide).
    assert z.path == tmp_path / f"{MSG_DIR}.zip"
    assert z.path.read_bytes() == data
    assert z.size == len(data)


async def test_download_zip_default_name(
    session: gw.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    data = make_zip({"a.txt": b"one"})
    router.get(f"/message/received/{MSG_Q}/attachments/all").mock(return_value=ok(data, None))
    z = await session.received.download_zip(MSG, tmp_path)
    assert z.path == tmp_path / f"{MSG_DIR}.zip"


@pytest.mark.parametrize("bad", ["corrupt", "truncated", "not-a-zip"])
async def test_download_zip_refuses_a_broken_archive(
    session: gw.Session, router: respx.MockRouter, tmp_path: Path, bad: str
) -> None:
    data = make_zip({"a.txt": os.urandom(2000), "b.txt": b"two"})
    body = {"corrupt": corrupt(data), "truncated": data[:-30], "not-a-zip": b"<html>oops</html>"}
    route = router.get(f"/message/received/{MSG_Q}/attachments/all").mock(
        return_value=ok(body[bad], "attachment; filename=m.zip")
    )
    with pytest.raises(gw.IntegrityError):
        await session.received.download_zip(MSG, tmp_path / "m.zip")
    assert route.call_count == 4  # fetched again: the corruption may be the network's
    assert listing(tmp_path) == []


async def test_download_attachments_extracts(
    session: gw.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    data = make_zip({"a.txt": b"one", "b.txt": b"two"})
    router.get(f"/message/received/{MSG_Q}/attachments/all").mock(return_value=ok(data))
    seen: list[tuple[int, int | None]] = []
    files = await session.received.download_attachments(
        MSG, tmp_path / "out", progress=lambda d, t: seen.append((d, t))
    )
    out = tmp_path / "out"
    assert [(f.path, f.name, f.size) for f in files] == [
        (out / "a.txt", "a.txt", 3),
        (out / "b.txt", "b.txt", 3),
    ]
    assert (out / "a.txt").read_bytes() == b"one"
    assert listing(tmp_path) == ["out", "out/a.txt", "out/b.txt"]  # no temporary zip left
    assert seen[-1] == (len(data), len(data))


@pytest.mark.parametrize(
    "archive",
    [
        pytest.param(make_zip({"ok.txt": b"1", "../escape.txt": b"2"}), id="zip-slip"),
        pytest.param(make_zip({"ok.txt": b"1", "a/../../escape.txt": b"2"}), id="nested-slip"),
        pytest.param(make_zip({"ok.txt": b"1", "/etc/cron.d/x": b"2"}), id="absolute"),
        pytest.param(make_zip({"ok.txt": b"1", "C:\\x.txt": b"2"}), id="drive"),
        pytest.param(make_zip({"ok.txt": b"1"}, symlink="link"), id="symlink"),
    ],
)
async def test_download_attachments_refuses_unsafe_archives(
    session: gw.Session, router: respx.MockRouter, tmp_path: Path, archive: bytes
) -> None:
    route = router.get(f"/message/received/{MSG_Q}/attachments/all").mock(return_value=ok(archive))
    with pytest.raises(gw.IntegrityError):
        await session.received.download_attachments(MSG, tmp_path)
    assert route.call_count == 1  # unsafe is not corrupt: no point asking again
    assert listing(tmp_path) == []
    assert not (tmp_path.parent / "escape.txt").exists()


async def test_download_attachments_refuses_a_zip_bomb(
    session: gw.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    archive = make_zip({"zeros.bin": bytes(5_000_000)})  # ~5 KB compressed
    router.get(f"/message/received/{MSG_Q}/attachments/all").mock(return_value=ok(archive))
    with pytest.raises(gw.IntegrityError, match="zip bomb"):
        await session.received.download_attachments(MSG, tmp_path, max_total_size=1_000_000)
    assert listing(tmp_path) == []


async def test_download_attachments_corrupt_archive_leaves_nothing(
    session: gw.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    archive = corrupt(make_zip({"a.txt": os.urandom(2000)}))
    router.get(f"/message/sent/{MSG_Q}/attachments/all").mock(return_value=ok(archive))
    with pytest.raises(gw.IntegrityError):
        await session.sent.download_attachments(MSG, tmp_path)
    assert listing(tmp_path) == []


async def test_download_attachments_refuses_existing_files(
    session: gw.Session, router: respx.MockRouter, tmp_path: Path
) -> None:
    (tmp_path / "b.txt").write_bytes(b"precious")
    router.get(f"/message/received/{MSG_Q}/attachments/all").mock(
        return_value=ok(make_zip({"a.txt": b"one", "b.txt": b"two"}))
    )
    with pytest.raises(FileExistsError):
        await session.received.download_attachments(MSG, tmp_path)
    assert listing(tmp_path) == ["b.txt"]  # all or nothing: a.txt was not written either
    files = await session.received.download_attachments(MSG, tmp_path, overwrite=True)
    assert [f.path.read_bytes() for f in files] == [b"one", b"two"]


@pytest.mark.parametrize("folder", ["received", "sent"])
async def test_download_mdn(
    session: gw.Session, router: respx.MockRouter, tmp_path: Path, folder: str
) -> None:
    mdn = b"Content-Type: multipart/report; report-type=disposition-notification\r\n\r\n..."
    router.get(f"/message/{folder}/{MSG_Q}/mdn").mock(
        return_value=ok(mdn, 'attachment; filename="mdn.txt"')
    )
    resource = session.received if folder == "received" else session.sent
    f = await resource.download_mdn(MSG, tmp_path)
    assert f.path == tmp_path / "mdn.txt"
    assert f.path.read_bytes() == mdn
    router.get(f"/message/{folder}/{MSG_Q}/mdn").mock(return_value=ok(mdn, None))
    f = await resource.download_mdn(MSG, tmp_path)
    assert f.path == tmp_path / f"{MSG_DIR}.mdn"
