"""Spec 4.2 (attachments, zips, batch download with 206 truncation) and 4.3 (MDNs)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import httpx
import pytest

from as2gw_async.emulator import EmulatorServer, Gateway, GeneratedBody

from .conftest import q

OCTET = "application/octet-stream"


@pytest.fixture
def message(as2gw_gateway: Gateway) -> str:
    return as2gw_gateway.deliver(
        attachments=[("first.xml", b"<a/>"), ("second.edi", b"ISA*00~"), ("третий.txt", b"3")],
        subject="Three files",
    )


@pytest.mark.parametrize(("suffix", "index"), [("", 0), ("/0", 0), ("/1", 1)])
async def test_single_attachment(
    api: httpx.AsyncClient, message: str, as2gw_gateway: Gateway, suffix: str, index: int
) -> None:
    r = await api.get(f"/message/received/{q(message)}/attachments{suffix}")
    assert r.status_code == 200
    att = as2gw_gateway.message("received", message).attachments[index]
    assert r.content == att.read()
    assert r.headers["content-type"] == OCTET
    assert r.headers["content-length"] == str(att.size)
    assert r.headers["content-disposition"] == f'attachment; filename="{att.name}"'


async def test_non_ascii_filename_uses_rfc6266(api: httpx.AsyncClient, message: str) -> None:
    r = await api.get(f"/message/received/{q(message)}/attachments/2")
    assert r.status_code == 200
    assert r.content == b"3"
    cd = r.headers["content-disposition"]
    assert cd.startswith('attachment; filename="')
    assert "filename*=UTF-8''%D1%82%D1%80%D0%B5%D1%82%D0%B8%D0%B9.txt" in cd


@pytest.mark.parametrize("index", ["3", "99", "-1", "x"])
async def test_bad_index_is_404(api: httpx.AsyncClient, message: str, index: str) -> None:
    r = await api.get(f"/message/received/{q(message)}/attachments/{index}")
    assert r.status_code == 404
    assert "message" in r.json()


async def test_mark_as_read_on_attachment_download(
    api: httpx.AsyncClient, message: str, as2gw_gateway: Gateway
) -> None:
    await api.get(f"/message/received/{q(message)}/attachments/1")
    assert not as2gw_gateway.is_read(message)
    await api.get(f"/message/received/{q(message)}/attachments/1", params={"markAsRead": "true"})
    assert as2gw_gateway.is_read(message)
    unread = (await api.get("/message/received", params={"unreadOnly": "true"})).json()
    assert unread["totalRecords"] == 0


async def test_all_attachments_as_zip(
    api: httpx.AsyncClient, message: str, as2gw_gateway: Gateway
) -> None:
    r = await api.get(f"/message/received/{q(message)}/attachments/all")
    assert r.status_code == 200
    assert r.headers["content-type"] == OCTET
    assert r.headers["content-length"] == str(len(r.content))
    assert r.headers["content-disposition"].startswith("attachment; filename=")
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        assert z.testzip() is None
        assert z.namelist() == ["first.xml", "second.edi", "третий.txt"]
        assert z.read("second.edi") == b"ISA*00~"
    assert not as2gw_gateway.is_read(message)
    await api.get(f"/message/received/{q(message)}/attachments/all?markAsRead=true")
    assert as2gw_gateway.is_read(message)


async def test_received_mdn(api: httpx.AsyncClient, message: str, as2gw_gateway: Gateway) -> None:
    r = await api.get(f"/message/received/{q(message)}/mdn")
    assert r.status_code == 200
    assert r.headers["content-type"] == OCTET
    assert r.headers["content-disposition"].startswith('attachment; filename="')
    assert b"disposition-notification" in r.content
    assert message.encode() in r.content
    mdn = (await api.get(f"/message/received/{q(message)}")).json()["mdnMessage"]
    assert mdn["content"].encode() in r.content
    assert mdn["mdnError"] is False
    no_mdn = as2gw_gateway.deliver(attachments=[("a", b"a")], mdn=False)
    r = await api.get(f"/message/received/{q(no_mdn)}/mdn")
    assert r.status_code == 404
    got = (await api.get(f"/message/received/{q(no_mdn)}")).json()
    assert got["mdnStatus"] == "Not Requested"
    assert "mdnMessage" not in got


@pytest.mark.as2gw_emulator(send_delay=0.0)
async def test_sent_downloads(api: httpx.AsyncClient, as2gw_emulator: EmulatorServer) -> None:
    files = [("file", ("a.txt", b"alpha")), ("file", ("b.txt", b"beta"))]
    r = await api.post("/message/RJ_Station/RJ_Partner", files=files)
    mid = r.headers["link"].rsplit("/", 1)[1]
    r = await api.get(f"/message/sent/{q(mid)}/attachments/1")
    assert r.status_code == 200
    assert r.content == b"beta"
    assert r.headers["content-disposition"] == 'attachment; filename="b.txt"'
    r = await api.get(f"/message/sent/{q(mid)}/attachments/all")
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        assert {n: z.read(n) for n in z.namelist()} == {"a.txt": b"alpha", "b.txt": b"beta"}
    r = await api.get(f"/message/sent/{q(mid)}/mdn")
    assert r.status_code == 200
    assert mid.encode() in r.content
    # the failed and queued folders have no download endpoints
    r = await api.get(f"/message/queued/{q(mid)}/attachments")
    assert r.status_code == 404


async def test_large_generated_attachment_is_streamed(
    api: httpx.AsyncClient, as2gw_gateway: Gateway
) -> None:
    body = GeneratedBody(size=48 * 1024 * 1024 + 123, seed=7)
    mid = as2gw_gateway.deliver(attachments=[("big.bin", body), ("small.txt", b"s")])
    h = hashlib.sha256()
    async with api.stream("GET", f"/message/received/{q(mid)}/attachments/0") as r:
        assert r.status_code == 200
        assert r.headers["content-length"] == str(body.size)
        n = 0
        async for chunk in r.aiter_raw():
            h.update(chunk)
            n += len(chunk)
    assert n == body.size
    assert h.hexdigest() == body.sha256() == as2gw_gateway.attachment_sha256("received", mid, 0)
    assert body.read()[:100] == GeneratedBody(size=100, seed=7).read()  # deterministic


async def test_zip_of_a_generated_body(api: httpx.AsyncClient, as2gw_gateway: Gateway) -> None:
    body = GeneratedBody(size=3 * 1024 * 1024 + 5, seed=3)
    mid = as2gw_gateway.deliver(attachments=[("g.bin", body), ("t.txt", b"t")])
    r = await api.get(f"/message/received/{q(mid)}/attachments/all")
    assert int(r.headers["content-length"]) == len(r.content)
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        assert z.testzip() is None
        assert hashlib.sha256(z.read("g.bin")).hexdigest() == body.sha256()


# ---------------------------------------------------------------------------- batch


def _zip(r: httpx.Response) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        assert z.testzip() is None
        return {n: z.read(n) for n in z.namelist()}


@pytest.fixture
def three(as2gw_gateway: Gateway) -> list[str]:
    """Three messages with 2, 3 and 1 attachments of 100 bytes each."""
    return [
        as2gw_gateway.deliver(
            attachments=[(f"m{m}a{i}.txt", bytes([65 + m]) * 100) for i in range(n)]
        )
        for m, n in enumerate((2, 3, 1))
    ]


async def test_batch_download(api: httpx.AsyncClient, three: list[str]) -> None:
    ids = [three[0], "<unknown@x>", three[1], three[2]]
    r = await api.post("/message/received/batch/attachments", json=ids)
    assert r.status_code == 200
    assert "x-batch-truncation-index" not in r.headers
    assert r.headers["content-type"] == OCTET
    files = _zip(r)
    assert list(files) == [
        f"{three[0]}/m0a0.txt",
        f"{three[0]}/m0a1.txt",
        "<unknown@x>/.error",
        f"{three[1]}/m1a0.txt",
        f"{three[1]}/m1a1.txt",
        f"{three[1]}/m1a2.txt",
        f"{three[2]}/m2a0.txt",
    ]
    assert files[f"{three[1]}/m1a2.txt"] == b"B" * 100
    assert b"<unknown@x>" in files["<unknown@x>/.error"]


@pytest.mark.parametrize(
    ("limit", "expected_index", "entries", "marked"),
    [
        (250, "(0,1)", 2, [0]),  # 200 fit, the 3rd would make 300: stop after message 0
        (350, "(1,0)", 3, [0]),  # stop inside message 1
        (450, "(1,1)", 4, [0]),
        (550, "(1,2)", 5, [0, 1]),  # message 1 complete, message 2 cut before its first
        (50, "(0,0)", 1, []),  # the first attachment alone exceeds the cap: included anyway
    ],
)
async def test_batch_truncation_206(
    api: httpx.AsyncClient,
    as2gw_gateway: Gateway,
    three: list[str],
    limit: int,
    expected_index: str,
    entries: int,
    marked: list[int],
) -> None:
    as2gw_gateway.batch_limit = limit
    r = await api.post(
        "/message/received/batch/attachments", params={"markAsRead": "true"}, json=three
    )
    assert r.status_code == 206
    assert r.headers["x-batch-truncation-index"] == expected_index
    assert len(_zip(r)) == entries
    assert [as2gw_gateway.is_read(m) for m in three] == [i in marked for i in range(3)]


async def test_batch_exactly_at_the_cap_is_200(
    api: httpx.AsyncClient, as2gw_gateway: Gateway, three: list[str]
) -> None:
    as2gw_gateway.batch_limit = 600
    r = await api.post("/message/received/batch/attachments?markAsRead=true", json=three)
    assert r.status_code == 200
    assert len(_zip(r)) == 6
    assert all(as2gw_gateway.is_read(m) for m in three)


async def test_batch_default_cap_is_ten_megabytes(
    api: httpx.AsyncClient, as2gw_gateway: Gateway
) -> None:
    four_mb = 4 * 1024 * 1024
    ids = [
        as2gw_gateway.deliver(attachments=[(f"{i}.bin", GeneratedBody(four_mb, i))])
        for i in range(3)
    ]
    r = await api.post("/message/received/batch/attachments", json=ids)
    assert r.status_code == 206
    assert r.headers["x-batch-truncation-index"] == "(1,0)"
    assert len(_zip(r)) == 2
    assert not any(as2gw_gateway.is_read(m) for m in ids)  # markAsRead not asked


@pytest.mark.parametrize(
    "body",
    [[], [f"<{i}@x>" for i in range(101)], {"ids": []}, [1, 2], "nope"],
    ids=["empty", "101", "object", "numbers", "string"],
)
async def test_batch_bad_bodies_are_400(api: httpx.AsyncClient, body: object) -> None:
    r = await api.post(
        "/message/received/batch/attachments",
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert "message" in r.json()


async def test_batch_of_one_hundred(api: httpx.AsyncClient, as2gw_gateway: Gateway) -> None:
    ids = as2gw_gateway.seed(100, attachments=(1, 1), size=(10, 20))
    r = await api.post("/message/received/batch/attachments", json=ids)
    assert r.status_code == 200
    assert len(_zip(r)) == 100
