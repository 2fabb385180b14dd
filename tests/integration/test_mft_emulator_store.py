"""MFT emulator: presigned links on the fake object store (its own port)."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from as2gw_async.emulator._bodies import GeneratedBody
from as2gw_async.emulator.mft import MftEmulator

from ._mft_emulator_helpers import api, q


def _links(c: httpx.Client, mid: str, box: str = "inbox") -> list[dict[str, str]]:
    r = c.get(f"/message/{box}/{q(mid)}/attachments")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(body["attachments"])
    links: list[dict[str, str]] = body["attachments"]
    return links


def test_links_live_on_another_port_and_serve_the_exact_bytes(mft_emulator: MftEmulator) -> None:
    mid = mft_emulator.deliver(attachments=[("a.bin", bytes(range(256)) * 40), ("b.txt", b"b")])
    with api(mft_emulator) as c:
        links = _links(c, mid)
    assert [link["name"] for link in links] == ["a.bin", "b.txt"]
    url = links[0]["url"]
    assert url.startswith(mft_emulator.store_url)
    assert urlsplit(url).port != urlsplit(mft_emulator.base_url).port
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["600"]
    r = httpx.get(url)
    assert r.status_code == 200
    assert r.content == bytes(range(256)) * 40
    assert r.headers["content-length"] == str(10240)
    assert r.headers["etag"] == f'"{hashlib.md5(r.content).hexdigest()}"'
    assert mft_emulator.store_stats.downloads == 1
    assert mft_emulator.store_stats.authorization_headers == 0


def test_any_authorization_header_is_refused_and_counted(mft_emulator: MftEmulator) -> None:
    (mid,) = mft_emulator.seed_inbox(1)
    with api(mft_emulator) as c:
        url = _links(c, mid)[0]["url"]
        token = c.headers["Authorization"]
    for value in (token, f"Bearer {token}", "AWS4-HMAC-SHA256 Credential=x"):
        r = httpx.get(url, headers={"Authorization": value})
        assert r.status_code == 403
        assert r.headers["content-type"] == "application/xml"
        assert b"<Code>AccessDenied</Code>" in r.content
    assert mft_emulator.store_stats.authorization_headers == 3
    assert mft_emulator.store_stats.downloads == 0


def test_a_wrong_signature_is_refused(mft_emulator: MftEmulator) -> None:
    (mid,) = mft_emulator.seed_inbox(1)
    with api(mft_emulator) as c:
        url = _links(c, mid)[0]["url"]
    sig = parse_qs(urlsplit(url).query)["X-Amz-Signature"][0]
    forged = url.replace(sig, ("0" if sig[0] != "0" else "1") + sig[1:])
    r = httpx.get(forged)
    assert r.status_code == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in r.content
    longer = url.replace("X-Amz-Expires=600", "X-Amz-Expires=6000")
    assert httpx.get(longer).status_code == 403  # the expiry is signed too
    other = url.replace("/0/", "/1/")  # another object, same signature
    assert httpx.get(other).status_code == 403
    assert mft_emulator.store_stats.bad_signatures == 3


def test_links_expire_on_demand_and_fresh_ones_work(mft_emulator: MftEmulator) -> None:
    (mid,) = mft_emulator.seed_inbox(1, sizes=[100])
    with api(mft_emulator) as c:
        old = _links(c, mid)[0]["url"]
        mdn = c.get(f"/message/inbox/{q(mid)}/mdn").json()["url"]
        mft_emulator.expire_links()
        for url in (old, mdn):
            r = httpx.get(url)
            assert r.status_code == 403
            assert b"<Message>Request has expired</Message>" in r.content
        fresh = _links(c, mid)[0]["url"]
    assert httpx.get(fresh).status_code == 200
    assert mft_emulator.store_stats.expired == 2


def test_link_lifetime_is_controllable() -> None:
    from ._mft_emulator_helpers import FakeClock

    clock = FakeClock()
    with MftEmulator(clock=clock, link_ttl=30) as emu, api(emu) as c:
        (mid,) = emu.seed_inbox(1)
        url = _links(c, mid)[0]["url"]
        assert "X-Amz-Expires=30" in url
        assert httpx.get(url).status_code == 200
        clock.advance(31)
        assert httpx.get(url).status_code == 403


def test_mdn_links(mft_emulator: MftEmulator) -> None:
    (mid,) = mft_emulator.seed_inbox(1)
    no_mdn = mft_emulator.deliver(mdn=False)
    with api(mft_emulator) as c:
        r = c.get(f"/message/inbox/{q(mid)}/mdn")
        assert set(r.json()) == {"url"}
        body = httpx.get(r.json()["url"]).content
        assert mid.encode() in body
        assert b"disposition-notification" in body
        assert c.get(f"/message/inbox/{q(no_mdn)}/mdn").status_code == 404


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=10-19", 10, 19),
        ("bytes=990-", 990, 999),
        ("bytes=-5", 995, 999),
        ("bytes=0-5000", 0, 999),
    ],
)
def test_range_requests(mft_emulator: MftEmulator, header: str, start: int, end: int) -> None:
    data = bytes(i % 251 for i in range(1000))
    mid = mft_emulator.deliver(attachments=[("r.bin", data)])
    with api(mft_emulator) as c:
        url = _links(c, mid)[0]["url"]
    r = httpx.get(url, headers={"Range": header})
    assert r.status_code == 206
    assert r.content == data[start : end + 1]
    assert r.headers["content-range"] == f"bytes {start}-{end}/1000"
    assert r.headers["content-length"] == str(end - start + 1)


def test_unsatisfiable_range_is_416(mft_emulator: MftEmulator) -> None:
    mid = mft_emulator.deliver(attachments=[("r.bin", b"x" * 10)])
    with api(mft_emulator) as c:
        url = _links(c, mid)[0]["url"]
    r = httpx.get(url, headers={"Range": "bytes=10-"})
    assert r.status_code == 416
    assert b"InvalidRange" in r.content


def _read_into(response: httpx.Response, out: bytearray) -> None:
    for chunk in response.iter_bytes():
        out += chunk


def test_reset_mid_body_on_the_next_k_downloads(mft_emulator: MftEmulator) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB
    mid = mft_emulator.deliver(attachments=[("big.bin", data)])
    with api(mft_emulator) as c:
        url = _links(c, mid)[0]["url"]
    mft_emulator.store_faults.reset(after_bytes=1000, times=2)
    for _ in range(2):
        received = bytearray()
        with httpx.stream("GET", url) as r:
            assert r.status_code == 200
            with pytest.raises(httpx.RemoteProtocolError):
                _read_into(r, received)
        assert bytes(received) == data[:1000]
    assert httpx.get(url).content == data
    resume = httpx.get(url, headers={"Range": "bytes=1000-"})
    assert resume.content == data[1000:]
    assert mft_emulator.store_stats.resets == 2


def test_store_status_faults(mft_emulator: MftEmulator) -> None:
    (mid,) = mft_emulator.seed_inbox(1)
    with api(mft_emulator) as c:
        url = _links(c, mid)[0]["url"]
    mft_emulator.store_faults.fail("download", 503)
    r = httpx.get(url)
    assert r.status_code == 503
    assert b"<Code>SlowDown</Code>" in r.content
    assert httpx.get(url).status_code == 200


def test_generated_bodies_stream_with_etag_and_range(mft_emulator: MftEmulator) -> None:
    big = GeneratedBody(3 << 20, seed=7)
    mid = mft_emulator.deliver(attachments=[("huge.bin", big)])
    with api(mft_emulator) as c:
        url = _links(c, mid)[0]["url"]
    head = httpx.head(url)
    assert head.headers["content-length"] == str(3 << 20)
    assert head.headers["etag"].endswith('-1"')
    r = httpx.get(url)
    assert hashlib.sha256(r.content).hexdigest() == big.sha256()
    part = httpx.get(url, headers={"Range": "bytes=1048570-1048585"})
    assert part.content == big.read()[1048570:1048586]


def test_hostile_names_are_served_verbatim_in_the_listing(mft_emulator: MftEmulator) -> None:
    ids = mft_emulator.seed_inbox(
        2, names=["../../etc/passwd", "..", "/abs/path.txt"], attachments=2
    )
    with api(mft_emulator) as c:
        names = [link["name"] for mid in ids for link in _links(c, mid)]
        urls = [link["url"] for mid in ids for link in _links(c, mid)]
    assert names == ["../../etc/passwd", "..", "/abs/path.txt", "../../etc/passwd"]
    assert all(httpx.get(u).status_code == 200 for u in urls)


def test_deleted_message_links_answer_no_such_key(mft_emulator: MftEmulator) -> None:
    (mid,) = mft_emulator.seed_inbox(1)
    with api(mft_emulator) as c:
        url = _links(c, mid)[0]["url"]
        c.delete(f"/message/inbox/{q(mid)}")
    r = httpx.get(url)
    assert r.status_code == 404
    assert b"<Code>NoSuchKey</Code>" in r.content


def test_outbox_attachment_links(mft_emulator: MftEmulator) -> None:
    from ._mft_emulator_helpers import submit

    with api(mft_emulator) as c:
        mid = submit(c, b"outbound", "out.txt").json()["messageIdentifier"]
        links = _links(c, mid, "outbox")
    assert [link["name"] for link in links] == ["out.txt"]
    assert httpx.get(links[0]["url"]).content == b"outbound"
