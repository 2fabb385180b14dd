"""One zip verification for `download_zip`, `download_attachments` and extraction (issue 13.4).

A member whose real data is shorter than the size the archive declares for it, with a CRC
that matches the short data, is not a sound archive: every path that accepts a zip refuses it.
"""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import httpx
import pytest
import respx

import as2gw_async as gw
from as2gw_async.files import extract_zip, verify_zip

MSG = "<short@x>"
MSG_Q = "%3Cshort%40x%3E"


def short_member_zip(declared: int = 100, data: bytes = b"only twelve.") -> bytes:
    """A stored member of ``len(data)`` bytes whose headers declare ``declared`` bytes.

    The CRC and the compressed size are those of the real data, so a reader that only
    checks the CRC reads the short data without complaint.
    """
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("invoice.xml", data)
    raw = bytearray(buf.getvalue())
    local = raw.index(b"PK\x03\x04")
    struct.pack_into("<I", raw, local + 22, declared)  # uncompressed size, local header
    central = raw.index(b"PK\x01\x02")
    struct.pack_into("<I", raw, central + 24, declared)  # uncompressed size, central directory
    return bytes(raw)


def test_the_archive_fools_a_crc_only_reader() -> None:
    with zipfile.ZipFile(io.BytesIO(short_member_zip())) as zf:
        assert zf.getinfo("invoice.xml").file_size == 100
        assert zf.read("invoice.xml") == b"only twelve."  # no CRC error: the trap is real


async def test_verify_zip_refuses_a_member_shorter_than_declared(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    path.write_bytes(short_member_zip())
    with pytest.raises(gw.IntegrityError, match="shorter than declared"):
        await verify_zip(path)


async def test_extract_zip_gives_the_same_answer(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    path.write_bytes(short_member_zip())
    with pytest.raises(gw.IntegrityError, match="shorter than declared"):
        await extract_zip(path, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zip"]


async def test_verify_zip_counts_members_like_extraction(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n in range(5):
            zf.writestr(f"f{n}.txt", b"x")
    path = tmp_path / "a.zip"
    path.write_bytes(buf.getvalue())
    with pytest.raises(gw.IntegrityError, match="more than 4"):
        await verify_zip(path, max_members=4)
    with pytest.raises(gw.IntegrityError, match="more than 4"):
        await extract_zip(path, tmp_path / "o", max_members=4)


@pytest.mark.parametrize("method", ["download_zip", "download_attachments"])
async def test_both_downloads_refuse_it(
    session: gw.Session, router: respx.MockRouter, tmp_path: Path, method: str
) -> None:
    route = router.get(f"/message/received/{MSG_Q}/attachments/all").mock(
        return_value=httpx.Response(200, content=short_member_zip())
    )
    with pytest.raises(gw.IntegrityError, match="shorter than declared"):
        await getattr(session.received, method)(MSG, tmp_path / "out/")
    assert route.call_count == 4  # corrupt, so fetched again (it may be the network's fault)
    assert list(tmp_path.iterdir()) == []
